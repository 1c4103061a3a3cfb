"""What a 利用申請 shares with the other rooms' route requests, pinned as the room wrote it: who may take
it back (取り下げ) and with which refusals, its audit verb, and the notices after filing, after each
decision and after a renewal or revocation (texts and links exactly)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from machidata.audit.models import AuditEvent
from machidata.catalog.models import Dataset
from machidata.core.errors import InvalidInput, PermissionDenied
from machidata.core.testing import Actors
from machidata.notify.models import Notification
from machidata.privacy import services
from machidata.privacy.models import AccessRequest, AccessStatus
from machidata.privacy.tests.conftest import as_actor, period

pytestmark = pytest.mark.django_db

TITLE = "特定健診の受診状況（町丁別）"


def _file(cast: Actors, ds: Dataset) -> AccessRequest:
    start, end = period()
    return services.access_request_create(
        actor=as_actor(cast, "staff"), dataset=ds, purpose="地域差を比べるため", starts_on=start, ends_on=end,
        legal_basis="internal",
    )  # fmt: skip


def _notices(cast: Actors, link: str) -> list[tuple[str, str]]:
    """(who by their name in the cast, message) of each notice pointing at ``link``."""
    names = {user.pk: name for name, user in cast.users.items()}
    rows = Notification.objects.filter(link=link).order_by("id")
    return [(names[n.recipient_id], n.message) for n in rows]


def test_only_the_requester_takes_a_pending_request_back(cast: Actors, restricted: Dataset) -> None:
    req = _file(cast, restricted)
    for name in ("admin", "fire_head", "owner_editor"):
        with pytest.raises(PermissionDenied) as refused:
            services.access_request_cancel(actor=as_actor(cast, name), request=req)
        assert refused.value.message == "取り下げられるのは申請者だけです。"
    done = services.access_request_cancel(actor=as_actor(cast, "staff"), request=req)
    stored = AccessRequest.objects.get(pk=req.pk)
    assert (done.status, stored.status) == (AccessStatus.CANCELLED, AccessStatus.CANCELLED)
    assert stored.decided_at is not None
    (event,) = AuditEvent.objects.filter(action="access_request.cancel")
    assert (event.object_id, event.changes) == (str(req.pk), {})
    with pytest.raises(InvalidInput) as again:
        services.access_request_cancel(actor=as_actor(cast, "staff"), request=req)
    assert again.value.message == "決裁中の利用申請だけ取り下げられます。"


def test_notices_name_the_step_then_tell_the_requester(cast: Actors, restricted: Dataset) -> None:
    req = _file(cast, restricted)
    link = reverse("privacy:detail", args=[req.pk])
    turn = f"利用申請「{TITLE}」の「申請者の所属課長の承認」をお願いします。"
    assert sorted(_notices(cast, link)) == [("fire_deputy", turn), ("fire_head", turn)]
    Notification.objects.all().delete()
    services.access_request_act(actor=as_actor(cast, "fire_head"), request=req, decision="approve")
    owner_turn = f"利用申請「{TITLE}」の「データ所有者（所管課）の決定」をお願いします。"
    assert sorted(_notices(cast, link)) == [("head", owner_turn), ("owner_editor", owner_turn)]
    Notification.objects.all().delete()
    req = services.access_request_act(actor=as_actor(cast, "owner_editor"), request=req, decision="approve")
    assert req.status == AccessStatus.APPROVED
    assert req.decided_at is not None
    assert _notices(cast, link) == [("staff", f"利用申請「{TITLE}」は「許可」になりました。")]
    Notification.objects.all().delete()
    _start, end = period(60)
    services.access_grant_renew(actor=as_actor(cast, "owner_editor"), request=req, ends_on=end)
    assert _notices(cast, link) == [("staff", f"利用申請「{TITLE}」は「許可」になりました。")]
    Notification.objects.all().delete()
    services.access_grant_revoke(actor=as_actor(cast, "head"), request=req, reason="目的を終えたため")
    assert _notices(cast, link) == [("staff", f"利用申請「{TITLE}」は「許可の取消し」になりました。")]


def test_a_rejection_ends_the_request_and_tells_the_requester(cast: Actors, restricted: Dataset) -> None:
    req = _file(cast, restricted)
    Notification.objects.all().delete()
    req = services.access_request_act(
        actor=as_actor(cast, "fire_deputy"), request=req, decision="reject", comment="目的が広すぎます"
    )
    stored = AccessRequest.objects.get(pk=req.pk)
    assert (stored.status, stored.current_step, stored.grant_id) == (AccessStatus.REJECTED, 0, None)
    assert stored.decided_at is not None
    link = reverse("privacy:detail", args=[req.pk])
    assert _notices(cast, link) == [("staff", f"利用申請「{TITLE}」は「却下」になりました。")]
