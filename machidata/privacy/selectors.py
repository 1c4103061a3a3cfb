"""Reading 利用申請: who sees which request, the lists (mine / awaiting me / my 課's grants), one request.

A request is seen by its requester, by whoever may decide one of its steps, by members of the owning
課 (the data owner), and by 管理; anyone else gets the same 404 as for a missing request.
"""

from __future__ import annotations

from typing import Any, Final

from django.db.models import Q, QuerySet

from machidata.access import routes
from machidata.access.policy import Actor
from machidata.core.errors import NotFound
from machidata.privacy.models import AccessAction, AccessRequest, AccessStatus

SCOPES: Final = {
    "mine": "自分の申請",
    "awaiting": "自分の決裁待ち",
    "department": "自課のデータへの申請と許可",
    "all": "すべて（管理）",
}

DECISION_LABELS: Final = {
    "approve": "承認",
    "return": "差戻し",
    "reject": "却下",
    "renew": "更新",
    "revoke": "取消し",
}


def _base() -> QuerySet[AccessRequest]:
    return AccessRequest.objects.select_related("dataset", "dataset__owner", "requested_by", "requester_unit")


def _awaiting_ids(actor: Actor) -> list[int]:
    """Pending requests whose current step the actor may decide (never their own)."""
    ids = []
    for req in AccessRequest.objects.filter(status=AccessStatus.PENDING).exclude(
        requested_by_id=actor.user_id
    ):
        if routes.may_act(actor, req.steps[req.current_step])[0]:
            ids.append(req.pk)
    return ids


def _involved_ids(actor: Actor) -> set[int]:
    """Requests the actor acted on or may act on at some step."""
    acted = set(AccessAction.objects.filter(actor_id=actor.user_id).values_list("request_id", flat=True))
    for req in AccessRequest.objects.filter(status=AccessStatus.PENDING):
        if any(routes.may_act(actor, s)[0] for s in req.steps):
            acted.add(req.pk)
    return acted


def visible(actor: Actor) -> QuerySet[AccessRequest]:
    """Every request the actor may see."""
    if not actor.is_authenticated:
        return AccessRequest.objects.none()
    if actor.is_admin:
        return _base()
    return _base().filter(
        Q(requested_by_id=actor.user_id)
        | Q(dataset__owner_id__in=actor.unit_ids)
        | Q(pk__in=_involved_ids(actor))
    )


def access_request_list(
    *, actor: Actor, scope: str = "mine", status: str | None = None
) -> QuerySet[AccessRequest]:
    """One of the lists: my requests, those awaiting my decision, my 課's datasets' requests, or all (管理)."""
    rows = visible(actor)
    if scope == "awaiting":
        rows = rows.filter(pk__in=_awaiting_ids(actor))
    elif scope == "department":
        rows = rows.filter(dataset__owner_id__in=actor.unit_ids)
    elif scope != "all" or not actor.is_admin:
        rows = rows.filter(requested_by_id=actor.user_id)
    if status:
        rows = rows.filter(status=status)
    return rows


def access_request_get(*, actor: Actor, pk: int) -> AccessRequest:
    """One request the actor may see, else 404."""
    req = visible(actor).filter(pk=pk).first()
    if req is None:
        raise NotFound("利用申請が見つかりません。")
    return req


def route_state(req: AccessRequest) -> list[dict[str, Any]]:
    """Each step with its state (済 / 現在 / 未) and who decided or may decide it."""
    decided = {
        a.step_index: a
        for a in req.actions.select_related("actor", "on_behalf_of")
        if a.step_index is not None
    }
    out = []
    for i, step in enumerate(req.steps):
        act = decided.get(i)
        if act is not None:
            state = DECISION_LABELS.get(act.decision, act.decision)
        elif req.status == AccessStatus.PENDING and i == req.current_step:
            state = "決裁待ち"
        else:
            state = "未着手" if req.status == AccessStatus.PENDING else "—"
        out.append(
            {
                "label": step["label"],
                "state": state,
                "decision": act.decision if act else "",
                "by": (act.actor.get_full_name() or act.actor.get_username()) if act else "",
                "on_behalf_of": (act.on_behalf_of.get_username() if act and act.on_behalf_of else ""),
                "comment": act.comment if act else "",
                "candidates": routes.candidates(step) if act is None and state == "決裁待ち" else [],
            }
        )
    return out


def may_act_now(actor: Actor, req: AccessRequest) -> bool:
    """Whether the act buttons are shown to ``actor``: never to the requester, nor to someone who
    already approved an earlier step (one person approves at most one step; the service refuses it)."""
    return (
        req.status == AccessStatus.PENDING
        and actor.user_id != req.requested_by_id
        and routes.may_act(actor, req.steps[req.current_step])[0]
        and not req.actions.filter(actor_id=actor.user_id, decision="approve").exists()
    )
