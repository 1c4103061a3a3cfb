"""Writing 利用申請: file, decide a step (the last approval grants read), cancel, renew, revoke.

Each is one transaction, audited. The route is the access room's route module
(:mod:`machidata.access.routes`, shared with publication and the EBPM pages) read from
``MACHIDATA_ACCESS_REQUEST_ROUTES``: the same rules hold (the requester never decides their own
request; one person approves at most one step; a 代決 is recorded with the 課長 it stands for).
Taking a request back, the state after a decision and the notices are
:mod:`machidata.access.route_requests` with this room's :data:`FLOW`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from machidata.access import route_requests, routes
from machidata.access.models import Membership, PersonalData, Unit, UnitKind
from machidata.access.policy import Action, Actor, can
from machidata.audit.services import audit_record
from machidata.catalog.models import Dataset, Table
from machidata.catalog.services import grant_create, grant_set_expiry
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from machidata.core.text import typed_text
from machidata.notify.services import notify
from machidata.privacy.fields import parse_date as _date
from machidata.privacy.models import AccessAction, AccessDecision, AccessRequest, AccessStatus, LegalBasis
from machidata.privacy.uses import use_choices, use_from_request

MAX_DAYS: Final = 3 * 366  # a grant runs at most about three years; renew for longer
ROUTE_SETTING: Final = "MACHIDATA_ACCESS_REQUEST_ROUTES"
DEFAULT_ROUTES: Final[dict[str, list[dict[str, str]]]] = {
    # 申請者の課長が承認し、データ所有者（所管課の課長または編集担当）が決定する。
    "standard": [
        {"key": "requester_head", "label": "申請者の所属課長の承認", "who": "requester_head"},
        {"key": "owner", "label": "データ所有者（所管課）の決定", "who": "owner_editor"},
    ],
}


def access_routes() -> dict[str, list[dict[str, str]]]:
    """The configured 利用申請 routes (the setting overrides the defaults route by route)."""
    return routes.routes(ROUTE_SETTING, DEFAULT_ROUTES)


def _uid(actor: Actor) -> int:
    if actor.user_id is None:
        raise PermissionDenied()
    return actor.user_id


def _requester_unit(actor: Actor) -> Unit | None:
    """The requester's 課 (a 係 member's 課), from today's first membership."""
    m = (
        Membership.objects.active_on()
        .filter(user_id=_uid(actor))
        .select_related("unit")
        .order_by("id")
        .first()
    )
    unit = m.unit if m is not None else None
    while unit is not None and unit.kind == UnitKind.SECTION and unit.parent_id is not None:
        unit = Unit.objects.get(pk=unit.parent_id)
    return unit


def column_choices(dataset: Dataset) -> list[str]:
    """The columns a request may name: ``表名.項目名`` from each table's schema."""
    out = []
    for table in Table.objects.filter(dataset=dataset).order_by("name"):
        for f in (table.schema or {}).get("fields", []):
            if f.get("name"):
                out.append(f"{table.name}.{f['name']}")
    return out


