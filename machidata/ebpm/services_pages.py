"""Writing public pages of a 事業: request publication or withdrawal, decide a step, take a request back.

The route is the access room's route module (:mod:`machidata.access.routes`), read from the
publication routes setting (``MACHIDATA_PUBLICATION_ROUTES``) under this room's own route names
(:data:`PAGE_ROUTES` are the defaults; a city may override either name there). The same rules hold as
for datasets and 利用申請: the requester never decides their own request; one person approves at most
one step; a 代決 is recorded with the 課長 it stands for. Each write is one transaction, audited.

Version pinning: a request pins the logic model version and the evaluations, and keeps the page as it
would be published (``preview``) with its fingerprint. Every approval takes the page again and refuses
(Conflict) when anything shown has changed since, so an approver approves exactly what they saw; the
last approval freezes it as a :class:`~machidata.ebpm.models.PublicPage`. A later change to the 事業
never reaches the public page until a new request is approved. Withdrawal (非公開化) walks its own
route and takes the page off the public pages in the approving transaction.
"""

from __future__ import annotations

from typing import Any, Final

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from machidata.access import route_requests, routes
from machidata.access.policy import Actor
from machidata.audit.services import audit_record
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from machidata.core.text import typed_text
from machidata.ebpm.models import (
    Evaluation,
    Level,
    PageAction,
    PageDecision,
    PageRequest,
    PageRequestKind,
    PageRequestStatus,
    PlanItem,
    PublicPage,
)
from machidata.ebpm.selectors import logic_model_of, may_edit
from machidata.ebpm.selectors_pages import fingerprint, page_snapshot, public_pages
from machidata.notify.services import notify

ROUTE_SETTING: Final = "MACHIDATA_PUBLICATION_ROUTES"
PUBLISH_ROUTE: Final = "ebpm_page"
WITHDRAW_ROUTE: Final = "ebpm_page_withdraw"
PAGE_ROUTES: Final[dict[str, list[dict[str, str]]]] = {
    # 所管課長が決裁し、データ戦略課が市民向けの説明として確認する。
    PUBLISH_ROUTE: [
        {"key": "head", "label": "所管課長の決裁", "who": "unit_head"},
        {"key": "strategy", "label": "データ戦略課の確認", "who": "admin"},
    ],
    # 非公開化は所管課長が決裁する（決裁したときにページは公開をやめる）。
    WITHDRAW_ROUTE: [{"key": "head", "label": "所管課長の決裁（非公開化）", "who": "unit_head"}],
}


def page_routes() -> dict[str, list[dict[str, str]]]:
    """The configured routes (the publication routes setting overrides these defaults route by route)."""
    return routes.routes(ROUTE_SETTING, PAGE_ROUTES)


def _uid(actor: Actor) -> int:
    if actor.user_id is None:
        raise PermissionDenied()
    return actor.user_id


def _require_owner(actor: Actor, item: PlanItem) -> None:
    if not may_edit(actor, item):
        raise PermissionDenied(
            "事業のページの公開・非公開化を申請できるのは、所管課の編集担当とデータ戦略課（管理）です。"
        )


def _link(req: PageRequest) -> str:
    return reverse("ebpm:page_request", args=[req.pk])


def _file(actor: Actor, item: PlanItem, kind: str, route_name: str, **fields: Any) -> PageRequest:
    steps = routes.resolve(route_name, owner_unit_id=item.unit_id, personal_data=False, table=page_routes())
    req = PageRequest.objects.create(
        item=item, kind=kind, requested_by_id=_uid(actor), route_name=route_name,
        steps=[s.as_dict() for s in steps], **fields,
    )  # fmt: skip
    audit_record(
        actor=actor, action=f"ebpm.page_request.{kind}", obj=req,
        changes={"item": item.pk, "route": route_name, "logic_model": req.logic_model_number,
                 "evaluations": req.evaluation_ids, "fingerprint": req.fingerprint},
    )  # fmt: skip
    route_requests.notify_turn(FLOW, actor=actor, request=req)
    return req


def _no_pending(item: PlanItem) -> None:
    if PageRequest.objects.filter(item=item, status=PageRequestStatus.PENDING).exists():
        raise Conflict("この事業のページの申請が決裁中です。結果を待つか、取り下げてから申請してください。")


@transaction.atomic
def page_request_create(
    *, actor: Actor, item: PlanItem, evaluation_ids: list[Any] | None = None, reason: str = ""
) -> PageRequest:
    """Ask to publish the 事業's page: the current logic model version and the chosen evaluations are pinned."""
    _require_owner(actor, item)
    item = PlanItem.objects.select_for_update().select_related("unit").get(pk=item.pk)
    if item.level != Level.PROJECT:
        raise InvalidInput("市民向けのページを公開できるのは事業だけです。")
    model = logic_model_of(item)
    if model is None or not model.number:
        raise InvalidInput("ロジックモデルを作ってから公開を申請してください。")
    _no_pending(item)
    wanted: list[int] = []
    for raw in evaluation_ids or []:
        text = str(raw).strip()
        if not text.isdigit() or len(text) > 12:
            raise InvalidInput("公開する事業評価の指定が正しくありません。", details={"evaluation_ids": text})
        wanted.append(int(text))
    found = set(Evaluation.objects.filter(item=item, pk__in=wanted).values_list("pk", flat=True))
    if set(wanted) - found:
        raise InvalidInput(
            "この事業の評価ではないものが選ばれています。", details={"evaluation_ids": "不明な評価です。"}
        )
    reason = typed_text(reason, "申請の理由・メモ", "reason")
    snapshot = page_snapshot(item, model_number=model.number, evaluation_ids=sorted(found))
    return _file(
        actor, item, PageRequestKind.PUBLISH, PUBLISH_ROUTE, reason=reason, logic_model_number=model.number,
        evaluation_ids=sorted(found), preview=snapshot, fingerprint=fingerprint(snapshot),
    )  # fmt: skip


