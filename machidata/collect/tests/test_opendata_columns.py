"""Correcting the open-data list's column mapping by hand when the automatic reading misses a column."""

from __future__ import annotations

import pytest
from django.urls import reverse

from machidata.access.policy import actor_for
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Dataset
from machidata.collect.models import OpenDataRun
from machidata.collect.opendata import opendata_preview, opendata_remap, opendata_start
from machidata.collect.tests.test_opendata import SHELTERS, Site, site, vocab
from machidata.core.errors import Conflict, InvalidInput, PermissionDenied
from machidata.core.testing import Actors, check_statuses

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["site", "vocab"]


def odd_list(site: Site) -> bytes:
    """A list whose file column has a name no published list uses (「ダウンロード先」) and a 「担当」 note column."""
    rows = [
        "NO,データ名称,データ概要,分類,掲載ページ,ダウンロード先,ライセンス",
        f"1,指定避難所一覧,避難所の一覧です。,防災・安全,https://www.city.example.lg.jp/hinan.html,"
        f"{site.url('/files/shelters.csv')},CC BY 4.0",
        "2,人口統計（合成）,町丁別の人口です。,人口・世帯,https://www.city.example.lg.jp/jinko.html,,CC BY 4.0",
    ]
    return ("\r\n".join(rows) + "\r\n").encode("utf-8")


def previewed(actors: Actors, site: Site) -> OpenDataRun:
    site.files["/files/shelters.csv"] = SHELTERS.encode()
    admin = actor_for(actors.users["admin"])
    return opendata_preview(
        actor=admin, origin="list", owner=actors.org.fire_div, content=odd_list(site), file_name="list.csv"
    )


def test_a_missed_file_column_is_mapped_by_hand_then_imported(
    actors: Actors, vocab: None, site: Site
) -> None:
    admin = actor_for(actors.users["admin"])
    run = previewed(actors, site)
    assert "ダウンロード先" not in run.preview["mapping"]  # the automatic reading does not know it
    assert run.preview["headers"][5] == "ダウンロード先"
    shelters = next(p for p in run.preview["plans"] if p["title"] == "指定避難所一覧")
    assert shelters["files"] == []

    mapping = dict(run.preview["mapping"]) | {"ダウンロード先": "file_url"}
    with pytest.raises(PermissionDenied):
        opendata_remap(actor=actor_for(actors.users["owner_editor"]), run=run, mapping=mapping)
    with pytest.raises(InvalidInput, match="2つの列"):
        opendata_remap(actor=admin, run=run, mapping=mapping | {"掲載ページ": "file_url"})
    with pytest.raises(InvalidInput, match="データ名称"):
        opendata_remap(actor=admin, run=run, mapping=mapping | {"データ名称": ""})
    with pytest.raises(InvalidInput):
        opendata_remap(actor=admin, run=run, mapping=mapping | {"ない見出し": "note"})
    run = opendata_remap(actor=admin, run=run, mapping=mapping)
    assert run.preview["mapping"]["ダウンロード先"] == "file_url"
    shelters = next(p for p in run.preview["plans"] if p["title"] == "指定避難所一覧")
    assert [f["action"] for f in shelters["files"]] == ["ingest"]
    assert Dataset.objects.count() == 0  # still a preview
    assert AuditEvent.objects.filter(action="collect.opendata_remap").count() == 1

    opendata_start(actor=admin, run=run)
    run.refresh_from_db()
    assert run.result["counts"]["create"] == 2, run.result
    ds = Dataset.objects.get(title="指定避難所一覧")
    assert ds.tables.get().current_version.rows == 3
    with pytest.raises(Conflict):  # once run, the mapping is what was imported
        opendata_remap(actor=admin, run=run, mapping=mapping)


def test_the_page_step(actors: Actors, vocab: None, site: Site) -> None:
    run = previewed(actors, site)
    target = reverse("collect:opendata_columns", args=[run.pk])
    check_statuses(
        actors,
        lambda c: c.post(target, {"map-5": "file_url"}),
        {"anonymous": 302, "staff": 404, "owner_viewer": 404, "owner_editor": 404, "other_editor": 404},
    )
    client = actors.client("admin")
    detail = reverse("collect:opendata_detail", args=[run.pk])
    page = client.get(detail).content.decode()
    assert "列の対応を直す" in page
    assert 'name="map-5"' in page
    form = {
        f"map-{i}": t
        for i, t in enumerate(["no", "title", "description", "category", "page_url", "file_url", "licence"])
    }
    answer = client.post(target, form, follow=True).content.decode()
    assert "一覧を読み直しました" in answer
    run.refresh_from_db()
    assert run.preview["mapping"]["ダウンロード先"] == "file_url"
    refused = client.post(target, form | {"map-1": ""}, follow=True).content.decode()
    assert "データ名称" in refused
    run.refresh_from_db()
    assert run.preview["mapping"]["データ名称"] == "title"  # the refused mapping changed nothing
