"""Table-block detection on the shapes Japanese statistical sheets really have."""

from __future__ import annotations

from pathlib import Path

import pytest

from machidata.ingest.block import block_rows, detect_block

SHARED = Path(__file__).resolve().parents[4] / "shared" / "data" / "real"


def test_title_rows_merged_two_row_header_totals_and_notes():
    grid = [
        ["令和5年度 区別救急出動件数", None, None, None, None],
        ["（単位：件）", None, None, None, None],
        [None, None, None, None, None],
        ["区", "出動件数", None, "搬送人員", None],
        [None, "急病", "交通事故", "急病", "交通事故"],
        ["中央区", 5123, 310, 4800, 290],
        ["東区", "4,210", 280, 4000, 260],
        ["合計", 9333, 590, 8800, 550],
        ["注：件数は速報値である。", None, None, None, None],
        ["資料：消防局警防課", None, None, None, None],
        [None, None, None, None, None],
    ]
    merged = [(3, 1, 3, 2), (3, 3, 3, 4), (3, 0, 4, 0)]  # 出動件数 and 搬送人員 span two columns; 区 two rows
    block = detect_block(grid, merged)
    assert block.title == ["令和5年度 区別救急出動件数", "（単位：件）"]
    assert block.header_start == 3
    assert block.header_rows == 2
    assert block.columns == ["区", "出動件数_急病", "出動件数_交通事故", "搬送人員_急病", "搬送人員_交通事故"]
    assert block.notes == ["注：件数は速報値である。", "資料：消防局警防課"]
    assert block.total_rows == [7]
    rows = block_rows(grid, block, merged)
    assert rows == [["中央区", "5123", "310", "4800", "290"], ["東区", "4,210", "280", "4000", "260"]]


def test_merged_header_without_merge_information_fills_right():
    # CSV exports of such sheets lose the merge: the 大項目 is only in the first cell.
    grid = [
        ["年度", "人口", "", "世帯数"],
        ["", "男", "女", ""],
        ["令和4年度", "350,000", "380,000", "330,000"],
        ["令和5年度", "349,000", "379,500", "331,200"],
    ]
    block = detect_block(grid)
    assert block.header_rows == 2
    assert block.columns == ["年度", "人口_男", "人口_女", "世帯数"]


def test_category_cells_merged_down_are_filled():
    grid = [
        ["区", "町名", "人口"],
        ["中央区", "手取本町", 1200],
        [None, "花畑町", 800],
        ["東区", "健軍", 9000],
    ]
    block = detect_block(grid, [(1, 0, 2, 0)])
    assert block.filled_down == ["区"]
    assert [r[0] for r in block_rows(grid, block, [(1, 0, 2, 0)])] == ["中央区", "中央区", "東区"]


def test_header_cell_with_line_break_and_spacer_column():
    grid = [
        ["施設名", None, "建築時期\n（西暦）", "延床面積(㎡)"],
        ["市民会館", None, 1967, "12,000.5"],
        ["図書館", None, 1995, "8,000"],
    ]
    block = detect_block(grid)
    assert block.columns == ["施設名", "建築時期（西暦）", "延床面積(㎡)"]
    assert block.column_indexes == [0, 2, 3]


def test_all_text_table_has_one_header_row():
    grid = [["名称", "所在地", "種別"], ["ミカサ薬局", "中央区下通", "薬局"], ["東薬局", "東区健軍", "薬局"]]
    block = detect_block(grid)
    assert block.header_rows == 1
    assert len(block.data_row_indexes()) == 2


def test_header_row_override():
    grid = [["#title", "x", "y"], ["a", "b", "c"], ["1", "2", "3"]]
    block = detect_block(grid, header_row=1)
    assert block.columns == ["a", "b", "c"]
    assert block.title == ["#title x y"]


def test_duplicate_and_empty_header_names_are_made_unique():
    grid = [["名称", "名称", ""], ["a", "b", "c"]]
    block = detect_block(grid)
    assert block.columns == ["名称", "名称_2", "列3"]


def test_empty_grid():
    assert detect_block([]).columns == []
    assert detect_block([[None, None], [None, None]]).columns == []


@pytest.mark.skipif(not SHARED.exists(), reason="../shared is not beside the repository")
def test_real_pharmacy_list_with_65535_formatted_rows():
    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_path(str(SHARED / "431001_kumamoto_yakkyoku_list.xlsx")).get_sheet_by_index(
        0
    )
    grid = sheet.to_python(skip_empty_area=True)
    block = detect_block(grid, sheet.merged_cell_ranges or [])
    assert block.columns[:3] == ["業務種別", "許可番号", "名称"]
    assert len(block.data_row_indexes()) == 400  # SOURCE.md: 401 non-empty rows incl. the header


@pytest.mark.skipif(not SHARED.exists(), reason="../shared is not beside the repository")
def test_real_hospital_list_is_118_columns_wide():
    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_path(str(SHARED / "431001_kumamoto_byouin_list.xlsx")).get_sheet_by_index(0)
    grid = sheet.to_python(skip_empty_area=True)
    block = detect_block(grid, sheet.merged_cell_ranges or [])
    assert len(block.columns) == 118
    assert len(block.data_row_indexes()) == 90