@transaction.atomic
def page_withdraw_create(*, actor: Actor, item: PlanItem, reason: str) -> PageRequest:
    """Ask to take the 事業's public page down (非公開化); the page stays public until the route approves."""
    _require_owner(actor, item)
    item = PlanItem.objects.select_for_update().select_related("unit").get(pk=item.pk)
    if not public_pages().filter(item=item).exists():
        raise InvalidInput("この事業のページは公開されていません。")
    _no_pending(item)
    reason = typed_text(reason, "非公開にする理由", "reason", required=True)
    return _file(actor, item, PageRequestKind.WITHDRAW, WITHDRAW_ROUTE, reason=reason)


def _locked(request: PageRequest) -> PageRequest:
    current = (
        PageRequest.objects.select_for_update().select_related("item__unit").filter(pk=request.pk).first()
    )
    if current is None:
        raise NotFound("事業ページの申請が見つかりません。")
    return current


def _turn_message(req: PageRequest, step: dict[str, Any]) -> str:
    return f"事業のページの{req.get_kind_display()}「{req.item.name}」の「{step['label']}」をお願いします。"


def _ended_message(req: PageRequest) -> str:
    return f"事業のページの{req.get_kind_display()}「{req.item.name}」は「{req.get_status_display()}」になりました。"


# How page requests walk their route (the shared steps are in access.route_requests); 管理 may take one back.
FLOW: Final = route_requests.Flow[PageRequest](
    audit_prefix="ebpm.page_request",
    lock=_locked,
    link=_link,
    turn_message=_turn_message,
    ended_message=_ended_message,
    notify=notify,
    cancel_refused="取り下げられるのは申請者とデータ戦略課（管理）だけです。",
    cancel_not_pending="決裁中の申請だけ取り下げられます。",
    admin_may_cancel=True,
)


def _check_unchanged(req: PageRequest) -> dict[str, Any]:
    """The page taken again now; Conflict when it differs from what the request showed its approvers."""
    try:
        snapshot = page_snapshot(
            req.item, model_number=req.logic_model_number or 0, evaluation_ids=req.evaluation_ids
        )
    except NotFound:
        snapshot = {}
    if fingerprint(snapshot) != req.fingerprint:
        raise Conflict(
            "申請の後に、公開する内容（検証指標・実績・評価・公開データの状態など）が変わりました。"
            "この申請を取り下げて、いまの内容でもう一度申請してください。"
        )
    return snapshot


def _finish(actor: Actor, req: PageRequest, snapshot: dict[str, Any]) -> None:
    now = timezone.now()
    live = PublicPage.objects.select_for_update().filter(
        item=req.item, superseded_at__isnull=True, withdrawn_at__isnull=True
    )
    if req.kind == PageRequestKind.PUBLISH:
        before = list(live.values_list("pk", flat=True))
        live.update(superseded_at=now)
        page = PublicPage.objects.create(item=req.item, request=req, snapshot=snapshot, published_at=now)
        audit_record(actor=actor, action="ebpm.public_page.publish", obj=page,
                     changes={"item": req.item_id, "request": req.pk, "superseded": before})  # fmt: skip
    else:
        ids = list(live.values_list("pk", flat=True))
        live.update(withdrawn_at=now, withdrawn_by=req)
        audit_record(actor=actor, action="ebpm.public_page.withdraw", obj=req,
                     changes={"item": req.item_id, "pages": ids})  # fmt: skip


@transaction.atomic
def page_request_act(*, actor: Actor, request: PageRequest, decision: str, comment: str = "") -> PageRequest:
    """Decide the current step: approve, return (差戻し) or reject (却下); the last approval publishes or withdraws."""
    req = _locked(request)
    if decision not in PageDecision.values:
        raise InvalidInput("判断は「承認」「差戻し」「却下」から選んでください。")
    if req.status != PageRequestStatus.PENDING:
        raise InvalidInput(f"この申請は「{req.get_status_display()}」のため決裁できません。")
    step = req.steps[req.current_step]
    approving = decision == PageDecision.APPROVE
    on_behalf = routes.check_decider(
        actor, step, requested_by_id=req.requested_by_id, approving=approving,
        approved_before=approving
        and req.actions.filter(actor_id=actor.user_id, decision=PageDecision.APPROVE).exists(),
    )  # fmt: skip
    comment = typed_text(comment, "コメント", "comment", required=decision != PageDecision.APPROVE)
    snapshot: dict[str, Any] = {}
    if decision == PageDecision.APPROVE and req.kind == PageRequestKind.PUBLISH:
        snapshot = _check_unchanged(req)
    PageAction.objects.create(
        request=req, step_index=req.current_step, step_key=step["key"], decision=decision,
        actor_id=_uid(actor), on_behalf_of_id=on_behalf, comment=comment,
    )  # fmt: skip
    audit_record(actor=actor, action=f"ebpm.page_request.{decision}", obj=req,
                 changes={"step": step["key"], "on_behalf_of": on_behalf, "comment": comment})  # fmt: skip
    if route_requests.step_decided(req, decision):
        _finish(actor, req, snapshot)
    req.save(update_fields=["status", "current_step", "decided_at"])
    route_requests.announce(FLOW, actor=actor, request=req)
    return req


@transaction.atomic
def page_request_cancel(*, actor: Actor, request: PageRequest) -> PageRequest:
    """The requester (or 管理) takes back a request still under decision (取り下げ)."""
    return route_requests.request_cancel(FLOW, actor=actor, request=request)
