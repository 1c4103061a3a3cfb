"""Writing public sharing (公開) of charts and dashboards: file a 公開申請, decide a step, take it back,
stop publishing (非公開化), and the audited public exports.

The request walks the access room's route module (:mod:`machidata.access.routes`) like a dataset's
公開申請: the route is read from ``MACHIDATA_PUBLICATION_ROUTES`` under this room's name
(:data:`PUBLISH_ROUTE`; the default is the publication's 所管課長 → データ戦略課), the requester never
decides, one person approves at most one step, a 代決 is recorded with the 課長 it stands for. The gates
(:func:`machidata.charts.public.refusals`) run at filing and again at every approval; the content is
pinned (``snapshot`` and its fingerprint) and every approval refuses when it changed since. Stopping a
public chart needs no route (it only narrows who sees it): its owner or データ戦略課 does it at once.
Each write is one transaction, audited.
"""

from __future__ import annotations

from typing import Any, Final

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from machidata.access import route_requests, routes
from machidata.access.policy import ANONYMOUS, Actor, actor_for, may_edit_unit_owned
from machidata.audit.services import audit_record
from machidata.charts import public
from machidata.charts.models import (
    Chart,
    Dashboard,
    PublicShare,
    ShareAction,
    ShareDecision,
    ShareRequest,
    ShareRequestKind,
    ShareRequestStatus,
)
from machidata.charts.render import FORMATS, render
from machidata.charts.selectors import may_edit, may_edit_dashboard
from machidata.charts.tables import data_file, pivot_file
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from machidata.core.text import typed_text
from machidata.notify.services import notify

ROUTE_SETTING: Final = "MACHIDATA_PUBLICATION_ROUTES"
PUBLISH_ROUTE: Final = "chart_public"
SHARE_ROUTES: Final[dict[str, list[dict[str, str]]]] = {
    # The publication's route for a chart or dashboard: the owning 課長 decides, データ戦略課 checks.
    PUBLISH_ROUTE: [
        {"key": "head", "label": "所管課長の決裁", "who": "unit_head"},
        {"key": "strategy", "label": "データ戦略課の確認", "who": "admin"},
    ],
}
PUBLIC_EXPORTS: Final = ("png", "svg", "csv")


def share_routes() -> dict[str, list[dict[str, str]]]:
    """The configured routes (the publication routes setting overrides this default)."""
    return routes.routes(ROUTE_SETTING, SHARE_ROUTES)


def _uid(actor: Actor) -> int:
    if actor.user_id is None:
        raise PermissionDenied("ログインしてください。")
    return actor.user_id


def may_file(actor: Actor, obj: Chart | Dashboard) -> bool:
    """The owner, an 編集 member of the owning 課, or 管理."""
    owner = may_edit(actor, obj) if isinstance(obj, Chart) else may_edit_dashboard(actor, obj)
    return owner or may_edit_unit_owned(actor, obj.unit_id)


def _snapshot(actor: Actor, obj: Chart | Dashboard) -> dict[str, Any]:
    if isinstance(obj, Chart):
        return public.chart_snapshot(obj)
    return public.dashboard_snapshot(actor=actor, dashboard=obj)


def _gates(snapshot: dict[str, Any]) -> None:
    refused = public.refusals(snapshot)
    if refused:
        raise InvalidInput("公開できません: " + " ".join(refused), details={"gates": refused})


