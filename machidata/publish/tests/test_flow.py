"""The whole route on real ingested versions: request, 決裁 steps, version pinning, withdrawal."""

from __future__ import annotations

import pytest

from machidata.audit.models import AuditEvent
from machidata.catalog.models import Dataset, TableVersion
from machidata.core.testing import Actors
from machidata.publish import selectors
from machidata.publish.models import PublicationRequest, PublishedVersion, RequestStatus
from machidata.publish.services import (
    publication_act,
    publication_request_create,
    publication_withdraw_request,
)
from machidata.publish.tests.conftest import FACILITIES_V2, as_actor, ingest_text

pytestmark = pytest.mark.django_db(transaction=True)


def _request(cast: Actors, dataset: Dataset, versions: list[TableVersion]) -> object:
    return publication_request_create(
        actor=as_actor(cast, "owner_editor"), dataset=dataset, version_ids=[v.pk for v in versions],
        licence_code="cc-by-4.0", attribution="熊本市オープンデータ（健康づくり推進課）",
    )  # fmt: skip


def _publish(cast: Actors, dataset: Dataset, versions: list[TableVersion]) -> object:
    req = _request(cast, dataset, versions)
    for who in ("head", "admin"):
        req = publication_act(actor=as_actor(cast, who), request=req, decision="approve")
    return req


def test_full_route_publishes_exactly_the_approved_version(
    cast: Actors, dataset: Dataset, v1: TableVersion
) -> None:
    req = _request(cast, dataset, [v1])
    assert req.route_name == "full"
    assert [s["key"] for s in req.steps] == ["head", "strategy"]  # no personal data: privacy not consulted
    assert selectors.publication_state(dataset) == selectors.STATE_PENDING
    assert selectors.public_version_for(v1.table) is None
    req = publication_act(actor=as_actor(cast, "head"), request=req, decision="approve", comment="")
    assert req.status == RequestStatus.PENDING
    assert req.current_step == 1
    assert selectors.public_version_for(v1.table) is None  # nothing public half-way
    req = publication_act(actor=as_actor(cast, "admin"), request=req, decision="approve")
    assert req.status == RequestStatus.APPROVED
    dataset.refresh_from_db()
    assert dataset.classification == "public"
    assert dataset.licence is not None
    assert dataset.licence.code == "cc-by-4.0"
    assert selectors.public_version_for(v1.table) == v1
    assert list(selectors.public_tables()) == [v1.table]
    assert selectors.publication_state(dataset) == selectors.STATE_PUBLIC
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "publication.request",
        "publication.approve",
        "publication.publish",
        "dataset.classification_change",
    } <= actions


def test_later_version_with_personal_column_never_reaches_the_public(
    cast: Actors, dataset: Dataset, v1: TableVersion
) -> None:
    _publish(cast, dataset, [v1])
    v2 = ingest_text(cast, dataset, "facilities", FACILITIES_V2)
    assert v2.number == 2
    flagged = {f["column"] for f in v2.reports["screen"]["flags"]}
    assert "担当者氏名" in flagged  # the ingestion screen flagged the new column
    table = v2.table
    table.refresh_from_db()
    assert table.current_version == v2  # staff see v2 ...
    assert selectors.public_version_for(table) == v1  # ... the public still gets v1
    download = selectors.public_download(table=table, fmt="csv")
    body = download.file.read().decode("utf-8-sig")
    assert "担当者氏名" not in body
    assert "山田" not in body
    assert "南保健センター" not in body
    assert "中央保健センター" in body
    # v2's own request goes the full route (new column) with the privacy consult, and its gate blocks it.
    req = _request(cast, dataset, [v2])
    assert req.route_name == "full"
    assert [s["key"] for s in req.steps] == ["head", "strategy", "privacy"]
    assert any(r["gate"] == "screen" and not r["passed"] for r in req.gate_results)
    from machidata.core.errors import InvalidInput

    with pytest.raises(InvalidInput, match="個人情報と思われる列"):
        publication_act(actor=as_actor(cast, "head"), request=req, decision="approve")
    assert selectors.public_version_for(table) == v1
    assert not PublishedVersion.objects.filter(version=v2).exists()


