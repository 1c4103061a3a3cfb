"""Table reads over real lake versions: rows, paging, sort, 絞り込み, profiles, downloads, 更新履歴, restore."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from machidata.access.models import Classification
from machidata.access.policy import Actor, actor_for
from machidata.audit.models import AuditEvent
from machidata.catalog import table_selectors as ts
from machidata.catalog.models import TableVersion, VersionStatus
from machidata.catalog.table_services import version_restore
from machidata.catalog.tests.table_fixtures import ROWS, SCHEMA, lake_home, make_rows, make_table, write
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied
from machidata.core.testing import Actors, make_dataset
from machidata.jobs.models import Job, JobStatus

__all__ = ["lake_home"]  # the fixture is used by name

pytestmark = pytest.mark.django_db(transaction=True)


def owner(actors: Actors) -> Actor:
    return actor_for(actors.users["owner_viewer"])


@pytest.fixture
def table(actors: Actors, lake_home: Path) -> Any:
    dataset = make_dataset(actors.org.health_div, title="区別人口")
    t = make_table(dataset)
    write(t, ROWS, user=actors.users["owner_editor"])
    return t


def q(**kw: Any) -> ts.TableQuery:
    return ts.build_query(**kw)


def test_rows_first_page_json_safe_and_ordered_by_id(table: Any, actors: Actors) -> None:
    page = ts.table_rows(actor=owner(actors), table=table, query=q(limit=20))
    assert page.total == len(ROWS)
    assert (page.limit, page.offset, page.truncated) == (20, 0, False)
    assert [r["_id"] for r in page.rows] == list(range(1, 21))
    first = page.rows[0]
    assert first["区"] == "中央区"
    assert first["日付"] == "2024-04-01"
    # naive wall-clock time: 23:30 stays 23:30 (no shift to or from UTC)
    assert first["時刻"] == "2024-03-31T23:30:00"
    assert first["面積"] == 0.25
    assert isinstance(first["面積"], float)
    json.dumps(page.rows)  # everything is JSON-safe
    assert {"name": "人口", "type": "integer"} in page.fields
    assert page.display_rows()[0][page.columns.index("時刻")] == "2024-03-31 23:30"


def test_paging_with_ties_is_stable_and_complete(table: Any, actors: Actors) -> None:
    expected = sorted(range(1, len(ROWS) + 1), key=lambda i: (ROWS[i - 1]["人口"], i))
    seen: list[int] = []
    for offset in range(0, len(ROWS), 7):
        page = ts.table_rows(
            actor=owner(actors), table=table, query=q(sort=ts.parse_sort("人口"), limit=7, offset=offset)
        )
        seen += [r["_id"] for r in page.rows]
    assert seen == expected


def test_sort_descending_with_secondary_key(table: Any, actors: Actors) -> None:
    page = ts.table_rows(actor=owner(actors), table=table, query=q(sort=ts.parse_sort("-人口,区"), limit=25))
    expected = sorted(range(1, len(ROWS) + 1), key=lambda i: (-ROWS[i - 1]["人口"], ROWS[i - 1]["区"], i))
    assert [r["_id"] for r in page.rows] == expected


def test_filters(table: Any, actors: Actors) -> None:
    page = ts.table_rows(
        actor=owner(actors), table=table, query=q(filters=[ts.parse_filter("区:eq:中央区")], limit=100)
    )
    assert page.total == sum(1 for r in ROWS if r["区"] == "中央区")
    assert {r["区"] for r in page.rows} == {"中央区"}
    page = ts.table_rows(
        actor=owner(actors),
        table=table,
        query=q(
            filters=[ts.parse_filter("人口:range:100..200"), ts.parse_filter("区:in:東区,西区")], limit=100
        ),
    )
    want = [i + 1 for i, r in enumerate(ROWS) if 100 <= r["人口"] <= 200 and r["区"] in ("東区", "西区")]
    assert [r["_id"] for r in page.rows] == want
    page = ts.table_rows(
        actor=owner(actors), table=table, query=q(filters=[ts.parse_filter("時刻:lt:2024-04-01T00:00")])
    )
    assert page.total == 1  # only 23:30 on 3/31 is before midnight


def test_engine_errors_become_japanese_invalid_input(table: Any, actors: Actors) -> None:
    with pytest.raises(InvalidInput, match="列「年齢」はこの表にありません"):
        ts.table_rows(actor=owner(actors), table=table, query=q(filters=[ts.parse_filter("年齢:eq:3")]))
    with pytest.raises(InvalidInput, match="整数"):
        ts.table_rows(
            actor=owner(actors), table=table, query=q(filters=[ts.parse_filter("人口:eq:たくさん")])
        )
    with pytest.raises(InvalidInput, match="列:条件:値"):
        ts.parse_filter("人口")
    with pytest.raises(InvalidInput, match="使えません"):
        ts.parse_filter("人口:like:3")


def test_row_cap_from_settings(table: Any, actors: Actors, settings: Any) -> None:
    settings.MACHIDATA_ENGINE_MAX_ROWS = 10
    page = ts.table_rows(actor=owner(actors), table=table, query=q(limit=20))
    assert len(page.rows) == 10
    assert page.limit == 10
    assert page.truncated is True


def test_reading_needs_read_permission(table: Any, actors: Actors) -> None:
    staff = actor_for(actors.users["staff"])
    with pytest.raises(PermissionDenied, match="利用申請"):
        ts.table_rows(actor=staff, table=table)
    with pytest.raises(PermissionDenied):
        ts.version_download(actor=staff, table=table, fmt="csv")
    table.dataset.classification = Classification.CONFIDENTIAL
    table.dataset.save()
    with pytest.raises(NotFound):
        ts.table_get(actor=staff, slug=table.dataset.slug, name=table.name)
    with pytest.raises(NotFound):
        ts.table_get(actor=owner(actors), slug=table.dataset.slug, name="missing")


def test_profile_is_computed_once_per_version(
    table: Any, actors: Actors, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real = ts.profile_columns

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(ts, "profile_columns", counting)
    first = ts.table_profile(actor=owner(actors), table=table)
    second = ts.table_profile(actor=owner(actors), table=table)
    assert len(calls) == 1
    assert first == second
    by_name = {p["name"]: p for p in first}
    assert "_id" not in by_name
    assert by_name["人口"]["distinct"] == len({r["人口"] for r in ROWS})
    assert by_name["人口"]["nulls"] == 0
    assert by_name["人口"]["min"] == 0
    assert by_name["人口"]["max"] == 300
    assert by_name["時刻"]["min"] == "2024-03-31T23:30:00"
    assert sum(b["count"] for b in by_name["人口"]["histogram"]) == len(ROWS)
    shown = ts.profile_for_display(first)
    assert {p["name"]: p for p in shown}["時刻"]["min_text"] == "2024-03-31 23:30"
    # a new version gets its own profile
    write(table, make_rows(5))
    ts.table_profile(actor=owner(actors), table=table)
    assert len(calls) == 2


def _download(table: Any, actor: Actor, **kw: Any) -> tuple[bytes, ts.Download]:
    result = ts.version_download(actor=actor, table=table, **kw)
    try:
        return result.file.read(), result
    finally:
        result.file.close()


def test_csv_utf8_with_bom_is_the_default(table: Any, actors: Actors) -> None:
    body, result = _download(table, owner(actors), fmt="csv")
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    records = list(csv.DictReader(io.StringIO(text)))
    assert len(records) == len(ROWS) == result.rows
    assert records[1]["名前"] == "𠮷野家"
    assert records[0]["時刻"].startswith("2024-03-31")
    assert "23:30" in records[0]["時刻"]
    assert result.filename.endswith("_v1.csv")
    assert "utf-8" in result.content_type


def test_csv_cp932_replaces_missing_characters(table: Any, actors: Actors) -> None:
    body, result = _download(table, owner(actors), fmt="csv", encoding="cp932")
    text = body.decode("cp932")  # would raise if the bytes were not CP932
    records = list(csv.DictReader(io.StringIO(text)))
    assert records[1]["名前"] == "〓野家"
    assert records[0]["区"] == "中央区"
    assert "Shift_JIS" in result.content_type
    event = AuditEvent.objects.filter(action="data.download").latest("id")
    assert event.changes["replaced_characters"] == 1
    assert event.changes["encoding"] == "cp932"


def test_xlsx_opens_and_splits_with_a_note(
    table: Any, actors: Actors, monkeypatch: pytest.MonkeyPatch
) -> None:
    body, _ = _download(table, owner(actors), fmt="xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    data = list(wb["データ"].iter_rows(values_only=True))
    assert data[0][0] == "_id"
    assert "区" in data[0]
    assert len(data) == len(ROWS) + 1
    assert "注記" in wb.sheetnames  # the 出典 note
    # Excel's row limit, scaled down: 25 rows at 10 rows per sheet (9 data rows + header) → 3 sheets
    from machidata.engine import exports

    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 10)
    body, _result = _download(table, owner(actors), fmt="xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    sheets = [s for s in wb.sheetnames if s.startswith("データ")]
    assert len(sheets) == 3
    assert sum(len(list(wb[s].iter_rows(values_only=True))) - 1 for s in sheets) == len(ROWS)
    note = " ".join(str(r[0]) for r in wb["注記"].iter_rows(values_only=True))
    assert "3枚のシート" in note


def test_json_parquet_and_audit(table: Any, actors: Actors) -> None:
    before = AuditEvent.objects.filter(action="data.download").count()
    body, _ = _download(table, owner(actors), fmt="json")
    records = json.loads(body)
    assert records[0]["時刻"] == "2024-03-31T23:30:00"
    assert records[0]["面積"] == 0.25
    body, _ = _download(table, owner(actors), fmt="parquet")
    read = pq.read_table(io.BytesIO(body))
    assert read.num_rows == len(ROWS)
    assert read.schema.field("人口").type == pa.int64()
    events = list(AuditEvent.objects.filter(action="data.download").order_by("id"))[before:]
    assert [e.changes["format"] for e in events] == ["json", "parquet"]
    assert events[0].changes == {
        "dataset": table.dataset.slug,
        "table": "population",
        "version": 1,
        "format": "json",
        "encoding": "",
        "rows": len(ROWS),
        "replaced_characters": 0,
    }
    assert events[0].actor_id == actors.users["owner_viewer"].pk


def test_geojson_only_with_a_geometry_column(table: Any, actors: Actors) -> None:
    with pytest.raises(InvalidInput, match="GeoJSON"):
        ts.version_download(actor=owner(actors), table=table, fmt="geojson")
    schema = pa.schema([("名称", pa.string()), ("geometry", pa.string())])
    places = make_table(table.dataset, name="places", title="避難所", schema={})
    rows = [
        {"名称": "熊本城", "geometry": json.dumps({"type": "Point", "coordinates": [130.7058, 32.8062]})},
        {"名称": "不明", "geometry": None},
    ]
    write(places, rows, schema=schema)
    body, result = _download(places, owner(actors), fmt="geojson")
    doc = json.loads(body)
    assert doc["type"] == "FeatureCollection"
    assert doc["features"][0]["geometry"] == {"type": "Point", "coordinates": [130.7058, 32.8062]}
    assert doc["features"][0]["properties"] == {"名称": "熊本城"}
    assert doc["features"][1]["geometry"] is None
    assert result.rows == 2


def test_bad_format_and_encoding(table: Any, actors: Actors) -> None:
    with pytest.raises(InvalidInput, match="形式"):
        ts.version_download(actor=owner(actors), table=table, fmt="pdf")
    with pytest.raises(InvalidInput, match="文字コード"):
        ts.version_download(actor=owner(actors), table=table, fmt="csv", encoding="euc-jp")


def test_version_list_shows_abandoned_as_interrupted(table: Any, actors: Actors) -> None:
    TableVersion.objects.create(table=table, number=2, status=VersionStatus.ABANDONED, job_id="x")
    write(table, make_rows(3), source_name="人口_改訂.csv")
    rows = ts.version_list(actor=owner(actors), table=table)
    assert [(r.number, r.status_label, r.is_current) for r in rows] == [
        (3, "確定", True),
        (2, "中断", False),
        (1, "確定", False),
    ]
    assert rows[0].source_name == "人口_改訂.csv"
    assert rows[2].created_by == actors.users["owner_editor"].get_username()
    with pytest.raises(NotFound):
        ts.version_get(actor=owner(actors), table=table, number=2)


def test_earlier_versions_stay_readable(table: Any, actors: Actors) -> None:
    write(table, make_rows(3))
    old = ts.version_get(actor=owner(actors), table=table, number=1)
    assert ts.table_rows(actor=owner(actors), table=table, version=old).total == len(ROWS)
    assert ts.table_rows(actor=owner(actors), table=table).total == 3


def test_restore_makes_a_new_version_equal_to_the_old_one(table: Any, actors: Actors) -> None:
    write(table, make_rows(3))
    editor = actor_for(actors.users["owner_editor"])
    old = ts.version_get(actor=editor, table=table, number=1)
    job = version_restore(actor=editor, table=table, version=old, note="誤って上書きしたため")
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["version"] == 3
    table.refresh_from_db()
    new = table.current_version
    assert (new.number, new.mode, new.restored_from_id, new.note) == (
        3,
        "restore",
        old.pk,
        "誤って上書きしたため",
    )
    everything = q(limit=1000)
    assert (
        ts.table_rows(actor=editor, table=table, version=new, query=everything).rows
        == ts.table_rows(actor=editor, table=table, version=old, query=everything).rows
    )
    actions = list(
        AuditEvent.objects.filter(action__startswith="table.version_restore")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["table.version_restore_requested", "table.version_restore"]


def test_restore_needs_edit(table: Any, actors: Actors) -> None:
    viewer = owner(actors)
    old = ts.version_get(actor=viewer, table=table, number=1)
    with pytest.raises(PermissionDenied):
        version_restore(actor=viewer, table=table, version=old)
    assert not Job.objects.exists()


def test_tables_for_lists_with_current_version(table: Any, actors: Actors) -> None:
    empty = make_table(table.dataset, name="empty", title="空の表")
    listed = ts.tables_for(actor=owner(actors), dataset=table.dataset)
    assert [t.name for t in listed] == ["empty", "population"]
    assert listed[1].current_version.rows == len(ROWS)
    assert empty.current_version is None
    assert SCHEMA.names[0] == "区"


def test_a_profile_being_computed_elsewhere_is_waited_for_not_computed_again(
    table: Any, actors: Actors, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another request holds the version's lock: this one waits for its result, then says so plainly."""
    from django.core.cache import cache

    calls = []
    monkeypatch.setattr(ts, "profile_columns", lambda *a, **k: calls.append(1) or {})
    monkeypatch.setattr(ts, "PROFILE_WAIT_SECONDS", 0.5)
    version = table.current_version
    key = ts._profile_key(version)
    assert cache.add(f"{key}:computing", 1, 60)  # the other request
    with pytest.raises(InvalidInput, match="計算しています"):
        ts.table_profile(actor=owner(actors), table=table)
    assert calls == []
    cache.set(key, [{"name": "人口", "from": "elsewhere"}], 60)  # the other request finishes
    assert ts.table_profile(actor=owner(actors), table=table) == [{"name": "人口", "from": "elsewhere"}]
    cache.delete(key)
    cache.delete(f"{key}:computing")
    ts.table_profile(actor=owner(actors), table=table)  # free again: computed here, the lock released
    assert calls == [1]
    assert cache.get(f"{key}:computing") is None
