"""Excel reader: the real Kumamoto workbooks and generated workbooks for every messy and bad case."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pyarrow as pa
import pytest

from machidata.core.errors import InvalidInput
from machidata.ingest.readers import ReadOptions, peek, read_source
from machidata.ingest.readers.excel import cell_text

REAL = Path(__file__).resolve().parents[4] / "shared" / "data" / "real"
SHINKI = "431001_kumamoto_shinki_inshokuten_eigyo_kyoka.xlsx"
MONTHS = ["４月", "５月", "6月", "7月", "8月", "9月", "10月", "11月", "12月", "1月", "2月"]


def _real(name: str) -> Path:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"real test file missing: {path}")
    return path


def _table(path: Path, options: ReadOptions | None = None) -> tuple[pa.Table, dict]:
    source = read_source(path, options)
    table = pa.Table.from_batches(list(source.batches), schema=source.schema)
    assert all(f.type == pa.string() for f in table.schema)
    return table, source.detection


def test_byouin_very_wide_table():
    table, det = _table(_real("431001_kumamoto_byouin_list.xlsx"))
    assert det["format"] == "xlsx"
    assert det["sheets"] == ["公開データ"]
    assert (table.num_rows, table.num_columns) == (90, 118)
    assert table.column("所在地")[0].as_py() == "熊本市中央区新屋敷1丁目17番1号 "  # trailing space kept
    assert det["cell_types"]["精神病床数"]["number"] > 0


def test_yakkyoku_65535_rows_claimed_401_real():
    table, det = _table(_real("431001_kumamoto_yakkyoku_list.xlsx"))
    assert (table.num_rows, table.num_columns) == (400, 6)
    assert det["sheets"] == ["熊本市内薬局一覧（R7.4.1時点）"]
    assert table.column("許可番号")[0].as_py() == "351"  # a number cell without ".0"
    assert table.column("有効期間")[0].as_py() == "令和6年1月1日～令和11年12月31日"


def test_shinki_first_sheet_by_default_and_sheet_list():
    table, det = _table(_real(SHINKI))
    assert det["sheet_names"] == MONTHS
    assert det["sheets"] == ["４月"]
    assert det["combinable_sheets"] == MONTHS
    assert (table.num_rows, table.num_columns) == (45, 14)
    assert table.column("申請日")[0].as_py() == "2024-03-27"  # a real date cell, as ISO text
    assert det["cell_types"]["申請日"] == {"date": 45, "number": 0, "text": 0, "boolean": 0}


def test_shinki_eleven_monthly_sheets_combined():
    table, det = _table(_real(SHINKI), ReadOptions(sheets=MONTHS))
    # SOURCE.md lists 46/41/176/50/39/120/44/49/171/29/39 rows per sheet including each header: that sums
    # to 804, so 804 - 11 headers = 793 data rows (its "= 793 incl. headers" is an addition slip; the
    # last № of each sheet, 45 + 40 + ... + 38, also gives 793).
    assert table.num_rows == 793
    assert table.column_names[0] == "シート名"
    assert table.num_columns == 15
    per_sheet = table.column("シート名").value_counts().to_pylist()
    assert {d["values"]: d["counts"] for d in per_sheet}["6月"] == 175
    assert det["rows_per_sheet"]["2月"] == 38


def test_sheets_of_different_shape_refused(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    a = wb.active
    a.title = "A"
    a.append(["名前", "人数"])
    a.append(["x", 1])
    b = wb.create_sheet("B")
    b.append(["名前", "世帯数"])
    b.append(["y", 2])
    path = tmp_path / "two.xlsx"
    wb.save(path)
    with pytest.raises(
        InvalidInput, match=r"シート「B」の列がシート「A」と違う.*ない列: 人数.*余分な列: 世帯数"
    ):
        read_source(path, ReadOptions(sheets=["A", "B"]))
    with pytest.raises(InvalidInput, match="シート「C」はありません"):
        read_source(path, ReadOptions(sheets=["C"]))


def _messy(path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "集計"
    ws["B2"] = "令和5年度 区別救急出動件数"
    ws["B3"] = "（単位：件）"
    ws["B5"] = "区"
    ws.merge_cells("B5:B6")
    ws["C5"] = "出動件数"
    ws.merge_cells("C5:D5")
    ws["C6"] = "急病"
    ws["D6"] = "交通\n事故"
    ws["E5"] = "基準日"
    ws.merge_cells("E5:E6")
    rows = [
        ("中央区", 5123, 310.5, dt.date(2024, 3, 31)),
        ("東区", 4210, 280, dt.datetime(2024, 4, 1, 0, 30)),
        ("合計", 9333, 590.5, None),
    ]
    for i, row in enumerate(rows, start=7):
        for j, v in enumerate(row):
            ws.cell(row=i, column=2 + j, value=v)
    ws["B11"] = "資料：消防局警防課"
    wb.save(path)


def test_title_merged_header_totals_notes_and_values(tmp_path):
    path = tmp_path / "messy.xlsx"
    _messy(path)
    table, det = _table(path)
    assert det["title"] == ["令和5年度 区別救急出動件数", "（単位：件）"]
    assert det["header_row"] == 5
    assert det["header_rows"] == 2
    assert table.column_names == ["区", "出動件数_急病", "出動件数_交通事故", "基準日"]
    assert table.to_pylist() == [
        {"区": "中央区", "出動件数_急病": "5123", "出動件数_交通事故": "310.5", "基準日": "2024-03-31"},
        {"区": "東区", "出動件数_急病": "4210", "出動件数_交通事故": "280", "基準日": "2024-04-01 00:30:00"},
    ]
    assert det["totals"] == ["合計 9333 590.5"]
    assert det["notes"] == ["資料：消防局警防課"]
    assert det["merged_cells"] is True
    assert det["cell_types"]["基準日"]["date"] == 2


def test_header_row_override_uses_excel_row_numbers(tmp_path):
    path = tmp_path / "messy.xlsx"
    _messy(path)
    source, preview = peek(path, ReadOptions(header_row=6))
    assert source.columns[:2] == ["区", "急病"]
    assert preview.num_rows == 2


def test_cell_text_rules():
    assert cell_text(12.0) == "12"
    assert cell_text(0.1) == "0.1"
    assert cell_text(True) == "TRUE"
    assert cell_text(dt.time(9, 5)) == "09:05:00"
    assert cell_text("") is None
    assert cell_text(" a ") == " a "


def _with_parts(src: Path, dst: Path, parts: dict[str, bytes]) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            zout.writestr(item, zin.read(item.filename))
        for name, data in parts.items():
            zout.writestr(name, data)


def test_macros_and_external_links_reported_never_followed(tmp_path):
    plain = tmp_path / "plain.xlsx"
    _messy(plain)
    path = tmp_path / "macro.xlsm"
    _with_parts(
        plain,
        path,
        {
            "xl/vbaProject.bin": b"\xd0\xcf\x11\xe0fake vba",
            "xl/externalLinks/externalLink1.xml": b"<externalLink/>",
        },
    )
    table, det = _table(path)
    assert table.num_rows == 2
    assert any("マクロ（VBA）" in w for w in det["warnings"])
    assert any("外部ファイルへのリンク" in w for w in det["warnings"])


def test_zip_bomb_refused_before_opening(tmp_path):
    plain = tmp_path / "plain.xlsx"
    _messy(plain)
    path = tmp_path / "bomb.xlsx"
    _with_parts(plain, path, {"xl/media/padding.bin": b"\0" * (150 * 1024 * 1024)})
    assert path.stat().st_size < 2 * 1024 * 1024
    with pytest.raises(InvalidInput, match="ZIP 爆弾"):
        read_source(path)


def test_not_really_excel(tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_bytes("名前,人数\n".encode())
    with pytest.raises(InvalidInput, match="Excel ファイルとして読めません"):
        read_source(path)


def test_empty_workbook(tmp_path):
    import openpyxl

    path = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(path)
    with pytest.raises(InvalidInput, match="どのシートにも表が見つかりません"):
        read_source(path)


def test_header_only_sheet_zero_rows(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["名前", "住所"])
    path = tmp_path / "h.xlsx"
    wb.save(path)
    source = read_source(path)
    assert source.columns == ["名前", "住所"]
    assert list(source.batches) == []
