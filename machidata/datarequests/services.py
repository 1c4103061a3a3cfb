"""Writing data requests: create, route, answer, withdraw, comment — each one transaction, audited, notified.

Status transitions (anything else is refused with a Japanese message, nothing saved):

    受付 ──route──► 担当課へ回付 ──answer──► 回答済み
     │               │  ▲ route again (another 課)
     └──withdraw──►  └──withdraw──► 取り下げ
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from machidata.access.models import Membership, Role, Unit, UnitKind
from machidata.access.policy import Action, Actor, access_dataset, can, unit_scope
from machidata.audit.services import audit_record
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from machidata.datarequests.models import AnswerKind, DataRequest, DataRequestEvent, EventKind, RequestStatus
from machidata.datarequests.selectors import (
    ANSWER,
    COMMENT,
    ROUTE,
    WITHDRAW,
    request_roles,
    requester_actor,
    route_unit_choices,
    suggested_unit_choices,
)
from machidata.notify.services import notify

S = RequestStatus

# From which statuses each step may be taken.
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    ROUTE: frozenset({S.RECEIVED, S.ROUTED}),
    ANSWER: frozenset({S.ROUTED}),
    WITHDRAW: frozenset({S.RECEIVED, S.ROUTED}),
    COMMENT: frozenset({S.RECEIVED, S.ROUTED, S.ANSWERED}),
}
_REFUSED: Final = {
    ROUTE: "「{status}」の要望は担当課へ回付できません（回付できるのは回答前の要望だけです）。",
    ANSWER: "「{status}」の要望には回答できません（回答できるのは担当課へ回付した要望だけです）。",
    WITHDRAW: "「{status}」の要望は取り下げられません（取り下げられるのは回答前の要望だけです）。",
    COMMENT: "取り下げた要望にはコメントできません。",
}
NOT_YOURS: Final = {
    ROUTE: "担当課への回付はデータ戦略課（管理）が行います。",
    ANSWER: "回答できるのは回付先の課の職員とデータ戦略課（管理）です。",
    WITHDRAW: "取り下げられるのは要望した本人だけです。",
    COMMENT: "この要望にはコメントできません。",
}
TITLE_MAX, TEXT_MAX, PERIOD_MAX, QUERY_MAX = 200, 5000, 200, 200


# ---- helpers -------------------------------------------------------------------------------------


def _text(value: Any, *, field: str, label: str, required: bool, limit: int, errors: dict[str, str]) -> str:
    """Stripped text; records a Japanese error for a missing or too long value."""
    text = str(value or "").strip()
    if required and not text:
        errors[field] = f"{label}を入力してください。"
    elif len(text) > limit:
        errors[field] = f"{label}は{limit}文字以内で入力してください（いま{len(text)}文字）。"
    return text


def _locked(request: DataRequest, step: str, actor: Actor) -> DataRequest:
    """The request re-read inside the transaction, checked for the actor's role and the status."""
    # Row lock on PostgreSQL (two 管理 routing at once queue up); SQLite's IMMEDIATE transaction already
    # holds the write lock. No select_related: FOR UPDATE refuses the nullable side of an outer join.
    current = DataRequest.objects.select_for_update().get(pk=request.pk)
    if step not in request_roles(actor, current):
        raise PermissionDenied(NOT_YOURS[step])
    if current.status not in TRANSITIONS[step]:
        raise Conflict(_REFUSED[step].format(status=current.get_status_display()))
    return current


def _event(
    request: DataRequest,
    actor: Actor,
    kind: str,
    *,
    body: str = "",
    status_from: str | None = None,
    unit: Unit | None = None,
) -> DataRequestEvent:
    """One timeline entry; ``status_from`` given (even "") means the status changed to the request's current one."""
    return DataRequestEvent.objects.create(
        request=request,
        kind=kind,
        actor_id=actor.user_id,
        actor_label=_display(actor),
        body=body,
        unit=unit,
        status_from=status_from or "",
        status_to=request.status if status_from is not None else "",
    )


