"""System datasets: machidata's own records as lake tables, refreshed only when their rows change."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.db import transaction

from machidata.access.models import Classification
from machidata.access.policy import ANONYMOUS, actor_for
from machidata.audit.models import AuditEvent
from machidata.audit.services import audit_record
from machidata.catalog import system_datasets as sd
from machidata.catalog.models import Dataset, Table, TableVersion
from machidata.catalog.table_selectors import version_download
from machidata.catalog.tests.table_fixtures import lake_home, make_table, write
from machidata.core.testing import Actors, make_dataset
from machidata.jobs.runner import PERIODIC
from machidata.lake.readers import files_for

__all__ = ["lake_home"]

pytestmark = pytest.mark.django_db(transaction=True)
TOKYO_OFFSET = dt.timedelta(hours=9)


def _rows(name: str) -> list[dict[str, Any]]:
    """The current version of system table ``name``, read back from the lake files."""
    table = Table.objects.get(dataset__slug=sd.SLUG, name=name)
    assert table.current_version is not None
    data = pa.concat_tables([pq.read_table(f) for f in files_for(table.current_version)])
    return sorted(data.to_pylist(), key=lambda r: r["_id"])


def test_nothing_without_the_data_strategy_division(lake_home: Path) -> None:
    summary = sd.system_datasets_refresh()
    assert summary.skipped
    assert summary.written == {}
    assert not Dataset.objects.filter(slug=sd.SLUG).exists()


@pytest.fixture(autouse=True)
def _catalog_tables_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the catalog's own tables; rooms above register theirs and test them."""
    monkeypatch.setattr(sd, "_REGISTERED", [])


def test_creates_the_entry_and_writes_only_when_rows_change(actors: Actors, lake_home: Path) -> None:
    first = sd.system_datasets_refresh()
    assert first.written == {"catalog": 1, "versions": 1, "downloads": 1, "searches": 1}
    entry = Dataset.objects.get(slug=sd.SLUG)
    assert entry.title == "まちデータの利用状況（システムデータ）"
    assert entry.owner_id == actors.org.data_strategy.pk
    assert entry.classification == Classification.INTERNAL
    assert sorted(entry.tables.values_list("name", flat=True)) == [
        "catalog",
        "downloads",
        "searches",
        "versions",
    ]
    assert AuditEvent.objects.filter(action="dataset.create", object_id=str(entry.pk)).count() == 1

    again = sd.system_datasets_refresh()
    assert again.written == {}
    assert sorted(again.unchanged) == ["catalog", "downloads", "searches", "versions"]
    assert TableVersion.objects.filter(table__dataset=entry).count() == 4

    # A new entry with a version changes the catalog and 版 tables, not the downloads or searches.
    data = make_dataset(actors.org.health_div, title="区別人口")
    write(
        make_table(data), [{"区": "中央区", "人口": 1, "面積": None, "日付": None, "時刻": None, "名前": "a"}]
    )
    third = sd.system_datasets_refresh()
    assert third.written == {"catalog": 2, "versions": 2}  # a new entry with one table and its version
    fourth = sd.system_datasets_refresh()
    assert fourth.written == {}


def test_catalog_rows_follow_what_staff_may_discover(actors: Actors, lake_home: Path) -> None:
    org = actors.org
    restricted = make_dataset(org.health_div, title="健診受診者数", identifier="T-R1")
    make_table(restricted)
    make_dataset(
        org.fire_div, title="秘密の記録", identifier="T-C1", classification=Classification.CONFIDENTIAL
    )
    make_dataset(
        org.fire_div,
        title="救急出動記録",
        identifier="T-C2",
        classification=Classification.CONFIDENTIAL,
        discoverable=True,
    )
    sd.system_datasets_refresh()
    rows = _rows("catalog")
    assert len(rows) == 4  # three entries and the system entry itself
    by_id = {r["識別子"]: r for r in rows}
    r1 = by_id["T-R1"]
    assert (r1["タイトル"], r1["所管課コード"], r1["所管課"]) == (
        "健診受診者数",
        org.health_div.code,
        "健康づくり推進課",
    )
    assert r1["表の数"] == 1
    assert r1["公開区分"] == "所属限定（機密性2）"
    assert r1["廃止"] is False
    created = Dataset.objects.get(identifier="T-R1").created_at
    assert r1["登録日時"] == (created.astimezone(dt.UTC) + TOKYO_OFFSET).replace(tzinfo=None)
    assert by_id["T-C2"]["タイトル"] == "救急出動記録"
    hidden = by_id[None]
    assert hidden["タイトル"] == sd.HIDDEN_TITLE
    assert hidden["URL名"] is None
    assert hidden["所管課"] is None
    assert "秘密の記録" not in str(rows)
    assert by_id[Dataset.objects.get(slug=sd.SLUG).identifier]["表の数"] == 4
    version = Table.objects.get(dataset__slug=sd.SLUG, name="catalog").current_version
    assert version is not None
    schema = pq.read_schema(files_for(version)[0])
    assert schema.field("登録日時").type == pa.timestamp("us")  # naive: Japanese wall-clock time
    assert schema.field("表の数").type == pa.int64()


