"""Suppression and its LP audit on a real-shaped 統計表 (高松市 町丁別・年齢3区分別人口) and hand-made grids.

Data: 高松市オープンデータ（高松市, CC BY）— takamatsu-city/opendata ``old_data/0066_202303.csv``.
"""

from __future__ import annotations

import csv

import pyarrow as pa
import pytest

from machidata.core.errors import InvalidInput
from machidata.publish.suppression import (
    Grid,
    Spec,
    audit,
    check_spec,
    grid_from_table,
    primary,
    suppress,
    to_csv_rows,
)
from machidata.publish.tests.conftest import TAKAMATSU

needs_shared = pytest.mark.skipif(not TAKAMATSU.exists(), reason="../shared is not beside the repository")


def _takamatsu_grid(min_total: int = 30) -> Grid:
    """町丁 × 年齢3区分 (0–14, 15–64, 65+; men and women added) with row and column totals."""
    rows = list(csv.reader(TAKAMATSU.open(encoding="utf-8-sig")))
    header = rows[6]  # the #property row names the columns (its first cell sits over the row number)
    data = [r for r in rows[9:] if r and r[0].isdigit()]

    def band(r: list[str], lo: int, hi: int) -> int:
        return sum(int(r[header.index(f"{s}{k}")]) for k in range(lo, hi + 1) for s in ("man", "woman"))

    # The 18 five-year bands add up to the file's own totalPopulation: the columns are read right.
    assert all(band(r, 1, 18) == int(r[header.index("totalPopulation")]) for r in data)
    body = [r for r in data if band(r, 1, 18) >= min_total]
    values: list[list[int | None]] = [[band(r, 1, 3), band(r, 4, 13), band(r, 14, 18)] for r in body]
    return Grid(
        [r[header.index("regionName")] for r in body],
        ["0～14歳", "15～64歳", "65歳以上"],
        values,
        [sum(int(x or 0) for x in v) for v in values],
        [sum(int(v[j] or 0) for v in values) for j in range(3)],
    )


@needs_shared
def test_takamatsu_primary_only_is_exposed_full_method_is_not() -> None:
    grid = _takamatsu_grid()
    first = primary(grid, 10)
    assert first  # real small areas have fewer than 10 children
    assert all(1 <= (grid.values[i][j] or 0) < 10 for i, j in first)
    naive = audit(grid, first, threshold=10)
    assert naive.checked == len(first)
    assert len(naive.exposed) > 0  # each hidden cell is its row total minus the published cells
    hidden, report = suppress(grid, threshold=10)
    assert first <= hidden
    assert len(hidden) > len(first)  # complementary cells were added
    assert report.checked == len(hidden)
    assert report.exposed == []
    assert all(c.width >= 10 for c in report.intervals)


def test_single_small_cell_in_a_row_is_recovered_from_the_total_by_the_audit() -> None:
    grid = Grid(["A町", "B町"], ["男", "女"], [[3, 40], [25, 30]], row_totals=[43, 55], col_totals=[28, 70])
    report = audit(grid, {(0, 0)}, threshold=10)
    (cell,) = report.intervals
    assert (cell.low, cell.high) == (3, 3)  # 43 − 40, computed by hand
    assert len(report.exposed) == 1
    hidden, full = suppress(grid, threshold=10)
    assert hidden == {(0, 0), (0, 1), (1, 0), (1, 1)}  # the only 2×2 pattern that protects A町／男
    # A町／男 = 3 + t, with A町／女 = 40 − t, B町／男 = 25 − t, B町／女 = 30 + t all ≥ 0: t ∈ [−3, 25]
    interval = next(c for c in full.intervals if (c.row, c.column) == ("A町", "男"))
    assert (interval.low, interval.high) == pytest.approx((0, 28))
    assert full.to_dict()["cells_exposed"] == 0


def test_a_table_that_cannot_be_protected_is_refused() -> None:
    # Row total 8: whatever is hidden, A町's cells lie in [0, 8], narrower than the range 10.
    grid = Grid(["A町", "B町"], ["男", "女"], [[3, 5], [40, 50]], row_totals=[8, 90], col_totals=[43, 55])
    with pytest.raises(InvalidInput, match="区分をまとめる"):
        suppress(grid, threshold=10)


def test_inconsistent_totals_are_refused() -> None:
    grid = Grid(["A町"], ["男", "女"], [[30, 40]], row_totals=[71], col_totals=None)
    with pytest.raises(InvalidInput, match="合計が内訳の和と合いません"):
        suppress(grid, threshold=10)


def test_threshold_below_one_is_refused() -> None:
    with pytest.raises(InvalidInput, match="1以上"):
        check_spec(Spec("町丁", ("男",), "計", "", threshold=0), ["町丁", "男", "計"])


def test_aggregated_table_without_totals_is_refused() -> None:
    with pytest.raises(InvalidInput, match="合計の列か合計の行"):
        check_spec(Spec("町丁", ("男", "女")), ["町丁", "男", "女"])
    table = pa.table({"町丁": ["A町", "B町"], "男": [1, 2], "女": [3, 4]})
    with pytest.raises(InvalidInput, match="合計の行「合計」が表にありません"):
        grid_from_table(table, Spec("町丁", ("男", "女"), total_row_label="合計"))


def test_csv_rows_mark_hidden_cells_x_and_put_totals_first() -> None:
    table = pa.table(
        {"町丁": ["A町", "B町", "合計"], "男": [3, 25, 28], "女": [40, 30, 70], "計": [43, 55, 98]}
    )
    spec = Spec("町丁", ("男", "女"), "計", "合計")
    grid = grid_from_table(table, spec)
    assert grid.row_totals == [43, 55]
    assert grid.col_totals == [28, 70]
    hidden, _ = suppress(grid, threshold=10)
    rows = to_csv_rows(table, spec, grid, hidden)
    assert rows[0] == ["町丁", "男", "女", "計"]
    assert rows[1] == ["合計", "28", "70", "98"]
    assert rows[2] == ["A町", "x", "x", "43"]
    assert rows[3] == ["B町", "x", "x", "55"]