@transaction.atomic
def access_request_create(
    *,
    actor: Actor,
    dataset: Dataset,
    purpose: str,
    starts_on: Any,
    ends_on: Any,
    legal_basis: str,
    legal_ground: str = "",
    columns: list[str] | None = None,
    approved_use: int | None = None,
) -> AccessRequest:
    """File a 利用申請 for a dataset the actor may discover but not read; the route is resolved now."""
    uid = _uid(actor)
    dataset = Dataset.objects.filter(pk=dataset.pk).first() or dataset
    if not can(actor, Action.DISCOVER, dataset):
        raise NotFound("データセットが見つかりません。")
    if can(actor, Action.READ, dataset):
        raise InvalidInput("このデータはすでに利用できます（利用申請は不要です）。")
    if dataset.is_retired:
        raise InvalidInput("廃止されたデータセットには利用申請できません。")
    if AccessRequest.objects.filter(
        dataset=dataset, requested_by_id=uid, status=AccessStatus.PENDING
    ).exists():
        raise Conflict(
            "このデータセットへの利用申請が決裁中です。結果を待つか、取り下げてから申請してください。"
        )
    purpose = typed_text(purpose, "利用目的", "purpose", required=True)
    start = _date(starts_on, "利用開始日", "starts_on")
    end = _date(ends_on, "利用終了日", "ends_on")
    today = timezone.localdate()
    if end < start:
        raise InvalidInput(
            "利用終了日は利用開始日より後の日付にしてください。", details={"ends_on": "開始日より前です。"}
        )
    if end < today:
        raise InvalidInput(
            "利用終了日が過ぎています。今日以降の日付にしてください。",
            details={"ends_on": "過去の日付です。"},
        )
    if (end - start).days > MAX_DAYS:
        raise InvalidInput(
            "利用期間は3年以内にしてください（続けて使うときは更新します）。",
            details={"ends_on": "長すぎます。"},
        )
    if legal_basis not in LegalBasis.values:
        raise InvalidInput("法的根拠を選んでください。", details={"legal_basis": "必須です。"})
    ground = typed_text(legal_ground, "目的外利用の根拠", "legal_ground",
                   required=legal_basis == LegalBasis.OTHER_PURPOSE)  # fmt: skip
    wanted = [str(c).strip() for c in (columns or []) if str(c).strip()]
    unknown = sorted(set(wanted) - set(column_choices(dataset)))
    if unknown:
        raise InvalidInput(
            f"このデータセットにない項目が選ばれています: {'、'.join(unknown)}",
            details={"columns": "不明な項目です。"},
        )
    use_id = None
    if approved_use is not None:
        if approved_use not in {u.pk for u in use_choices(actor=actor)}:
            raise InvalidInput(
                "選んだ「承認された利用」が見つからないか、利用期間が終わっています。",
                details={"approved_use": "選べません。"},
            )
        use_id = approved_use
    unit = _requester_unit(actor)
    table = access_routes()
    route_name = (
        "personal_data"
        if dataset.personal_data != PersonalData.NONE and "personal_data" in table
        else "standard"
    )
    steps = routes.resolve(
        route_name, owner_unit_id=dataset.owner_id, personal_data=dataset.personal_data != PersonalData.NONE,
        table=table, requester_unit_id=unit.pk if unit else None,
    )  # fmt: skip
    req = AccessRequest.objects.create(
        dataset=dataset, requested_by_id=uid, requester_unit=unit, purpose=purpose, columns=sorted(set(wanted)),
        starts_on=start, ends_on=end, legal_basis=legal_basis, legal_ground=ground, route_name=route_name,
        steps=[s.as_dict() for s in steps], approved_use_id=use_id,
    )  # fmt: skip
    audit_record(
        actor=actor, action="access_request.create", obj=req,
        changes={"dataset": dataset.slug, "route": route_name, "starts_on": start.isoformat(),
                 "ends_on": end.isoformat(), "legal_basis": legal_basis, "columns": req.columns},
    )  # fmt: skip
    route_requests.notify_turn(FLOW, actor=actor, request=req)
    return req


def _locked(request: AccessRequest) -> AccessRequest:
    current = (
        AccessRequest.objects.select_for_update().select_related("dataset").filter(pk=request.pk).first()
    )
    if current is None:
        raise NotFound("利用申請が見つかりません。")
    return current


def _turn_message(req: AccessRequest, step: dict[str, Any]) -> str:
    return f"利用申請「{req.dataset.title}」の「{step['label']}」をお願いします。"


def _ended_message(req: AccessRequest) -> str:
    return f"利用申請「{req.dataset.title}」は「{req.get_status_display()}」になりました。"


# How 利用申請 walk their route (the shared steps are in access.route_requests).
FLOW: Final = route_requests.Flow[AccessRequest](
    audit_prefix="access_request",
    lock=_locked,
    link=lambda req: reverse("privacy:detail", args=[req.pk]),
    turn_message=_turn_message,
    ended_message=_ended_message,
    notify=notify,
    cancel_refused="取り下げられるのは申請者だけです。",
    cancel_not_pending="決裁中の利用申請だけ取り下げられます。",
)