def _display(actor: Actor) -> str:
    """The actor's display name (full name, else user name) for the timeline and notices."""
    user = get_user_model().objects.filter(pk=actor.user_id).first() if actor.user_id else None
    return (user.get_full_name() or user.get_username()) if user is not None else actor.label()


def _link(request: DataRequest) -> str:
    return reverse("datarequests:detail", args=[request.pk])


def _unit(unit_id: Any, choices: Any, *, field: str, errors: dict[str, str]) -> Unit | None:
    if unit_id in (None, ""):
        return None
    try:
        return choices.get(pk=int(unit_id))
    except (Unit.DoesNotExist, TypeError, ValueError):
        errors[field] = "所属が見つかりません（廃止された所属か、課・係ではありません）。"
        return None


def _requester_unit(user_id: int) -> Unit | None:
    """The requester's 課 today (a 係 counts as its 課), for the monthly counts by department."""
    membership = (
        Membership.objects.active_on()
        .filter(user_id=user_id)
        .select_related("unit__parent")
        .order_by("valid_from", "pk")
        .first()
    )
    if membership is None:
        return None
    unit = membership.unit
    return unit.parent if unit.kind == UnitKind.SECTION and unit.parent is not None else unit


def admin_recipients() -> list[int]:
    """管理 (データ戦略課) members and superusers who are active today."""
    members = Membership.objects.active_on().filter(role=Role.ADMIN).values_list("user_id", flat=True)
    supers = get_user_model().objects.filter(is_superuser=True, is_active=True).values_list("pk", flat=True)
    return sorted(set(members) | set(supers))


def department_recipients(unit_id: int) -> list[int]:
    """Who hears of a request routed to a 課: its データ所有者 (編集), or every member when it has none."""
    memberships = Membership.objects.active_on().filter(unit_id__in=unit_scope(unit_id), user__is_active=True)
    editors = set(memberships.filter(role=Role.EDITOR).values_list("user_id", flat=True))
    return sorted(editors or set(memberships.values_list("user_id", flat=True)))


# ---- services ------------------------------------------------------------------------------------


def data_request_create(
    *,
    actor: Actor,
    title: str,
    description: str,
    purpose: str,
    period: str = "",
    suggested_unit_id: int | None = None,
    search_query: str = "",
) -> DataRequest:
    """File a request for data the actor could not find; 管理 is notified."""
    if not actor.is_authenticated or actor.user_id is None:
        raise PermissionDenied("データの要望を出すにはログインしてください。")
    errors: dict[str, str] = {}
    values = {
        "title": _text(
            title, field="title", label="欲しいデータ", required=True, limit=TITLE_MAX, errors=errors
        ),
        "description": _text(
            description, field="description", label="内容の詳細", required=True, limit=TEXT_MAX, errors=errors
        ),
        "purpose": _text(
            purpose, field="purpose", label="利用目的", required=True, limit=TEXT_MAX, errors=errors
        ),
        "period": _text(
            period, field="period", label="必要な期間", required=False, limit=PERIOD_MAX, errors=errors
        ),
        "search_query": _text(
            search_query, field="search_query", label="検索語", required=False, limit=QUERY_MAX, errors=errors
        ),
    }
    suggested = _unit(suggested_unit_id, suggested_unit_choices(), field="suggested_unit", errors=errors)
    if errors:
        raise InvalidInput("入力内容を確認してください。", details=errors)
    with transaction.atomic():
        request = DataRequest.objects.create(
            **values,
            suggested_unit=suggested,
            requested_by_id=actor.user_id,
            requester_unit=_requester_unit(actor.user_id),
            status=S.RECEIVED,
        )
        _event(request, actor, EventKind.CREATED, status_from="")
        audit_record(
            actor=actor,
            action="datarequest.create",
            obj=request,
            changes={
                **values,
                "suggested_unit": suggested.pk if suggested else None,
                "status": request.status,
            },
        )
        notify(
            users=admin_recipients(),
            message=f"データの要望「{request.title}」が届きました。担当課への回付をお願いします。",
            link=_link(request),
            exclude=actor,
        )
    return request


