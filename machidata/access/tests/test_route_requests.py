"""What route requests share (access.route_requests), on a stand-in request: where a request stands after
a decision, who is told what, and a 取り下げ with its refusals and audit event. The three rooms' own tests
pin their texts (publish, privacy and ebpm ``test_*route_requests.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import transaction

from machidata.access import route_requests, routes
from machidata.access.tests.conftest import as_actor
from machidata.audit.models import AuditEvent
from machidata.core.errors import InvalidInput, PermissionDenied
from machidata.core.testing import Actors

pytestmark = pytest.mark.django_db


@dataclass
class Request:
    """A stand-in for a room's request row (what the shared functions read and write)."""

    steps: list[dict[str, Any]]
    requested_by_id: int
    pk: int = 41
    status: str = "pending"
    current_step: int = 0
    decided_at: Any = None
    actions: Any = None
    saved: list[Any] = field(default_factory=list)
    _meta = SimpleNamespace(label_lower="test.request")  # what the audit log names the object by

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.saved.append(kwargs.get("update_fields"))


@dataclass
class Sent:
    """A stand-in for ``notify``: what it was asked to send."""

    calls: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


def _flow(sent: Sent, *, admin_may_cancel: bool = False) -> route_requests.Flow[Request]:
    return route_requests.Flow[Request](
        audit_prefix="test.request",
        lock=lambda req: req,
        link=lambda req: f"/requests/{req.pk}/",
        turn_message=lambda req, step: f"「{step['label']}」の番です（#{req.pk}）",
        ended_message=lambda req: f"#{req.pk} は {req.status} です",
        notify=sent,
        cancel_refused="申請者だけです",
        cancel_not_pending="決裁中だけです",
        admin_may_cancel=admin_may_cancel,
    )


def _two_steps(cast: Actors) -> list[dict[str, Any]]:
    head = routes.resolve("full", owner_unit_id=cast.org.health_div.pk, personal_data=False)
    return [s.as_dict() for s in head]


def test_a_decision_moves_the_request_on(cast: Actors) -> None:
    requester = cast.users["owner_editor"].pk
    for decision, status in (("return", "returned"), ("reject", "rejected")):
        req = Request(_two_steps(cast), requester)
        assert route_requests.step_decided(req, decision) is False
        assert (req.status, req.current_step) == (status, 0)
        assert req.decided_at is not None
    req = Request(_two_steps(cast), requester)
    assert route_requests.step_decided(req, "approve") is False
    assert (req.status, req.current_step, req.decided_at) == ("pending", 1, None)
    assert route_requests.step_decided(req, "approve") is True  # the last step: the room finishes
    assert (req.status, req.current_step) == ("approved", 1)
    assert req.decided_at is not None
    assert req.saved == []  # the room saves


def test_the_next_step_is_told_and_then_the_requester(cast: Actors) -> None:
    sent = Sent()
    flow = _flow(sent)
    head = as_actor(cast, "head")
    req = Request(_two_steps(cast), cast.users["deputy"].pk)  # the deputy filed it: never told their own turn
    route_requests.announce(flow, actor=as_actor(cast, "owner_editor"), request=req)
    assert sent.calls == [{
        "users": [cast.users["head"].pk], "message": "「所管課長の決裁」の番です（#41）",
        "link": "/requests/41/", "exclude": as_actor(cast, "owner_editor"),
    }]  # fmt: skip
    sent.calls.clear()
    route_requests.step_decided(req, "reject")
    route_requests.announce(flow, actor=head, request=req)
    assert sent.calls == [
        {
            "users": [cast.users["deputy"].pk],
            "message": "#41 は rejected です",
            "link": "/requests/41/",
            "exclude": head,
        }
    ]


def test_cancel_is_the_requesters_and_admins_only_where_the_room_allows(cast: Actors) -> None:
    requester = as_actor(cast, "owner_editor")
    admin = as_actor(cast, "admin")
    with transaction.atomic():
        req = Request(_two_steps(cast), requester.user_id or 0)
        with pytest.raises(PermissionDenied, match="申請者だけです"):
            route_requests.request_cancel(_flow(Sent()), actor=admin, request=req)
        assert (req.status, req.saved) == ("pending", [])
        assert route_requests.request_cancel(_flow(Sent()), actor=requester, request=req) is req
        assert req.status == "cancelled"
        assert req.decided_at is not None
        assert req.saved == [["status", "decided_at"]]
        with pytest.raises(InvalidInput, match="決裁中だけです"):
            route_requests.request_cancel(_flow(Sent()), actor=requester, request=req)
        other = Request(_two_steps(cast), requester.user_id or 0, pk=42)
        route_requests.request_cancel(_flow(Sent(), admin_may_cancel=True), actor=admin, request=other)
        assert other.status == "cancelled"
    events = AuditEvent.objects.filter(action="test.request.cancel").order_by("id")
    assert [(e.object_type, e.object_id, e.actor_label) for e in events] == [
        ("test.request", "41", requester.label()),
        ("test.request", "42", admin.label()),
    ]