def test_routine_update_uses_the_short_route(cast: Actors, dataset: Dataset, v1: TableVersion) -> None:
    _publish(cast, dataset, [v1])
    v2 = ingest_text(
        cast, dataset, "facilities", "施設名,区,定員\n中央保健センター,中央区,45\n東保健センター,東区,35\n"
    )
    req = _request(cast, dataset, [v2])
    assert req.route_name == "routine"
    assert [s["key"] for s in req.steps] == ["strategy"]
    assert selectors.public_version_for(v2.table) == v1  # until approved
    publication_act(actor=as_actor(cast, "admin2"), request=req, decision="approve")
    assert selectors.public_version_for(v2.table) == v2


def test_deputy_decides_recorded_as_daiketsu(cast: Actors, dataset: Dataset, v1: TableVersion) -> None:
    req = _request(cast, dataset, [v1])
    req = publication_act(actor=as_actor(cast, "deputy"), request=req, decision="approve")
    act = req.actions.get()
    assert act.actor == cast.users["deputy"]
    assert act.on_behalf_of == cast.users["head"]
    steps = selectors.request_steps(req)
    assert steps[0]["on_behalf_of"] == "課長"
    assert steps[0]["state"] == "済み"
    assert steps[1]["state"] == "現在"
    assert steps[1]["candidates"]


def test_withdrawal_is_routed_and_removes_from_public_at_once(
    cast: Actors, dataset: Dataset, v1: TableVersion
) -> None:
    _publish(cast, dataset, [v1])
    req = publication_withdraw_request(
        actor=as_actor(cast, "owner_editor"), dataset=dataset, note="誤りが見つかったため"
    )
    assert selectors.public_version_for(v1.table) == v1  # the route decides, not the filing
    publication_act(actor=as_actor(cast, "head"), request=req, decision="approve")
    assert selectors.public_version_for(v1.table) is None
    assert not selectors.public_tables().exists()
    dataset.refresh_from_db()
    assert dataset.classification == "internal"
    assert selectors.publication_state(dataset) == selectors.STATE_WITHDRAWN
    assert AuditEvent.objects.filter(action="publication.withdraw").exists()


def test_the_next_decider_and_then_the_requester_are_notified(
    cast: Actors, dataset: Dataset, v1: TableVersion
) -> None:
    from machidata.notify.models import Notification

    req = _request(cast, dataset, [v1])
    head_notes = Notification.objects.filter(recipient=cast.users["head"])
    assert head_notes.count() == 1
    assert "所管課長の決裁" in head_notes.get().message
    assert not Notification.objects.filter(recipient=cast.users["admin"]).exists()
    req = publication_act(actor=as_actor(cast, "head"), request=req, decision="approve")
    assert Notification.objects.filter(
        recipient=cast.users["admin"], message__contains="データ戦略課の確認"
    ).exists()
    publication_act(actor=as_actor(cast, "admin"), request=req, decision="approve")
    (done,) = Notification.objects.filter(recipient=cast.users["owner_editor"])
    assert "決裁済み" in done.message


def test_a_withdrawn_version_can_be_published_again(cast: Actors, dataset: Dataset, v1: TableVersion) -> None:
    """The same version, withdrawn and then approved again, is public again (one row per table and version)."""
    first = _publish(cast, dataset, [v1])
    req = publication_withdraw_request(actor=as_actor(cast, "owner_editor"), dataset=dataset, note="一時停止")
    publication_act(actor=as_actor(cast, "head"), request=req, decision="approve")
    assert selectors.public_version_for(v1.table) is None
    again = _publish(cast, dataset, [v1])
    assert isinstance(first, PublicationRequest)
    assert isinstance(again, PublicationRequest)
    assert again.pk != first.pk
    assert selectors.public_version_for(v1.table) == v1
    assert selectors.public_tables().filter(pk=v1.table_id).exists()
    assert selectors.publication_state(Dataset.objects.get(pk=dataset.pk)) == selectors.STATE_PUBLIC
    pv = PublishedVersion.objects.get(table=v1.table, version=v1)
    assert (pv.request_id, pv.withdrawn_at, pv.withdrawn_by_id) == (again.pk, None, None)
