"""Data requests followed up by a 照会 or a scheduled import: who may turn a request into one, and the request
answered when data arrives."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Any

import pytest

from machidata.access.models import Classification
from machidata.catalog.models import Dataset, Table
from machidata.collect import returns
from machidata.collect.followups import campaign_from_request, import_source_start
from machidata.collect.imports import import_source_scan
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
    with pytest.raises(Conflict, match="もう照会か定期取り込みがあります"):
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
    assert "もう照会か定期取り込みがあります" in again.content.decode()


GOOD = "日付,区分,利用者数,備考\n2025-05-01,午前,4,\n"
BAD = "日付,区分,利用者数,備考\n2025-05-03,午前,-4,\n"


@pytest.fixture
def share(settings: Any, tmp_path: Path) -> Path:
    folder = tmp_path / "share" / "kenkou"
    folder.mkdir(parents=True)
    settings.MACHIDATA_IMPORT_ROOT = str(tmp_path / "share")
    return folder


def put(folder: Path, name: str, text: str) -> None:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    old = time.time() - 900  # settled: not being copied any more
    os.utime(path, (old, old))


def test_request_becomes_a_scheduled_import_and_closes_with_the_first_good_file(
    actors: Actors, visitors: Table, share: Path
) -> None:
    request = routed_request(actors)
    source = import_source_start(
        actor=as_actor(actors, "owner_editor"), table=visitors, folder="kenkou", data_request=request.pk
    )
    follow = RequestFollowUp.objects.get()
    assert (follow.import_source_id, follow.campaign_id) == (source.pk, None)
    assert "定期取り込みを設定しました" in request.events.filter(kind=EventKind.COMMENT).get().body
    with pytest.raises(Conflict, match="もう照会か定期取り込みがあります"):
        start(actors, request, visitors)  # one follow-up per request, of either kind
    put(share, "a.csv", BAD)
    import_source_scan(source=source)
    request.refresh_from_db()
    assert request.status == "routed"  # a refused file answers nothing
    put(share, "b.csv", GOOD)
    assert import_source_scan(source=source).ingested == ["b.csv"]
    request.refresh_from_db()
    assert (request.status, request.answer_kind, request.answer_dataset) == (
        "answered",
        "exists",
        visitors.dataset,
    )
    assert "定期取り込み" in request.answer_text
    follow.refresh_from_db()
    assert follow.closed_at is not None


def test_scheduled_import_for_a_request_follows_the_request_rules(
    actors: Actors, visitors: Table, share: Path
) -> None:
    unrouted = data_request_create(actor=as_actor(actors, "staff"), title="x", description="x", purpose="x")
    with pytest.raises(Conflict, match="回付された要望だけ"):
        import_source_start(
            actor=as_actor(actors, "admin"), table=visitors, folder="kenkou", data_request=unrouted.pk
        )
    routed = routed_request(actors)
    with pytest.raises(PermissionDenied, match="定期取り込みにできるのは"):
        import_source_start(
            actor=as_actor(actors, "staff"), table=visitors, folder="kenkou", data_request=routed.pk
        )
    from machidata.collect.models import ImportSource

    assert not ImportSource.objects.exists()  # nothing set up when the request refuses
    assert not RequestFollowUp.objects.exists()


def test_import_page_and_api_take_the_request(actors: Actors, visitors: Table, share: Path) -> None:
    from django.urls import reverse

    request = routed_request(actors)
    client = actors.client("owner_editor")
    page = client.get(reverse("collect:imports"), {"data_request": request.pk})
    assert f"データの要望（番号 {request.pk}）" in page.content.decode()
    made = client.post(
        reverse("collect:imports"),
        {"table": visitors.pk, "kind": "folder", "folder": "kenkou", "pattern": "*.csv", "mode": "append",
         "data_request": request.pk},
    )  # fmt: skip
    assert made.status_code == 302, made.content.decode()
    assert RequestFollowUp.objects.get().import_source is not None
    body = {
        "table": f"{visitors.dataset.slug}/{visitors.name}",
        "folder": "kenkou",
        "data_request": request.pk,
    }
    again = client.post("/api/v1/schedules/", body, content_type="application/json")
    assert again.status_code == 409
    detail = client.get(reverse("datarequests:detail", args=[request.pk])).content.decode()
    assert f"?data_request={request.pk}" in detail  # the routed 課 is offered both ways from the request
    staff_view = (
        actors.client("staff").get(reverse("datarequests:detail", args=[request.pk])).content.decode()
    )
    assert "?data_request=" not in staff_view  # the requester may not answer: no links