@transaction.atomic
def access_request_act(
    *, actor: Actor, request: AccessRequest, decision: str, comment: str = ""
) -> AccessRequest:
    """Decide the current step: approve, return (差戻し) or reject (却下); the last approval grants read."""
    req = _locked(request)
    if decision not in AccessDecision.values:
        raise InvalidInput("判断は「承認」「差戻し」「却下」から選んでください。")
    if req.status != AccessStatus.PENDING:
        raise InvalidInput(f"この利用申請は「{req.get_status_display()}」のため決裁できません。")
    step = req.steps[req.current_step]
    approving = decision == AccessDecision.APPROVE
    on_behalf = routes.check_decider(
        actor, step, requested_by_id=req.requested_by_id, approving=approving, noun="利用申請",
        approved_before=approving
        and req.actions.filter(actor_id=actor.user_id, decision=AccessDecision.APPROVE).exists(),
    )  # fmt: skip
    comment = typed_text(comment, "コメント", "comment", required=decision != AccessDecision.APPROVE)
    AccessAction.objects.create(
        request=req, step_index=req.current_step, step_key=step["key"], decision=decision,
        actor_id=_uid(actor), on_behalf_of_id=on_behalf, comment=comment,
    )  # fmt: skip
    audit_record(actor=actor, action=f"access_request.{decision}", obj=req,
                 changes={"step": step["key"], "on_behalf_of": on_behalf, "comment": comment})  # fmt: skip
    if route_requests.step_decided(req, decision):
        req.grant = grant_create(
            actor=actor, dataset=req.dataset, user_id=req.requested_by_id, expires_on=req.ends_on,
            note=f"利用申請 #{req.pk}", reference=f"access_request#{req.pk}",
        )  # fmt: skip
        use_from_request(actor=actor, request=req)
    req.save()
    route_requests.announce(FLOW, actor=actor, request=req)
    return req


@transaction.atomic
def access_request_cancel(*, actor: Actor, request: AccessRequest) -> AccessRequest:
    """The requester takes back a request still under decision (取り下げ)."""
    return route_requests.request_cancel(FLOW, actor=actor, request=request)


def may_manage_grant(actor: Actor, req: AccessRequest) -> bool:
    """Renewal and revocation belong to the data owner: the owning 課's 課長/代決者 or 編集, or 管理."""
    if actor.is_admin:
        return True
    owner_step = {"who": "unit_editor", "unit_id": req.dataset.owner_id}
    return routes.may_act(actor, owner_step)[0]


def _granted(actor: Actor, request: AccessRequest) -> AccessRequest:
    req = _locked(request)
    if not may_manage_grant(actor, req):
        raise PermissionDenied("利用の許可を更新・取り消せるのはデータ所有者（所管課）です。")
    if req.status != AccessStatus.APPROVED or req.grant_id is None:
        raise InvalidInput("許可された利用申請ではありません。")
    if actor.user_id == req.requested_by_id:
        raise PermissionDenied("自分への許可は更新・取り消しできません。")
    return req


@transaction.atomic
def access_grant_renew(
    *, actor: Actor, request: AccessRequest, ends_on: Any, comment: str = ""
) -> AccessRequest:
    """Move the end date of a granted access (更新); the data owner decides."""
    req = _granted(actor, request)
    end = _date(ends_on, "新しい利用終了日", "ends_on")
    today = timezone.localdate()
    if end <= req.ends_on or end < today:
        raise InvalidInput(
            "新しい利用終了日は今の終了日より後の日付にしてください。",
            details={"ends_on": "日付が早すぎます。"},
        )
    if (end - today).days > MAX_DAYS:
        raise InvalidInput(
            "更新後の利用期間は今日から3年以内にしてください。", details={"ends_on": "長すぎます。"}
        )
    before = req.ends_on
    assert req.grant is not None
    grant_set_expiry(actor=actor, grant=req.grant, expires_on=end, reference=f"access_request#{req.pk}")
    req.ends_on = end
    req.save(update_fields=["ends_on"])
    AccessAction.objects.create(request=req, step_key="renew", decision="renew", actor_id=_uid(actor),
                                comment=typed_text(comment, "コメント", "comment"))  # fmt: skip
    audit_record(actor=actor, action="access_request.renew", obj=req,
                 changes={"before": before.isoformat(), "after": end.isoformat()})  # fmt: skip
    route_requests.notify_requester(FLOW, actor=actor, request=req)
    return req


@transaction.atomic
def access_grant_revoke(*, actor: Actor, request: AccessRequest, reason: str) -> AccessRequest:
    """End a granted access now (取消し): the grant ends yesterday, so it gives nothing from today."""
    req = _granted(actor, request)
    reason = typed_text(reason, "取消しの理由", "reason", required=True)
    assert req.grant is not None
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    grant_set_expiry(actor=actor, grant=req.grant, expires_on=yesterday, reference=f"access_request#{req.pk}")
    req.status = AccessStatus.REVOKED
    req.revoked_at = timezone.now()
    req.save(update_fields=["status", "revoked_at"])
    AccessAction.objects.create(
        request=req, step_key="revoke", decision="revoke", actor_id=_uid(actor), comment=reason
    )
    audit_record(actor=actor, action="access_request.revoke", obj=req, changes={"reason": reason})
    route_requests.notify_requester(FLOW, actor=actor, request=req)
    return req