def data_request_route(*, actor: Actor, request: DataRequest, unit_id: int, note: str = "") -> DataRequest:
    """管理 routes a request to a 課 (or re-routes it to another); the 課 and the requester are notified."""
    errors: dict[str, str] = {}
    note = _text(note, field="note", label="回付のメモ", required=False, limit=TEXT_MAX, errors=errors)
    unit = _unit(unit_id, route_unit_choices(), field="unit", errors=errors)
    if unit is None and "unit" not in errors:
        errors["unit"] = "回付先の課を選んでください。"
    with transaction.atomic():
        current = _locked(request, ROUTE, actor)
        if unit is not None and unit.pk == current.routed_unit_id:
            errors["unit"] = f"すでに{unit.name}へ回付しています。"
        if errors or unit is None:
            raise InvalidInput("入力内容を確認してください。", details=errors)
        before = current.status
        current.status = S.ROUTED
        current.routed_unit = unit
        current.routed_at = timezone.now()
        current.save(update_fields=["status", "routed_unit", "routed_at", "updated_at"])
        _event(current, actor, EventKind.ROUTED, body=note, status_from=before, unit=unit)
        audit_record(
            actor=actor,
            action="datarequest.route",
            obj=current,
            changes={"status": [before, current.status], "routed_unit": unit.pk, "note": note},
        )
        notify(
            users=department_recipients(unit.pk),
            message=f"データの要望「{current.title}」が{unit.name}に回付されました。回答をお願いします。",
            link=_link(current),
            exclude=actor,
        )
        notify(
            users=[current.requested_by_id],
            message=f"あなたのデータの要望「{current.title}」を{unit.name}に回付しました。",
            link=_link(current),
            exclude=actor,
        )
    return current


def _answer_dataset(actor: Actor, current: DataRequest, ref: str, errors: dict[str, str]) -> Any:
    """The dataset an "exists" answer links to: the answerer and the requester must both be able to discover it."""
    ref = str(ref or "").strip()
    if not ref:
        return None
    try:
        dataset = (
            access_dataset(actor, Action.DISCOVER, pk=int(ref))
            if ref.isdigit()
            else access_dataset(actor, Action.DISCOVER, slug=ref)
        )
    except NotFound:
        errors["dataset"] = "データセットが見つかりません（URL名か番号を確かめてください）。"
        return None
    if not can(requester_actor(current), Action.DISCOVER, dataset):
        errors["dataset"] = (
            "依頼者はこのデータセットをカタログで見られない（機密）ため、リンクできません。"
            "データセットは空欄にして、データがあることと問い合わせ先を回答に書いてください。"
        )
        return None
    return dataset


