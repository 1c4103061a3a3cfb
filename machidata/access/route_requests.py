"""What every request that walks an approval route shares, whichever room it belongs to.

Three rooms file requests that walk a route of :mod:`machidata.access.routes`: 公開申請・非公開化
(``publish``), 利用申請 (``privacy``) and the public pages of a 事業 (``ebpm``). Each keeps its own
model, filing rules, last-approval work, audit verbs and Japanese messages, and describes them once in
a :class:`Flow`; the steps all three take alike are here:

* :func:`request_cancel` — the requester (or, where the room allows it, 管理) takes back a request
  still under decision (取り下げ): the row locked, the check, the status, the audit event;
* :func:`step_decided` — after a decision at the current step, where the request stands: ended
  (差戻し・却下), at its next step, or approved by its last step (the room then does its own work);
* :func:`notify_turn`, :func:`notify_requester` and :func:`announce` — the notices: the people who may
  decide the current step are told it is their turn; the requester is told when the request ends;
* :func:`is_my_turn` and :func:`step_rows` — reading: whether someone may decide now, and each step
  with its state, who approved it (代決 shown) and who may act (publication and the EBPM pages; 利用申請
  shows its steps its own way).

Who may decide a step is :func:`machidata.access.routes.check_decider`. These functions run inside the
room's service and its transaction (``transaction.atomic``; ``audit_record`` refuses to run outside
one). Notices go through the ``notify`` the room hands to its :class:`Flow` (the notify room's
``notify``): ``access`` sits below ``notify`` and never imports it (import-linter contract).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Generic, Protocol, TypeVar

from django.utils import timezone

from machidata.access import routes
from machidata.access.policy import Actor
from machidata.audit.services import audit_record
from machidata.core.errors import InvalidInput, PermissionDenied

# The values every room's request statuses and decisions share (their labels are the room's own).
PENDING: Final = "pending"
APPROVED: Final = "approved"
RETURNED: Final = "returned"
REJECTED: Final = "rejected"
CANCELLED: Final = "cancelled"
APPROVE: Final = "approve"
RETURN: Final = "return"


class RouteRequest(Protocol):
    """A request row walking a route: its resolved steps, where it stands, who filed it, its decisions
    (``actions``: rows with ``step_index``, ``decision``, ``actor`` and ``on_behalf_of``)."""

    pk: Any
    actions: Any
    status: Any
    steps: Any
    current_step: Any
    requested_by_id: Any
    decided_at: Any

    def save(self, *args: Any, **kwargs: Any) -> None: ...


R = TypeVar("R", bound=RouteRequest)


@dataclass(frozen=True)
class Flow(Generic[R]):
    """One room's requests: how a row is locked, where its page is, its notices, its audit verbs.

    ``audit_prefix`` names the room's verbs (``publication`` → ``publication.cancel``);
    ``turn_message(request, step)`` and ``ended_message(request)`` are the room's notices;
    ``notify`` is :func:`machidata.notify.services.notify`; ``cancel_refused`` and
    ``cancel_not_pending`` are the room's refusals of a 取り下げ, and ``admin_may_cancel`` lets 管理
    take back someone else's request.
    """

    audit_prefix: str
    lock: Callable[[R], R]
    link: Callable[[R], str]
    turn_message: Callable[[R, dict[str, Any]], str]
    ended_message: Callable[[R], str]
    notify: Callable[..., object]
    cancel_refused: str
    cancel_not_pending: str
    admin_may_cancel: bool = False


def notify_turn(flow: Flow[R], *, actor: Actor, request: R) -> None:
    """Tell the people who may decide the current step (never the requester) that it is their turn."""
    step = request.steps[request.current_step]
    ids = [uid for uid in routes.candidate_ids(step) if uid != request.requested_by_id]
    flow.notify(users=ids, message=flow.turn_message(request, step), link=flow.link(request), exclude=actor)


def notify_requester(flow: Flow[R], *, actor: Actor, request: R) -> None:
    """Tell the requester where their request stands now (ended, renewed, revoked …)."""
    flow.notify(
        users=[request.requested_by_id],
        message=flow.ended_message(request),
        link=flow.link(request),
        exclude=actor,
    )


def announce(flow: Flow[R], *, actor: Actor, request: R) -> None:
    """After a decision: notify whoever decides next, or the requester when the request has ended."""
    if request.status == PENDING:
        notify_turn(flow, actor=actor, request=request)
    else:
        notify_requester(flow, actor=actor, request=request)


def step_decided(request: RouteRequest, decision: str) -> bool:
    """Move ``request`` on after ``decision`` at its current step (not saved).

    A return (差戻し) or a rejection (却下) ends it; an approval moves it to the next step, or, at the
    last step, approves it — then True is returned and the room does its own last-approval work.
    """
    if decision != APPROVE:
        request.status = RETURNED if decision == RETURN else REJECTED
        request.decided_at = timezone.now()
        return False
    if request.current_step + 1 < len(request.steps):
        request.current_step += 1
        return False
    request.status = APPROVED
    request.decided_at = timezone.now()
    return True


def request_cancel(flow: Flow[R], *, actor: Actor, request: R) -> R:
    """The requester (or 管理, where the room allows it) takes back a request still under decision (取り下げ)."""
    req = flow.lock(request)
    if actor.user_id != req.requested_by_id and not (flow.admin_may_cancel and actor.is_admin):
        raise PermissionDenied(flow.cancel_refused)
    if req.status != PENDING:
        raise InvalidInput(flow.cancel_not_pending)
    req.status = CANCELLED
    req.decided_at = timezone.now()
    req.save(update_fields=["status", "decided_at"])
    audit_record(actor=actor, action=f"{flow.audit_prefix}.cancel", obj=req, changes={})
    return req


def is_my_turn(actor: Actor, request: RouteRequest) -> bool:
    """Whether ``actor`` may decide the request's current step now: it is pending, not theirs, they have
    not approved a step of it already, and the step is theirs (:func:`routes.may_act`)."""
    if request.status != PENDING or actor.user_id is None or actor.user_id == request.requested_by_id:
        return False
    if request.actions.filter(actor_id=actor.user_id, decision=APPROVE).exists():
        return False
    return routes.may_act(actor, request.steps[request.current_step])[0]


def _name(user: Any) -> str:
    return str(user.get_full_name() or user.get_username()) if user is not None else ""


def step_rows(request: RouteRequest) -> list[dict[str, Any]]:
    """Each step with its state (済み・現在・未着手), who approved it (代決 shown) and who may act now."""
    approvals = {
        a.step_index: a
        for a in request.actions.select_related("actor", "on_behalf_of").filter(decision=APPROVE)
    }
    out = []
    for i, step in enumerate(request.steps):
        act = approvals.get(i)
        if act is not None:
            state = "済み"
        elif request.status == PENDING and i == request.current_step:
            state = "現在"
        else:
            state = "未着手"
        out.append({
            **step, "index": i, "state": state, "acted_by": _name(act.actor) if act else "",
            "on_behalf_of": _name(act.on_behalf_of) if act else "",
            "candidates": routes.candidates(step) if state == "現在" else [],
        })  # fmt: skip
    return out