@transaction.atomic
def share_request_create(*, actor: Actor, obj: Chart | Dashboard, reason: str = "") -> ShareRequest:
    """File a 公開申請 for a chart or dashboard the actor may see (its owner, an 編集 of its 課, or 管理)."""
    if not may_file(actor, obj):
        raise PermissionDenied("公開申請ができるのは作成者、所属課の編集担当、データ戦略課（管理）です。")
    model = type(obj)
    obj = model.objects.select_for_update().get(pk=obj.pk)
    if obj.unit_id is None:
        raise InvalidInput(
            "所属課が記録されていないため、課長の決裁を回せません。データ戦略課にご相談ください。"
        )
    if public.pending_request_of(obj) is not None:
        raise Conflict(
            "このグラフ（ダッシュボード）の公開申請が決裁中です。結果を待つか、取り下げてから申請してください。"
        )
    reason = typed_text(reason, "申請の理由・メモ", "reason")
    snapshot = _snapshot(actor, obj)
    _gates(snapshot)
    steps = routes.resolve(
        PUBLISH_ROUTE, owner_unit_id=obj.unit_id, personal_data=False, table=share_routes()
    )
    kind = ShareRequestKind.CHART if isinstance(obj, Chart) else ShareRequestKind.DASHBOARD
    req = ShareRequest.objects.create(
        kind=kind, chart=obj if isinstance(obj, Chart) else None,
        dashboard=obj if isinstance(obj, Dashboard) else None, unit_id=obj.unit_id, requested_by_id=_uid(actor),
        reason=reason, snapshot=snapshot, fingerprint=public.fingerprint(snapshot), route_name=PUBLISH_ROUTE,
        steps=[s.as_dict() for s in steps],
    )  # fmt: skip
    audit_record(
        actor=actor, action="chart.public_request", obj=req,
        changes={"kind": kind, "uuid": str(obj.uuid), "route": PUBLISH_ROUTE, "fingerprint": req.fingerprint,
                 "tables": sorted({f"{p['document']['query']['table'].get('dataset')}/{p['document']['query']['table'].get('name')}"
                                   for p in public.snapshot_charts(snapshot)})},
    )  # fmt: skip
    route_requests.notify_turn(FLOW, actor=actor, request=req)
    return req


def _locked(request: ShareRequest) -> ShareRequest:
    current = (
        ShareRequest.objects.select_for_update(of=("self",))
        .select_related("chart", "dashboard", "requested_by")
        .filter(pk=request.pk)
        .first()
    )
    if current is None:
        raise NotFound("公開申請が見つかりません。")
    return current


def _what(req: ShareRequest) -> str:
    return f"{req.get_kind_display()}「{req.snapshot.get('title', '')}」の公開申請"


def _link(req: ShareRequest) -> str:
    return reverse("charts:public_request", args=[req.pk])


# How chart and dashboard 公開申請 walk their route (access.route_requests); 管理 may take one back.
FLOW: Final = route_requests.Flow[ShareRequest](
    audit_prefix="chart.public_request",
    lock=_locked,
    link=_link,
    turn_message=lambda req, step: (
        f"{_what(req)}が届きました。「{step['label']}」をお願いします。"
        "申請のページで公開する内容と確認の結果を見て、承認・差戻し・却下のどれかを選んでください。"
    ),
    ended_message=lambda req: f"{_what(req)}は「{req.get_status_display()}」になりました。",
    notify=notify,
    cancel_refused="取り下げられるのは申請者とデータ戦略課（管理）だけです。",
    cancel_not_pending="決裁中の申請だけ取り下げられます。",
    admin_may_cancel=True,
)


def _check_unchanged(actor: Actor, req: ShareRequest) -> dict[str, Any]:
    """The content taken again now; Conflict when it differs from what the approvers were shown."""
    obj: Chart | Dashboard | None = req.chart if req.kind == ShareRequestKind.CHART else req.dashboard
    if obj is None:
        raise NotFound("公開申請の対象が見つかりません。")
    try:  # taken as the requester sees it (the approver may not see a private chart of the grid)
        snapshot = _snapshot(actor_for(req.requested_by), obj)
    except InvalidInput:
        snapshot = {}
    if public.fingerprint(snapshot) != req.fingerprint:
        raise Conflict(
            "申請の後に、公開する内容（グラフの定義・題名・説明・並べたグラフ・絞り込み）が変わりました。"
            "この申請を取り下げて、いまの内容でもう一度申請してください。"
        )
    return snapshot


def _finish(actor: Actor, req: ShareRequest) -> None:
    now = timezone.now()
    subject: dict[str, Chart | Dashboard | None] = (
        {"chart": req.chart} if req.kind == ShareRequestKind.CHART else {"dashboard": req.dashboard}
    )
    live = PublicShare.objects.select_for_update().filter(
        **subject, superseded_at__isnull=True, withdrawn_at__isnull=True
    )
    before = list(live.values_list("pk", flat=True))
    live.update(superseded_at=now)
    share = PublicShare.objects.create(kind=req.kind, request=req, snapshot=req.snapshot, **subject)
    audit_record(actor=actor, action="chart.public_publish", obj=share,
                 changes={"request": req.pk, "kind": req.kind, "superseded": before})  # fmt: skip


