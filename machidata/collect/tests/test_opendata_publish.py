"""公開申請 in one action for the datasets an open-data import brought in, through the publication service."""

from __future__ import annotations

import pytest
from django.urls import reverse

from machidata.access.policy import actor_for
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Dataset, Table
from machidata.collect.models import OpenDataRun
from machidata.collect.opendata import opendata_preview, opendata_start
from machidata.collect.opendata_publish import opendata_request_publication
from machidata.collect.tests.test_opendata import SHELTERS, TOILETS, Site, cp932_list, site, vocab
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from machidata.core.testing import Actors, check_statuses
from machidata.publish.models import PublicationRequest, RequestVersion

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["site", "vocab"]


def imported(actors: Actors, site: Site) -> OpenDataRun:
    site.files["/files/shelters.csv"] = SHELTERS.encode()
    site.files["/files/toilets.csv"] = TOILETS.encode()
    admin = actor_for(actors.users["admin"])
    run = opendata_preview(
        actor=admin, origin="list", owner=actors.org.fire_div, content=cp932_list(site), file_name="list.csv"
    )
    opendata_start(actor=admin, run=run)
    run.refresh_from_db()
    assert run.result["counts"]["create"] == 3
    return run


def test_one_action_requests_every_imported_dataset_that_has_a_table(
    actors: Actors, vocab: None, site: Site
) -> None:
    admin = actor_for(actors.users["admin"])
    preview = opendata_preview(
        actor=admin, origin="list", owner=actors.org.fire_div, content=cp932_list(site), file_name="l.csv"
    )
    with pytest.raises(Conflict):  # not run yet: nothing to request
        opendata_request_publication(actor=admin, run=preview, attribution="熊本市")
    run = imported(actors, site)
    with pytest.raises(InvalidInput):
        opendata_request_publication(actor=admin, run=run, attribution="  ")
    for name in ("staff", "owner_editor"):
        with pytest.raises(PermissionDenied):
            opendata_request_publication(actor=actor_for(actors.users[name]), run=run, attribution="熊本市")
    with pytest.raises(NotFound):
        opendata_request_publication(actor=admin, run=run, keys=["not-in-this-run"], attribution="熊本市")
    assert not PublicationRequest.objects.exists()

    outcomes = opendata_request_publication(actor=admin, run=run, attribution="熊本市オープンデータ（防災）")
    by_title = {o["title"]: o for o in outcomes}
    assert set(by_title) == {"指定避難所一覧", "人口統計（合成）", "公衆トイレ一覧"}
    assert by_title["指定避難所一覧"]["status"] == "requested", by_title["指定避難所一覧"]
    assert by_title["人口統計（合成）"]["status"] == "not_requested"  # a link only: no table
    assert "表に取り込んだファイルがない" in by_title["人口統計（合成）"]["reason"]
    assert by_title["公衆トイレ一覧"]["status"] == "not_requested"  # its file was refused: no table
    shelters = Dataset.objects.get(title="指定避難所一覧")
    req = PublicationRequest.objects.get()
    assert req.pk == by_title["指定避難所一覧"]["request"]
    assert req.dataset_id == shelters.pk
    assert req.licence.code == "cc-by-4.0"  # the licence the list named
    assert req.attribution == "熊本市オープンデータ（防災）"
    table = Table.objects.get(dataset=shelters)
    assert list(RequestVersion.objects.filter(request=req).values_list("version_id", flat=True)) == [
        table.current_version_id
    ]
    run.refresh_from_db()
    assert [o["title"] for o in run.result["publication"]] == [o["title"] for o in outcomes]
    assert run.result["counts"]["create"] == 3  # the import's own outcome is kept
    event = AuditEvent.objects.filter(action="collect.opendata_publication_request").get()
    assert event.changes == {"requested": 1, "asked": 3}
    assert AuditEvent.objects.filter(
        action="publication.request", object_id=str(req.pk)
    ).exists()  # the service's own audit

    # again: the open request is the publication service's refusal, per dataset; nothing new is filed
    again = opendata_request_publication(
        actor=admin, run=run, keys=[by_title["指定避難所一覧"]["key"]], attribution="熊本市"
    )
    assert [o["status"] for o in again] == ["not_requested"]
    assert "決裁中の申請" in again[0]["reason"]
    assert PublicationRequest.objects.count() == 1


def test_the_page_step(actors: Actors, vocab: None, site: Site) -> None:
    run = imported(actors, site)
    target = reverse("collect:opendata_publish", args=[run.pk])
    check_statuses(
        actors,
        lambda c: c.post(target, {"attribution": "熊本市"}),
        {"anonymous": 302, "staff": 404, "owner_viewer": 404, "owner_editor": 404, "other_editor": 404},
    )
    assert not PublicationRequest.objects.exists()
    client = actors.client("admin")
    detail = reverse("collect:opendata_detail", args=[run.pk])
    page = client.get(detail).content.decode()
    assert "まとめて公開申請する" in page
    assert 'name="keys"' in page
    shelters = Dataset.objects.get(title="指定避難所一覧")
    key = next(p["key"] for p in run.result["plans"] if p["title"] == "指定避難所一覧")
    answer = client.post(target, {"keys": [key], "attribution": "熊本市オープンデータ"}, follow=True)
    text = answer.content.decode()
    assert "1件を公開申請しました" in text
    assert "前回の一括公開申請の結果" in text
    assert PublicationRequest.objects.get().dataset_id == shelters.pk
    missing = client.post(target, {"keys": [key]}, follow=True).content.decode()
    assert "出典の表記を入力してください" in missing
