"""Data requests followed up by a 照会: who may turn a request into a campaign, and the request answered when data arrives."""

from __future__ import annotations

import datetime as dt

import pytest

from machidata.access.models import Classification
from machidata.catalog.models import Dataset, Table
from machidata.collect import returns
from machidata.collect.followups import campaign_from_request
from machidata.collect.models import RequestFollowUp
from machidata.collect.tests.conftest import as_actor
from machidata.core.errors import Conflict, NotFound, PermissionDenied
from machidata.core.testing import Actors
from machidata.datarequests.models import DataRequest, EventKind
from machidata.datarequests.services import data_request_create, data_request_route, data_request_withdraw

pytestmark = pytest.mark.django_db(transaction=True)
ROW = {"日付": "2025-04-01", "区分": "午前", "利用者数": "3"}


def routed_request(actors: Actors) -> DataRequest:
    """staff asks for visitor counts; 管理 routes it to 健康づくり推進課 (the table's owner)."""
    request = data_request_create(
        actor=as_actor(actors, "staff"), title="施設ごとの利用者数", description="月ごとの利用者数が欲しい",
        purpose="施設の配置を考えるため",
    )  # fmt: skip
    return data_request_route(
        actor=as_actor(actors, "admin"), request=request, unit_id=actors.org.health_div.pk
    )


def start(actors: Actors, request: DataRequest, table: Table, who: str = "owner_editor") -> object:
    return campaign_from_request(
        actor=as_actor(actors, who), request_id=request.pk, table=table, title="利用者数の照会",
        deadline=dt.date.today() + dt.timedelta(days=7), facilities=["第1合成小学校"],
    )  # fmt: skip


def test_request_becomes_a_campaign_and_closes_when_data_arrives(actors: Actors, visitors: Table) -> None:
    request = routed_request(actors)
    campaign = start(actors, request, visitors)
    request.refresh_from_db()
    assert request.status == "routed"
    comment = request.events.filter(kind=EventKind.COMMENT).get()
    assert "利用者数の照会" in comment.body
    with pytest.raises(Conflict, match="もう照会があります"):
        start(actors, request, visitors)
    recipient = campaign.recipients.get()  # type: ignore[attr-defined]
    returns.return_submit_rows(actor=as_actor(actors, "owner_editor"), recipient=recipient, rows=[ROW])
    request.refresh_from_db()
    assert request.status == "answered"
    assert request.answer_kind == "exists"
    assert request.answer_dataset == visitors.dataset
    assert "利用者数の照会" in request.answer_text
    follow = RequestFollowUp.objects.get()
    assert follow.closed_at is not None
    assert follow.close_note == ""


def test_only_the_routed_department_and_only_routed_requests(actors: Actors, visitors: Table) -> None:
    request = data_request_create(actor=as_actor(actors, "staff"), title="x", description="x", purpose="x")
    with pytest.raises(Conflict, match="回付された要望だけ"):
        start(actors, request, visitors, who="admin")  # 管理 may answer, but it is not routed yet
    with pytest.raises(NotFound):
        start(actors, request, visitors, who="other_editor")  # cannot even see it
    routed = routed_request(actors)
    with pytest.raises(PermissionDenied, match="回付された課"):
        start(actors, routed, visitors, who="staff")  # the requester sees it but may not answer
    assert not RequestFollowUp.objects.exists()


def test_a_withdrawn_request_is_closed_without_an_answer(actors: Actors, visitors: Table) -> None:
    request = routed_request(actors)
    campaign = start(actors, request, visitors)
    data_request_withdraw(actor=as_actor(actors, "staff"), request=request, reason="自分で見つけました")
    recipient = campaign.recipients.get()  # type: ignore[attr-defined]
    submission = returns.return_submit_rows(
        actor=as_actor(actors, "owner_editor"), recipient=recipient, rows=[ROW]
    )
    assert submission.status == "accepted"  # the return is never failed by the follow-up
    follow = RequestFollowUp.objects.get()
    assert follow.closed_at is not None
    assert "回答済みにできませんでした" in follow.close_note
    request.refresh_from_db()
    assert request.status == "withdrawn"


def test_requester_who_may_not_discover_the_dataset_is_told_whom_to_ask(
    actors: Actors, visitors: Table
) -> None:
    Dataset.objects.filter(pk=visitors.dataset_id).update(classification=Classification.CONFIDENTIAL)
    request = routed_request(actors)
    campaign = start(actors, request, visitors)
    recipient = campaign.recipients.get()  # type: ignore[attr-defined]
    returns.return_submit_rows(actor=as_actor(actors, "owner_editor"), recipient=recipient, rows=[ROW])
    request.refresh_from_db()
    assert request.status == "answered"
    assert request.answer_dataset is None
    assert "データの所有者は健康づくり推進課です" in request.answer_text


def test_api_starts_a_campaign_for_a_request(actors: Actors, visitors: Table) -> None:
    request = routed_request(actors)
    body = {
        "table": f"{visitors.dataset.slug}/{visitors.name}", "title": "利用者数の照会", "deadline": "2999-01-31",
        "facilities": ["第1合成小学校"], "data_request": request.pk,
    }  # fmt: skip
    client = actors.client("owner_editor")
    response = client.post("/api/v1/campaigns/", body, content_type="application/json")
    assert response.status_code == 201, response.content.decode()
    assert RequestFollowUp.objects.get().campaign_id == response.json()["id"]
    again = client.post("/api/v1/campaigns/", body, content_type="application/json")
    assert again.status_code == 409


def test_the_campaign_page_takes_the_request(actors: Actors, visitors: Table) -> None:
    from django.urls import reverse

    request = routed_request(actors)
    client = actors.client("owner_editor")
    page = client.get(reverse("collect:create"), {"table": visitors.pk, "data_request": request.pk})
    assert f"データの要望（番号 {request.pk}）" in page.content.decode()
    made = client.post(
        reverse("collect:create"),
        {"table": visitors.pk, "title": "利用者数の照会", "deadline": "2999-01-31", "facilities": "第1合成小学校",
         "repeat": "none", "data_request": request.pk},
    )  # fmt: skip
    assert made.status_code == 302
    assert RequestFollowUp.objects.get().data_request_id == request.pk
    again = client.post(
        reverse("collect:create"),
        {"table": visitors.pk, "title": "二度目", "deadline": "2999-01-31", "facilities": "第2合成小学校",
         "repeat": "none", "data_request": request.pk},
    )  # fmt: skip
    assert again.status_code == 400
    assert "もう照会があります" in again.content.decode()
