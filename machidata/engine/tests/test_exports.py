"""Streaming exports: CSV encodings (BOM, CP932 with replacement), JSON, Parquet, XLSX split into sheets."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from machidata.engine import EngineQueryError, TableQuery, export
from machidata.engine import exports as export_module
from machidata.engine.tests.conftest import ROWS, SCHEMA, write_rows

BY_ID = TableQuery.from_dict({"sort": [["id", "asc"]]})


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_csv_utf8_with_bom_by_default(files: list[str], tmp_path: Path) -> None:
    dest = tmp_path / "out.csv"
    result = export(files, BY_ID, "csv", dest)
    data = dest.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = _csv_rows(data.decode("utf-8-sig"))
    assert rows[0] == SCHEMA.names
    assert [r[0] for r in rows[1:]] == [str(r["id"]) for r in ROWS]
    assert rows[1][1] == "ＡＢＣ商店"
    assert rows[1][6] == "2024-03-31 23:30:00"  # wall-clock, whole seconds, no zone shift
    assert rows[2][3] == ""  # null amount
    assert rows[9][1] == "𠮷野家"
    assert result.rows == 10
    assert result.replaced_characters == 0


def test_csv_cp932_replaces_what_it_cannot_encode(tmp_path: Path) -> None:
    rows = [
        {**ROWS[0], "id": 1, "name": "𠮷野家🍜"},
        {**ROWS[0], "id": 2, "name": "髙﨑①ｶﾅ"},
        {**ROWS[0], "id": 3, "name": "A—B"},
    ]
    path = write_rows(tmp_path / "t.parquet", rows)
    buf = io.BytesIO()
    result = export(
        [path],
        TableQuery.from_dict({"fields": ["id", "name"], "sort": [["id", "asc"]]}),
        "csv",
        buf,
        encoding="cp932",
    )
    text = buf.getvalue().decode("cp932")  # must decode cleanly
    assert not buf.getvalue().startswith(b"\xef\xbb\xbf")
    assert _csv_rows(text) == [["id", "name"], ["1", "〓野家〓"], ["2", "髙﨑①ｶﾅ"], ["3", "A―B"]]
    assert result.replaced_characters == 2


def test_csv_plain_utf8_and_header_only_when_empty(files: list[str]) -> None:
    buf = io.BytesIO()
    q = TableQuery.from_dict(
        {"fields": ["id", "ward"], "filters": [{"column": "id", "op": "gt", "value": 100}]}
    )
    result = export(files, q, "csv", buf, encoding="utf-8")
    assert buf.getvalue() == b'"id","ward"\n'
    assert result.rows == 0


def test_csv_streams_many_batches_with_one_header(files: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export_module, "BATCH_ROWS", 3)
    buf = io.BytesIO()
    export(files, BY_ID, "csv", buf, encoding="utf-8")
    rows = _csv_rows(buf.getvalue().decode("utf-8"))
    assert rows.count(SCHEMA.names) == 1
    assert len(rows) == 11


def test_json_array_of_records(files: list[str]) -> None:
    buf = io.BytesIO()
    q = TableQuery.from_dict(
        {"fields": ["id", "name", "amount", "day", "at", "flag"], "sort": [["id", "asc"]], "limit": 2}
    )
    result = export(files, q, "json", buf)
    assert json.loads(buf.getvalue().decode("utf-8")) == [
        {
            "id": 1,
            "name": "ＡＢＣ商店",
            "amount": 1200.5,
            "day": "2024-03-31",
            "at": "2024-03-31T23:30:00",
            "flag": True,
        },
        {
            "id": 2,
            "name": "abc食堂",
            "amount": None,
            "day": "2024-04-01",
            "at": "2024-04-01T00:30:00",
            "flag": False,
        },
    ]
    assert result.rows == 2
    empty = io.BytesIO()
    export(
        files, TableQuery.from_dict({"filters": [{"column": "id", "op": "lt", "value": 0}]}), "json", empty
    )
    assert json.loads(empty.getvalue()) == []


def test_json_non_finite_numbers_become_null(tmp_path: Path) -> None:
    path = str(tmp_path / "nan.parquet")
    pq.write_table(pa.table({"x": [1.0, float("nan"), float("inf")]}), path)
    buf = io.BytesIO()
    export([path], TableQuery(), "json", buf)
    assert json.loads(buf.getvalue()) == [{"x": 1.0}, {"x": None}, {"x": None}]


def test_parquet_round_trip(files: list[str], tmp_path: Path) -> None:
    dest = tmp_path / "out.parquet"
    q = TableQuery.from_dict(
        {"filters": [{"column": "ward", "op": "eq", "value": "中央区"}], "sort": [["id", "desc"]]}
    )
    result = export(files, q, "parquet", dest)
    table = pq.read_table(dest)
    expected = sorted((r for r in ROWS if r["ward"] == "中央区"), key=lambda r: -r["id"])
    assert table.to_pylist() == expected
    assert result.rows == len(expected)


def test_xlsx_splits_into_sheets_with_a_note(
    files: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_module, "XLSX_MAX_ROWS", 4)  # 3 data rows + header per sheet
    dest = tmp_path / "out.xlsx"
    result = export(files, BY_ID, "xlsx", dest, note="出典：テスト課")
    assert result.sheets == 4
    wb = openpyxl.load_workbook(dest, read_only=True)
    assert wb.sheetnames == ["データ", "データ(2)", "データ(3)", "データ(4)", "注記"]
    ids: list[int] = []
    for name in wb.sheetnames[:4]:
        sheet_rows = list(wb[name].iter_rows(values_only=True))
        assert list(sheet_rows[0]) == SCHEMA.names
        assert len(sheet_rows) <= 4
        ids += [r[0] for r in sheet_rows[1:]]
    assert ids == [r["id"] for r in ROWS]
    first = list(wb["データ"].iter_rows(values_only=True))[1]
    assert first[6] == dt.datetime(2024, 3, 31, 23, 30)
    note = [r[0] for r in wb["注記"].iter_rows(values_only=True)]
    assert any("4枚のシート" in (n or "") for n in note)
    assert "出典：テスト課" in note


def test_xlsx_single_sheet_without_note(files: list[str]) -> None:
    buf = io.BytesIO()
    result = export(files, TableQuery.from_dict({"fields": ["id", "name"]}), "xlsx", buf)
    wb = openpyxl.load_workbook(io.BytesIO(buf.getvalue()), read_only=True)
    assert wb.sheetnames == ["データ"]
    assert result.sheets == 1
    assert len(list(wb["データ"].iter_rows())) == 11


def test_xlsx_strips_control_characters(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "c.parquet", [{**ROWS[0], "name": "改\x01行\x0bなし"}])
    buf = io.BytesIO()
    export([path], TableQuery.from_dict({"fields": ["name"]}), "xlsx", buf)
    wb = openpyxl.load_workbook(io.BytesIO(buf.getvalue()), read_only=True)
    assert list(wb["データ"].iter_rows(values_only=True))[1] == ("改行なし",)


def test_max_rows_caps_and_reports_truncation(files: list[str]) -> None:
    buf = io.BytesIO()
    result = export(files, BY_ID, "csv", buf, encoding="utf-8", max_rows=4)
    assert result.rows == 4
    assert result.truncated
    assert len(_csv_rows(buf.getvalue().decode())) == 5
    exact = export(files, BY_ID, "json", io.BytesIO(), max_rows=10)
    assert exact.rows == 10
    assert not exact.truncated


def test_unknown_format_and_encoding(files: list[str]) -> None:
    with pytest.raises(EngineQueryError, match="形式「pdf」では書き出せません"):
        export(files, BY_ID, "pdf", io.BytesIO())  # type: ignore[arg-type]
    with pytest.raises(EngineQueryError, match="文字コード「euc-jp」では書き出せません"):
        export(files, BY_ID, "csv", io.BytesIO(), encoding="euc-jp")  # type: ignore[arg-type]
