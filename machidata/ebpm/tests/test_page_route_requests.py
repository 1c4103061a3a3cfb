"""What a 事業 page request shares with the other rooms' route requests, pinned as the room wrote it:
the requester or 管理 may take it back (取り下げ), with which refusals, its audit verb, and the notices
after filing and after each decision (texts and links exactly)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from machidata.audit.models import AuditEvent
from machidata.core.errors import InvalidInput, PermissionDenied
from machidata.core.testing import Actors
from machidata.ebpm import services_pages
from machidata.ebpm.models import PageRequest, PageRequestStatus
from machidata.ebpm.tests.conftest import as_actor
from machidata.ebpm.tests.test_pages import _file, _project, cast
from machidata.notify.models import Notification

__all__ = ["cast"]

pytestmark = pytest.mark.django_db


def _notices(cast: Actors, link: str) -> list[tuple[str, str]]:
    """(who by their name in the cast, message) of each notice pointing at ``link``."""
    names = {user.pk: name for name, user in cast.users.items()}
    rows = Notification.objects.filter(link=link).order_by("id")
    return [(names[n.recipient_id], n.message) for n in rows]


def test_the_requester_or_admin_takes_a_pending_request_back(cast: Actors) -> None:
    mine, theirs = _file(cast, _project(cast, "受診勧奨")), _file(cast, _project(cast, "健康教室"))
    for name in ("head", "staff"):
        with pytest.raises(PermissionDenied) as refused:
            services_pages.page_request_cancel(actor=as_actor(cast, name), request=mine)
        assert refused.value.message == "取り下げられるのは申請者とデータ戦略課（管理）だけです。"
    services_pages.page_request_cancel(actor=as_actor(cast, "owner_editor"), request=mine)
    services_pages.page_request_cancel(actor=as_actor(cast, "admin"), request=theirs)
    for req in (mine, theirs):
        stored = PageRequest.objects.get(pk=req.pk)
        assert stored.status == PageRequestStatus.CANCELLED
        assert stored.decided_at is not None
    events = AuditEvent.objects.filter(action="ebpm.page_request.cancel").order_by("id")
    assert [(e.object_id, e.changes) for e in events] == [(str(mine.pk), {}), (str(theirs.pk), {})]
    with pytest.raises(InvalidInput) as again:
        services_pages.page_request_cancel(actor=as_actor(cast, "admin"), request=mine)
    assert again.value.message == "決裁中の申請だけ取り下げられます。"


def test_notices_name_the_step_then_tell_the_requester(cast: Actors) -> None:
    req = _file(cast, _project(cast, "受診勧奨"))
    link = reverse("ebpm:page_request", args=[req.pk])
    turn = "事業のページの公開申請「受診勧奨」の「所管課長の決裁」をお願いします。"
    assert sorted(_notices(cast, link)) == [("deputy", turn), ("head", turn)]
    Notification.objects.all().delete()
    services_pages.page_request_act(actor=as_actor(cast, "head"), request=req, decision="approve")
    strategy = "事業のページの公開申請「受診勧奨」の「データ戦略課の確認」をお願いします。"
    assert sorted(_notices(cast, link)) == [("admin", strategy), ("admin2", strategy)]
    Notification.objects.all().delete()
    services_pages.page_request_act(
        actor=as_actor(cast, "admin2"), request=req, decision="reject", comment="不可"
    )
    assert _notices(cast, link) == [
        ("owner_editor", "事業のページの公開申請「受診勧奨」は「却下」になりました。")
    ]
    stored = PageRequest.objects.get(pk=req.pk)
    assert (stored.status, stored.current_step) == (PageRequestStatus.REJECTED, 1)
