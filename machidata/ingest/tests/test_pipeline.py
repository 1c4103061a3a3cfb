"""The whole ingest: real Japanese files through the CLI and the web pages into versioned tables."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from machidata.audit.models import AuditEvent
from machidata.catalog.models import Dataset, Table, TableVersion, VersionStatus
from machidata.core.testing import make_dataset

pytestmark = pytest.mark.django_db(transaction=True)

REAL = Path(__file__).resolve().parents[4] / "shared" / "data" / "real"
needs_shared = pytest.mark.skipif(not REAL.exists(), reason="../shared is not beside the repository")


@pytest.fixture(autouse=True)
def _home(settings, tmp_path):
    settings.MACHIDATA_HOME = tmp_path


def _ingest(*args: str) -> dict:
    out = io.StringIO()
    call_command("ingest", *args, "--quiet", stdout=out)
    return json.loads(out.getvalue())


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@needs_shared
def test_cli_ingests_real_pharmacy_list_creating_the_entry(actors):
    summary = _ingest(
        str(REAL / "431001_kumamoto_yakkyoku_list.xlsx"),
        "--dataset", "yakkyoku", "--department", actors.org.health_div.code,
    )  # fmt: skip
    assert summary["dataset"] == "yakkyoku"
    assert summary["version"] == 1
    assert summary["rows"] == 400
    names = [c["name"] for c in summary["columns"]]
    assert "業務種別" in names
    dataset = Dataset.objects.get(slug="yakkyoku")
    assert dataset.owner == actors.org.health_div
    assert dataset.classification == "restricted"
    assert AuditEvent.objects.filter(action="data.ingest").count() == 1


@needs_shared
def test_cli_ingests_cp932_csv_with_multiline_cells(actors):
    summary = _ingest(
        str(REAL / "350001_yamaguchi_tourism.csv"),
        "--dataset",
        "tourism",
        "--department",
        actors.org.health_div.code,
    )
    assert summary["rows"] == 792
    assert len(summary["columns"]) >= 30


def test_replace_then_append_keeps_every_version(actors, tmp_path):
    d = make_dataset(actors.org.health_div, slug="pop")
    first = _write(tmp_path, "pop.csv", "区,人口\n中央区,186000\n東区,191000\n", "cp932")
    more = _write(tmp_path, "more.csv", "区,人口\n西区,93000\n", "cp932")
    s1 = _ingest(str(first), "--dataset", d.slug, "--table", "pop")
    s2 = _ingest(str(more), "--dataset", d.slug, "--table", "pop", "--mode", "append")
    assert (s1["version"], s1["rows"]) == (1, 2)
    assert (s2["version"], s2["rows"]) == (2, 3)
    table = Table.objects.get(dataset=d, name="pop")
    assert table.current_version.number == 2


def test_append_with_other_columns_is_refused_and_nothing_changes(actors, tmp_path):
    d = make_dataset(actors.org.health_div, slug="pop2")
    _ingest(str(_write(tmp_path, "a.csv", "区,人口\n中央区,1\n")), "--dataset", d.slug, "--table", "t")
    bad = _write(tmp_path, "b.csv", "区,世帯数\n東区,2\n")
    with pytest.raises(CommandError):
        _ingest(str(bad), "--dataset", d.slug, "--table", "t", "--mode", "append")
    table = Table.objects.get(dataset=d, name="t")
    assert table.current_version.number == 1
    assert table.current_version.rows == 1


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.csv", b""),
        ("binary.csv", b"\x00\x01\x02\x03PK\x00\x00" * 100),
    ],
)
def test_bad_files_get_a_japanese_error_and_commit_nothing(actors, tmp_path, name, content):
    d = make_dataset(actors.org.health_div, slug="bad")
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CommandError) as exc:
        _ingest(str(path), "--dataset", d.slug, "--table", "t")
    assert any("\u3040" <= ch <= "\u30ff" for ch in str(exc.value))
    assert not TableVersion.objects.filter(status=VersionStatus.COMMITTED).exists()


def test_mynumber_column_is_rejected(actors, tmp_path):
    from machidata.jp.mynumber import mynumber_check_digit

    numbers = []
    for i in range(40):
        body = f"{100000000 + i * 7919:011d}"
        numbers.append(body + str(mynumber_check_digit(body)))
    text = "氏名コード,番号\n" + "\n".join(f"A{i},{n}" for i, n in enumerate(numbers)) + "\n"
    d = make_dataset(actors.org.health_div, slug="mn")
    with pytest.raises(CommandError, match=r"個人番号|マイナンバー"):
        _ingest(str(_write(tmp_path, "mn.csv", text)), "--dataset", d.slug, "--table", "t")
    assert not TableVersion.objects.filter(status=VersionStatus.COMMITTED).exists()


def test_mynumber_column_is_named_before_an_append_with_other_columns(actors, tmp_path):
    """The schema is now settled before the screen runs; a マイナンバー column still comes first."""
    from machidata.jp.mynumber import mynumber_check_digit

    d = make_dataset(actors.org.health_div, slug="mn-append")
    _ingest(
        str(_write(tmp_path, "a.csv", "区,件数\n中央区,1\n東区,2\n")), "--dataset", d.slug, "--table", "t"
    )
    numbers = []
    for i in range(40):
        body = f"{100000000 + i * 7919:011d}"
        numbers.append(body + str(mynumber_check_digit(body)))
    text = "氏名コード,番号\n" + "\n".join(f"A{i},{n}" for i, n in enumerate(numbers)) + "\n"
    with pytest.raises(CommandError, match=r"個人番号|マイナンバー"):
        _ingest(
            str(_write(tmp_path, "mn.csv", text)), "--dataset", d.slug, "--table", "t", "--mode", "append"
        )
    assert TableVersion.objects.filter(status=VersionStatus.COMMITTED).count() == 1


def test_web_upload_preview_and_job(actors, tmp_path):
    d = make_dataset(actors.org.health_div, slug="web")
    client = actors.client("owner_editor")
    csv_bytes = "区,件数,日付\n中央区,１，２３４,令和6年4月1日\n東区,▲5,R6.4.2\n".encode("cp932")
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("kyukyu.csv", csv_bytes, content_type="text/csv")
    response = client.post(
        reverse("catalog:ingest_upload", args=[d.slug]), {"file": upload, "table": "", "mode": "replace"}
    )
    assert response.status_code == 302
    preview = client.get(reverse("catalog:ingest_preview", args=[d.slug]))
    assert preview.status_code == 200
    html = preview.content.decode()
    assert "中央区" in html
    started = client.post(reverse("catalog:ingest_preview", args=[d.slug]), {"start": "1"})
    assert started.status_code == 302
    version = TableVersion.objects.get(table__dataset=d, status=VersionStatus.COMMITTED)
    assert version.rows == 2


def test_ingest_pages_are_for_editors_only(actors):
    from machidata.core.testing import check_statuses

    d = make_dataset(actors.org.health_div, slug="perm", classification="internal")
    url = reverse("catalog:ingest_upload", args=[d.slug])
    check_statuses(
        actors,
        lambda c: c.get(url),
        {
            "anonymous": 302,
            "staff": 404,
            "owner_viewer": 404,
            "owner_editor": 200,
            "other_editor": 404,
            "admin": 200,
        },
    )


def test_raw_text_is_kept_but_not_shown_by_default(actors, tmp_path):
    from machidata.access.policy import actor_for
    from machidata.catalog.table_selectors import build_query, table_fields, table_rows

    d = make_dataset(actors.org.health_div, slug="raw")
    path = _write(tmp_path, "n.csv", "区,件数\n中央区,１，２３４\n東区,▲5\n", "cp932")
    _ingest(str(path), "--dataset", d.slug, "--table", "t")
    table = Table.objects.get(dataset=d, name="t")
    assert [f.name for f in table_fields(table)] == ["区", "件数"]
    page = table_rows(actor=actor_for(actors.users["owner_viewer"]), table=table)
    assert page.columns == ["_id", "区", "件数"]
    assert [r["件数"] for r in page.rows] == [1234, -5]
    raw = table_rows(
        actor=actor_for(actors.users["owner_viewer"]),
        table=table,
        query=build_query(fields=("件数", "件数__raw")),
    )
    assert [r["件数__raw"] for r in raw.rows] == ["１，２３４", "▲5"]


def test_parquet_keeps_its_types_and_adds_no_raw_columns(actors, tmp_path):
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "typed.parquet"
    pq.write_table(
        pa.table({"区": ["中央区", "東区"], "件数": [3, 4], "日時": [dt.datetime(2024, 3, 31, 23, 30)] * 2}),
        path,
    )
    d = make_dataset(actors.org.health_div, slug="pq")
    summary = _ingest(str(path), "--dataset", d.slug, "--table", "t")
    assert summary["raw_columns"] == []
    assert {c["name"] for c in summary["columns"]} == {"_id", "区", "件数", "日時"}


def test_combined_sheet_names_stay_text(actors, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "４月"
    wb.active.append(["店名", "件数"])
    wb.active.append(["A店", 1])
    ws = wb.create_sheet("5月")
    ws.append(["店名", "件数"])
    ws.append(["B店", 2])
    path = tmp_path / "months.xlsx"
    wb.save(path)
    d = make_dataset(actors.org.health_div, slug="months")
    summary = _ingest(str(path), "--dataset", d.slug, "--table", "t", "--sheet", "４月", "--sheet", "5月")
    types = {c["name"]: c["type"] for c in summary["columns"]}
    assert types["シート名"] == "string"
    assert summary["rows"] == 2


def test_web_import_over_the_per_user_limit_is_refused_on_the_preview_page(actors, tmp_path, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from machidata.jobs.models import Job

    settings.MACHIDATA_INGEST_PER_USER = 0
    d = make_dataset(actors.org.health_div, slug="limit")
    client = actors.client("owner_editor")
    upload = SimpleUploadedFile("k.csv", "区,件数\n中央区,3\n".encode(), content_type="text/csv")
    client.post(
        reverse("catalog:ingest_upload", args=[d.slug]), {"file": upload, "table": "", "mode": "replace"}
    )
    started = client.post(reverse("catalog:ingest_preview", args=[d.slug]), {"start": "1"}, follow=True)
    assert "同時に進められるのは 0 件まで" in started.content.decode()
    assert not Job.objects.filter(kind="ingest.file").exists()
    assert not TableVersion.objects.filter(table__dataset=d).exists()
    settings.MACHIDATA_INGEST_PER_USER = 3
    again = client.post(reverse("catalog:ingest_preview", args=[d.slug]), {"start": "1"})
    assert again.status_code == 302
    assert TableVersion.objects.get(table__dataset=d, status=VersionStatus.COMMITTED).rows == 1


def test_an_import_behind_another_waits_for_it(actors, tmp_path, settings):
    """Two imports of one table at once: the second waits for the lease (MACHIDATA_LEASE_WAIT_SECONDS)."""
    from machidata.lake.lease import acquire_lease

    d = make_dataset(actors.org.health_div, slug="wait")
    first = _write(tmp_path, "a.csv", "区,人口\n中央区,186000\n")
    assert _ingest(str(first), "--dataset", d.slug, "--table", "pop")["version"] == 1
    table = Table.objects.get(dataset=d, name="pop")
    acquire_lease(table, "otherhost:7:ingest-other", 2)  # another import is writing for 2 more seconds
    settings.MACHIDATA_LEASE_WAIT_SECONDS = 30
    more = _write(tmp_path, "b.csv", "区,人口\n東区,191000\n")
    summary = _ingest(str(more), "--dataset", d.slug, "--table", "pop", "--mode", "append")
    assert (summary["version"], summary["rows"]) == (2, 2)
    assert Table.objects.get(pk=table.pk).lease_holder == ""  # released after its commit


def test_large_cp932_file_through_the_decoding_helper_commits_what_the_in_process_decoder_does(
    actors, tmp_path, monkeypatch
):
    from machidata.ingest.readers import csv as csv_reader

    d = make_dataset(actors.org.health_div, slug="gaiji")
    rows = [f"熊本{i},{i},令和6年4月{i % 28 + 1}日\r\n".encode("cp932") for i in range(3000)]
    rows[5] = rows[5].replace("熊本".encode("cp932"), "熊".encode("cp932") + b"\xf0\x40")  # 外字 in a name
    data = "氏名,件数,受付日\r\n".encode("cp932") + b"".join(rows)
    path = tmp_path / "gaiji.csv"
    path.write_bytes(data)
    reports = []
    for limit, name in ((1 << 62, "inproc"), (0, "helper")):
        monkeypatch.setattr(csv_reader, "PROCESS_DECODE_BYTES", limit)
        monkeypatch.setattr(csv_reader, "has_fast_path", lambda codec, limit=limit: bool(limit))
        summary = _ingest(str(path), "--dataset", d.slug, "--table", name)
        assert summary["rows"] == 3000
        version = TableVersion.objects.get(table__dataset=d, table__name=name, number=1)
        reports.append(version.reports["detection"])
    assert reports[0]["replaced_characters"]["count"] == 1
    assert reports[1] == reports[0]