@transaction.atomic
def share_request_act(
    *, actor: Actor, request: ShareRequest, decision: str, comment: str = ""
) -> ShareRequest:
    """Decide the current step: approve, return (差戻し) or reject (却下); the last approval publishes.

    An approval checks again that the content is unchanged and that every gate still passes."""
    req = _locked(request)
    if decision not in ShareDecision.values:
        raise InvalidInput("判断は「承認」「差戻し」「却下」から選んでください。")
    if req.status != ShareRequestStatus.PENDING:
        raise InvalidInput(f"この申請は「{req.get_status_display()}」のため決裁できません。")
    step = req.steps[req.current_step]
    approving = decision == ShareDecision.APPROVE
    on_behalf = routes.check_decider(
        actor, step, requested_by_id=req.requested_by_id, approving=approving,
        approved_before=approving
        and req.actions.filter(actor_id=actor.user_id, decision=ShareDecision.APPROVE).exists(),
    )  # fmt: skip
    comment = typed_text(comment, "コメント", "comment", required=not approving)
    if approving:
        _check_unchanged(actor, req)
        _gates(req.snapshot)
    ShareAction.objects.create(
        request=req, step_index=req.current_step, step_key=step["key"], decision=decision,
        actor_id=_uid(actor), on_behalf_of_id=on_behalf, comment=comment,
    )  # fmt: skip
    audit_record(actor=actor, action=f"chart.public_request.{decision}", obj=req,
                 changes={"step": step["key"], "on_behalf_of": on_behalf, "comment": comment})  # fmt: skip
    if route_requests.step_decided(req, decision):
        _finish(actor, req)
    req.save(update_fields=["status", "current_step", "decided_at"])
    route_requests.announce(FLOW, actor=actor, request=req)
    return req


@transaction.atomic
def share_request_cancel(*, actor: Actor, request: ShareRequest) -> ShareRequest:
    """The requester (or 管理) takes back a 公開申請 still under decision (取り下げ)."""
    return route_requests.request_cancel(FLOW, actor=actor, request=request)


@transaction.atomic
def public_withdraw(*, actor: Actor, obj: Chart | Dashboard, reason: str = "") -> PublicShare:
    """Stop publishing a chart or dashboard (非公開化) at once: its owner or データ戦略課 (管理)."""
    owner = obj.owner_id == actor.user_id and actor.user_id is not None
    if not (owner or actor.is_admin):
        raise PermissionDenied("公開をやめられるのは作成者とデータ戦略課（管理）です。")
    live = public.live_share_of(obj)
    share = PublicShare.objects.select_for_update().filter(pk=live.pk).first() if live is not None else None
    if share is None:
        raise InvalidInput("公開されていません。")
    reason = typed_text(reason, "公開をやめる理由", "reason")
    share.withdrawn_at = timezone.now()
    share.withdrawn_by_id = _uid(actor)
    share.save(update_fields=["withdrawn_at", "withdrawn_by"])
    audit_record(actor=actor, action="chart.public_withdraw", obj=share,
                 changes={"kind": share.kind, "uuid": str(obj.uuid), "reason": reason})  # fmt: skip
    return share


def public_chart_export(*, uuid: Any, fmt: str) -> tuple[bytes, str, str, str]:
    """A public chart as PNG/SVG (drawn on the server) or its data as CSV, read as the anonymous public from
    the published version; audited (``chart.public.export``). Returns (content, type, extension, title)."""
    if fmt not in PUBLIC_EXPORTS:
        raise NotFound("その形式では書き出せません。")
    share, chart = public.public_chart(uuid)
    rendered = chart.rendered
    if rendered is None:
        raise NotFound("このグラフは書き出せません。")
    source = chart.source or str((chart.licence or {}).get("attribution") or "")
    if fmt in FORMATS:
        content = render(rendered.spec, fmt)
        content_type, ext = FORMATS[fmt]
    elif rendered.pivot is not None:
        content, content_type, ext = pivot_file(rendered.pivot, fmt=fmt, title=chart.title, source=source)
    else:
        options = (share.snapshot.get("document", {}).get("visual") or {}).get("options") or {}
        content, content_type, ext = data_file(
            rendered.data.shown, rendered.data.columns, fmt=fmt, title=chart.title, source=source,
            wareki=options.get("era") != "western", pivot_by=None,
            note=rendered.data.hidden.note() if rendered.data.hidden and rendered.data.hidden.cells else "",
        )  # fmt: skip
    with transaction.atomic():
        audit_record(actor=ANONYMOUS, action="chart.public.export", obj=share,
                     changes={"format": fmt, "uuid": str(uuid), "version": chart.version.number})  # fmt: skip
    return content, content_type, ext, chart.title