def test_version_and_download_rows(actors: Actors, lake_home: Path) -> None:
    org = actors.org
    data = make_dataset(org.health_div, title="区別人口", identifier="T-V1", slug="population")
    table = make_table(data)
    rows = [
        {"区": "東区", "人口": i, "面積": None, "日付": None, "時刻": None, "名前": "x"} for i in range(7)
    ]
    write(table, rows, source_name="人口.csv")
    secret = make_dataset(
        org.fire_div,
        title="救急",
        identifier="T-C9",
        classification=Classification.CONFIDENTIAL,
        discoverable=True,
    )
    write(make_table(secret, name="calls"), rows[:3], source_name="救急.csv")
    admin = actor_for(actors.users["admin"])
    version_download(actor=admin, table=table, fmt="csv").file.close()
    with transaction.atomic():  # an anonymous download as the portal would record it
        audit_record(
            actor=ANONYMOUS,
            action="data.download",
            object_repr="x",
            changes={
                "dataset": "population",
                "table": "population",
                "version": 1,
                "format": "json",
                "rows": 7,
            },
        )
    sd.system_datasets_refresh()

    versions = _rows("versions")
    assert [
        (v["データセット識別子"], v["表の名前"], v["版"], v["行数"], v["元ファイル名"]) for v in versions
    ] == [
        ("T-C9", None, 1, 3, None),  # 機密 (discoverable): the entry is named, its table and file are not
        ("T-V1", "population", 1, 7, "人口.csv"),
    ]
    assert versions[1]["方法"] == "置き換え"
    assert versions[1]["サイズ（バイト）"] > 0

    downloads = _rows("downloads")
    assert len(downloads) == 2
    by_user = downloads[0]
    assert by_user["利用者ID"] == actors.users["admin"].pk
    assert by_user["利用者"] is None
    assert (by_user["データセット識別子"], by_user["表の名前"], by_user["版"]) == ("T-V1", "population", 1)
    assert (by_user["形式"], by_user["文字コード"], by_user["行数"]) == ("csv", "utf-8-sig", 7)
    event = AuditEvent.objects.filter(action="data.download").order_by("id").first()
    assert event is not None
    assert by_user["日時"] == (event.created_at.astimezone(dt.UTC) + TOKYO_OFFSET).replace(tzinfo=None)
    assert downloads[1]["利用者ID"] is None
    assert downloads[1]["利用者"] == "anonymous"
    assert downloads[1]["形式"] == "json"


def test_search_rows(actors: Actors, lake_home: Path) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor_for(actors.users["staff"]),
            action="catalog.search",
            changes={
                "q": "人口 町丁別",
                "results": 3,
                "filters": {"category": "population"},
                "department": "警防課",
            },
        )
    sd.system_datasets_refresh()
    [row] = _rows("searches")
    assert row["利用者ID"] == actors.users["staff"].pk
    assert row["検索語"] == "人口 町丁別"
    assert row["件数"] == 3
    assert row["絞り込み"] == '{"category": "population"}'
    assert row["所属"] == "警防課"


def test_wall_clock_crosses_the_fiscal_year_at_tokyo_midnight() -> None:
    # 15:30 UTC on 3/31 is 00:30 on 4/1 in Japan: the next fiscal year.
    assert sd.wall_clock(dt.datetime(2024, 3, 31, 15, 30, tzinfo=dt.UTC)) == dt.datetime(2024, 4, 1, 0, 30)
    assert sd.wall_clock(dt.datetime(2024, 3, 31, 14, 30, tzinfo=dt.UTC)) == dt.datetime(2024, 3, 31, 23, 30)


def test_content_hash_depends_on_rows_only() -> None:
    spec = sd.SystemTable("t", "t", "", (sd.Column("a", pa.int64(), "integer", ""),), lambda own: [])
    one = pa.table({"a": pa.array([1, 2], pa.int64())}, schema=spec.schema)
    chunked = pa.concat_tables([one.slice(0, 1), one.slice(1)])
    assert sd.content_hash(one) == sd.content_hash(chunked)
    assert sd.content_hash(one) != sd.content_hash(one.slice(0, 1))


def test_hourly_schedule(actors: Actors, lake_home: Path) -> None:
    schedule = PERIODIC["machidata.catalog.jobs.system_datasets_refresh"]
    assert schedule.schedule(dt.datetime(2024, 4, 1, 10, 17))
    assert not schedule.schedule(dt.datetime(2024, 4, 1, 10, 18))
    schedule.fn()
    assert Table.objects.filter(dataset__slug=sd.SLUG, current_version__isnull=False).count() == 4


def test_registered_tables_are_refreshed_after_the_catalogs_own(
    actors: Actors, lake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = sd.SystemTable(
        "extra",
        "追加",
        "登録された表",
        (sd.Column("n", pa.int64(), "integer", "数"),),
        lambda own: [(1,), (2,)],
    )
    sd.register_system_table(extra)
    sd.register_system_table(extra)  # registering again replaces, never duplicates
    assert [t.name for t in sd.system_tables()] == ["catalog", "versions", "downloads", "searches", "extra"]
    with pytest.raises(ValueError, match="already"):
        sd.register_system_table(sd.SystemTable("catalog", "x", "x", (), lambda own: []))
    summary = sd.system_datasets_refresh()
    assert summary.written["extra"] == 1
    table = Table.objects.get(dataset__slug=sd.SLUG, name="extra")
    assert table.title == "追加"
