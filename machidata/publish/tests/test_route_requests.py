"""What a publication request shares with the other rooms' route requests, pinned as the rooms wrote it:
who may take it back (取り下げ) and with which refusals, its audit verb, and the notices after filing and
after each decision (texts and links exactly)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from machidata.audit.models import AuditEvent
from machidata.catalog.models import Dataset, TableVersion
from machidata.core.errors import InvalidInput, PermissionDenied
from machidata.core.testing import Actors
from machidata.notify.models import Notification
from machidata.publish.models import PublicationRequest, RequestStatus
from machidata.publish.services import publication_act, publication_cancel, publication_request_create
from machidata.publish.tests.conftest import as_actor

pytestmark = pytest.mark.django_db


def _file(cast: Actors, dataset: Dataset, version: TableVersion) -> PublicationRequest:
    return publication_request_create(
        actor=as_actor(cast, "owner_editor"), dataset=dataset, version_ids=[version.pk],
        licence_code="cc-by-4.0", attribution="熊本市オープンデータ",
    )  # fmt: skip


def _notices(cast: Actors, link: str) -> list[tuple[str, str]]:
    """(who by their name in the cast, message) of each notice pointing at ``link``."""
    names = {user.pk: name for name, user in cast.users.items()}
    rows = Notification.objects.filter(link=link).order_by("id")
    return [(names[n.recipient_id], n.message) for n in rows]


def test_only_the_requester_takes_a_pending_request_back(
    cast: Actors, dataset: Dataset, v1: TableVersion
) -> None:
    req = _file(cast, dataset, v1)
    for name in ("admin", "head", "staff"):
        with pytest.raises(PermissionDenied) as refused:
            publication_cancel(actor=as_actor(cast, name), request=req)
        assert refused.value.message == "取り下げられるのは申請者だけです。"
    assert PublicationRequest.objects.get(pk=req.pk).status == RequestStatus.PENDING
    done = publication_cancel(actor=as_actor(cast, "owner_editor"), request=req)
    stored = PublicationRequest.objects.get(pk=req.pk)
    assert (done.status, stored.status) == (RequestStatus.CANCELLED, RequestStatus.CANCELLED)
    assert stored.decided_at is not None
    (event,) = AuditEvent.objects.filter(action="publication.cancel")
    assert (event.object_id, event.changes) == (str(req.pk), {})
    with pytest.raises(InvalidInput) as again:
        publication_cancel(actor=as_actor(cast, "owner_editor"), request=req)
    assert again.value.message == "決裁中の申請だけ取り下げられます。"


def test_notices_name_the_step_then_tell_the_requester(
    cast: Actors, dataset: Dataset, v1: TableVersion
) -> None:
    req = _file(cast, dataset, v1)
    link = reverse("publish:detail", args=[req.pk])
    turn = (
        "「保健センター一覧」の公開申請が届きました。「所管課長の決裁」をお願いします。"
        "申請のページで版と公開前の確認の結果を見て、承認・差戻し・却下のどれかを選んでください。"
    )
    assert sorted(_notices(cast, link)) == [("deputy", turn), ("head", turn)]
    Notification.objects.all().delete()
    publication_act(actor=as_actor(cast, "head"), request=req, decision="approve")
    strategy = turn.replace("所管課長の決裁", "データ戦略課の確認")
    assert sorted(_notices(cast, link)) == [("admin", strategy), ("admin2", strategy)]
    Notification.objects.all().delete()
    publication_act(
        actor=as_actor(cast, "admin2"), request=req, decision="return", comment="出典を直してください"
    )
    assert _notices(cast, link) == [
        ("owner_editor", "「保健センター一覧」の公開申請が差し戻されました。"
         "申請のページでコメントを読み、直してからもう一度申請してください。")
    ]  # fmt: skip
    stored = PublicationRequest.objects.get(pk=req.pk)
    assert (stored.status, stored.current_step) == (RequestStatus.RETURNED, 1)
    assert stored.decided_at is not None