def data_request_answer(
    *,
    actor: Actor,
    request: DataRequest,
    kind: str,
    text: str = "",
    dataset: str = "",
    expected_on: dt.date | None = None,
) -> DataRequest:
    """The routed 課 (or 管理) answers: the data exists (link or whom to ask), will be created (by when), or cannot be provided (why)."""
    errors: dict[str, str] = {}
    text = _text(text, field="text", label="回答", required=False, limit=TEXT_MAX, errors=errors)
    with transaction.atomic():
        current = _locked(request, ANSWER, actor)
        found = None
        if kind not in AnswerKind.values:
            errors["kind"] = "回答の種類を選んでください。"
        elif kind == AnswerKind.EXISTS:
            found = _answer_dataset(actor, current, dataset, errors)
            if found is None and "dataset" not in errors and not text:
                errors["text"] = (
                    "該当するデータセットを指定するか、データのある場所と問い合わせ先を回答に書いてください。"
                )
        elif kind == AnswerKind.WILL_CREATE:
            if expected_on is None:
                errors["expected_on"] = "作成の見込み日を入力してください。"
            elif expected_on < timezone.localdate():
                errors["expected_on"] = "作成の見込み日には今日以降の日付を入力してください。"
        elif kind == AnswerKind.CANNOT_PROVIDE and not text:
            errors["text"] = "提供できない理由を書いてください。"
        if errors:
            raise InvalidInput("入力内容を確認してください。", details=errors)
        before = current.status
        current.status = S.ANSWERED
        current.answer_kind = kind
        current.answer_text = text
        current.answer_dataset = found
        current.answer_expected_on = expected_on if kind == AnswerKind.WILL_CREATE else None
        current.answered_at = timezone.now()
        current.answered_by_id = actor.user_id
        current.save()
        label = AnswerKind(kind).label
        _event(
            current,
            actor,
            EventKind.ANSWERED,
            body=f"{label}{'：' + text if text else ''}",
            status_from=before,
        )
        audit_record(
            actor=actor,
            action="datarequest.answer",
            obj=current,
            changes={
                "status": [before, current.status],
                "kind": kind,
                "text": text,
                "dataset": found.slug if found else None,
                "expected_on": current.answer_expected_on,
            },
        )
        notify(
            users=[current.requested_by_id],
            message=f"あなたのデータの要望「{current.title}」に回答がありました（{label}）。",
            link=_link(current),
            exclude=actor,
        )
    return current


def data_request_withdraw(*, actor: Actor, request: DataRequest, reason: str = "") -> DataRequest:
    """The requester withdraws a request not yet answered; 管理 and the routed 課 are notified."""
    errors: dict[str, str] = {}
    reason = _text(
        reason, field="reason", label="取り下げの理由", required=False, limit=TEXT_MAX, errors=errors
    )
    if errors:
        raise InvalidInput("入力内容を確認してください。", details=errors)
    with transaction.atomic():
        current = _locked(request, WITHDRAW, actor)
        before = current.status
        current.status = S.WITHDRAWN
        current.withdrawn_at = timezone.now()
        current.save(update_fields=["status", "withdrawn_at", "updated_at"])
        _event(current, actor, EventKind.WITHDRAWN, body=reason, status_from=before)
        audit_record(
            actor=actor,
            action="datarequest.withdraw",
            obj=current,
            changes={"status": [before, current.status], "reason": reason},
        )
        recipients = admin_recipients()
        if current.routed_unit_id:
            recipients += department_recipients(current.routed_unit_id)
        notify(
            users=recipients,
            message=f"データの要望「{current.title}」は依頼者が取り下げました。",
            link=_link(current),
            exclude=actor,
        )
    return current


def data_request_comment(*, actor: Actor, request: DataRequest, body: str) -> DataRequestEvent:
    """Add a comment; the requester and the routed 課 (管理 while not yet routed) are notified."""
    errors: dict[str, str] = {}
    body = _text(body, field="body", label="コメント", required=True, limit=TEXT_MAX, errors=errors)
    if errors:
        raise InvalidInput("入力内容を確認してください。", details=errors)
    with transaction.atomic():
        current = _locked(request, COMMENT, actor)
        event = _event(current, actor, EventKind.COMMENT, body=body)
        DataRequest.objects.filter(pk=current.pk).update(updated_at=timezone.now())
        audit_record(
            actor=actor,
            action="datarequest.comment",
            obj=current,
            changes={"event": event.pk, "body": body},
        )
        recipients = [current.requested_by_id]
        recipients += (
            department_recipients(current.routed_unit_id) if current.routed_unit_id else admin_recipients()
        )
        notify(
            users=recipients,
            message=f"データの要望「{current.title}」に{event.actor_label}さんがコメントしました。",
            link=_link(current),
            exclude=actor,
        )
    return event


__all__ = [
    "TRANSITIONS",
    "admin_recipients",
    "data_request_answer",
    "data_request_comment",
    "data_request_create",
    "data_request_route",
    "data_request_withdraw",
    "department_recipients",
]
