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


# ---- long format and 小計 ---------------------------------------------------------------------------


def _takamatsu_rows(min_total: int, limit: int) -> tuple[list[str], list[list[str]]]:
    """The file's first ``limit`` 町丁 with at least ``min_total`` people (the LP audit stays quick)."""
    rows = list(csv.reader(TAKAMATSU.open(encoding="utf-8-sig")))
    header = rows[6]
    data = [r for r in rows[9:] if r and r[0].isdigit()]
    return header, [r for r in data if int(r[header.index("totalPopulation")]) >= min_total][:limit]


def _sexed_table(min_total: int = 30, limit: int = 20) -> pa.Table:
    """The real file as a wide 統計表 with 小計 columns: 男・女 × 年齢3区分, the file's own ``male`` and
    ``woman`` (小計 of each sex's bands), ``totalPopulation`` (合計の列) and a 合計 row added at the top."""
    header, data = _takamatsu_rows(min_total, limit)

    def band(r: list[str], s: str, lo: int, hi: int) -> int:
        return sum(int(r[header.index(f"{s}{k}")]) for k in range(lo, hi + 1))

    cols: dict[str, list[object]] = {"町丁": [r[header.index("regionName")] for r in data]}
    for s, name in (("man", "男"), ("woman", "女")):
        for lo, hi, label in ((1, 3, "0～14歳"), (4, 13, "15～64歳"), (14, 18, "65歳以上")):
            cols[f"{name}{label}"] = [band(r, s, lo, hi) for r in data]
    cols["男計"] = [int(r[header.index("male")]) for r in data]
    cols["女計"] = [int(r[header.index("woman")]) for r in data]
    cols["総数"] = [int(r[header.index("totalPopulation")]) for r in data]
    # The file's own 小計 are the sums of its bands (so they are read right), and 総数 = 男計 + 女計.
    for k in range(len(data)):
        assert cols["男計"][k] == sum(int(cols[f"男{b}"][k]) for b in ("0～14歳", "15～64歳", "65歳以上"))  # type: ignore[call-overload]
        assert cols["総数"][k] == int(cols["男計"][k]) + int(cols["女計"][k])  # type: ignore[call-overload]
    for c in list(cols)[1:]:
        cols[c] = [sum(int(v) for v in cols[c])] + cols[c]  # type: ignore[call-overload]
    cols["町丁"] = ["合計", *cols["町丁"]]
    return pa.table(cols)


SEXED_SPEC = Spec(
    "町丁",
    ("男0～14歳", "男15～64歳", "男65歳以上", "男計", "女0～14歳", "女15～64歳", "女65歳以上", "女計"),
    total_column="総数",
    total_row_label="合計",
    column_subtotals=(
        ("男計", ("男0～14歳", "男15～64歳", "男65歳以上")),
        ("女計", ("女0～14歳", "女15～64歳", "女65歳以上")),
    ),
)


@needs_shared
def test_takamatsu_subtotal_columns_must_be_in_the_audit() -> None:
    """男計・女計 are published 小計: suppression that ignores them leaves cells recoverable from them."""
    table = _sexed_table()
    grid = grid_from_table(table, SEXED_SPEC)
    assert grid.col_subtotals == {3: [0, 1, 2], 7: [4, 5, 6]}
    # The same table read without the 小計 equations: the totals then double-count, which is refused.
    flat = grid_from_table(table, Spec(SEXED_SPEC.dimension, SEXED_SPEC.count_columns, "総数", "合計"))
    with pytest.raises(InvalidInput, match="合計が内訳の和と合いません"):
        suppress(flat, threshold=10)
    # A suppression planned on the bands alone (小計 columns left out), then published with the 小計:
    bands = [j for j in range(8) if j not in (3, 7)]
    leaves = Grid(grid.row_labels, [grid.col_labels[j] for j in bands],
                  [[row[j] for j in bands] for row in grid.values], grid.row_totals, None)  # fmt: skip
    hidden_leaves, _ = suppress(leaves, threshold=10)
    naive = {(i, bands[j]) for i, j in hidden_leaves}
    exposed = audit(grid, naive, threshold=10).exposed
    assert exposed  # e.g. a town's only hidden 男 cell = 男計 − the other two 男 cells
    hidden, report = suppress(grid, threshold=10)
    assert primary(grid, 10) <= hidden
    assert report.checked == len(hidden) > len(primary(grid, 10))
    assert report.exposed == []
    assert all(c.width >= 10 for c in report.intervals)
    # Each hidden cell's interval holds its true value (the LP is over the real constraints).
    truth = {(grid.row_labels[i], grid.col_labels[j]): grid.values[i][j] for i, j in hidden}
    assert all(c.low - 1e-6 <= (truth[(c.row, c.column)] or 0) <= c.high + 1e-6 for c in report.intervals)


@needs_shared
def test_takamatsu_long_format_reads_the_same_grid_and_marks_x_in_the_value_column() -> None:
    wide = _sexed_table()
    bands = ("男0～14歳", "男15～64歳", "男65歳以上", "女0～14歳", "女15～64歳", "女65歳以上")
    labels = wide.column("町丁").to_pylist()
    long_rows: dict[str, list[object]] = {"町丁": [], "区分": [], "人数": []}
    for k, town in enumerate(labels):
        for c in (*bands, "総数"):
            long_rows["町丁"].append(town)
            long_rows["区分"].append("計" if c == "総数" else c)
            long_rows["人数"].append(wide.column(c)[k].as_py())
    long = pa.table(long_rows)
    spec = Spec(
        "町丁", total_column="計", total_row_label="合計", column_dimension="区分", value_column="人数"
    )
    grid = grid_from_table(long, spec)
    want = grid_from_table(wide, Spec("町丁", bands, "総数", "合計"))
    assert (grid.row_labels, grid.col_labels) == (want.row_labels, want.col_labels)
    assert grid.values == want.values
    assert (grid.row_totals, grid.col_totals) == (want.row_totals, want.col_totals)
    hidden, report = suppress(grid, threshold=10)
    assert report.exposed == []
    assert report.checked == len(hidden) > 0
    rows = to_csv_rows(long, spec, grid, hidden)
    assert rows[0] == ["町丁", "区分", "人数"]
    assert all(r[0] == "合計" for r in rows[1 : 1 + len(bands) + 1])  # the total rows come first
    marked = {(r[0], r[1]) for r in rows[1:] if r[2] == "x"}
    assert marked == {(grid.row_labels[i], grid.col_labels[j]) for i, j in hidden}
    # Published cells keep their value; totals are never hidden.
    by_cell = {(r[0], r[1]): r[2] for r in rows[1:]}
    i, j = next((i, j) for i in range(len(grid.row_labels)) for j in range(6) if (i, j) not in hidden)
    assert by_cell[(grid.row_labels[i], grid.col_labels[j])] == str(grid.values[i][j])
    assert all(by_cell[(t, "計")] != "x" for t in grid.row_labels)


def test_long_format_refusals() -> None:
    table = pa.table({"町丁": ["A町", "A町", "B町"], "区分": ["男", "女", "男"], "人数": [3, 4, 5]})
    with pytest.raises(InvalidInput, match="合計の列か合計の行"):
        grid_from_table(table, Spec("町丁", column_dimension="区分", value_column="人数"))
    with pytest.raises(InvalidInput, match="列の区分を表す列"):
        check_spec(Spec("町丁", total_row_label="合計", value_column="人数"), ["町丁", "区分", "人数"])
    with pytest.raises(InvalidInput, match="合計の行「合計」が表にありません"):
        grid_from_table(
            table, Spec("町丁", total_row_label="合計", column_dimension="区分", value_column="人数")
        )
    twice = pa.table({"町丁": ["A町", "A町"], "区分": ["計", "計"], "人数": [3, 3]})
    with pytest.raises(InvalidInput, match="行が2つあります"):
        grid_from_table(twice, Spec("町丁", total_column="計", column_dimension="区分", value_column="人数"))
    gap = pa.table({"町丁": ["A町", "A町", "B町"], "区分": ["男", "計", "計"], "人数": [3, 3, 5]})
    with pytest.raises(InvalidInput, match="「B町」×「男」の行がありません"):
        grid_from_table(gap, Spec("町丁", total_column="計", column_dimension="区分", value_column="人数"))


def test_row_subtotal_recovers_a_cell_unless_it_is_in_the_audit() -> None:
    # 中央区計 = A町 + B町 is published. Hiding A町／男 and its complement in its row only is not enough:
    # A町／男 = 中央区計／男 − B町／男.
    grid = Grid(
        ["中央区計", "A町", "B町", "C町"], ["男", "女"],
        [[33, 60], [3, 30], [30, 30], [40, 50]],
        row_totals=[93, 33, 60, 90], col_totals=[73, 110], row_subtotals={0: [1, 2]},
    )  # fmt: skip
    report = audit(grid, {(1, 0), (1, 1)}, threshold=10)
    cell = next(c for c in report.intervals if (c.row, c.column) == ("A町", "男"))
    assert (cell.low, cell.high) == pytest.approx((3, 3))  # 33 − 30, by hand
    hidden, full = suppress(grid, threshold=10)
    assert (1, 0) in hidden
    assert full.exposed == []
    cell = next(c for c in full.intervals if (c.row, c.column) == ("A町", "男"))
    assert cell.width >= 10


def test_subtotal_declarations_are_checked() -> None:
    table = pa.table({"町丁": ["合計", "A町"], "男": [3, 3], "女": [4, 4], "計": [7, 7]})
    with pytest.raises(InvalidInput, match="「Z町」が表にありません"):
        grid_from_table(table, Spec("町丁", ("男", "女"), "計", "合計", row_subtotals=(("A町", ("Z町",)),)))
    with pytest.raises(InvalidInput, match="小計自身"):
        check_spec(
            Spec("町丁", ("男", "女"), "計", column_subtotals=(("男", ("男", "女")),)),
            ["町丁", "男", "女", "計"],
        )


# 区 → 町 → 丁目: the 区 rows add up their 町 rows, which add up their 丁目 rows (小計 within 小計).
_CHOME = {"a丁目": (3, 20), "b丁目": (25, 22), "c丁目": (2, 30), "d丁目": (3, 25),
          "e丁目": (40, 35), "f丁目": (30, 28), "g丁目": (15, 12), "h丁目": (20, 18)}  # fmt: skip
_TOWNS = {
    "A町": ("a丁目", "b丁目"),
    "B町": ("c丁目", "d丁目"),
    "C町": ("e丁目", "f丁目"),
    "D町": ("g丁目", "h丁目"),
}
_WARDS = {"中央区": ("A町", "B町"), "東区": ("C町", "D町")}
_NESTED_ORDER = ["中央区", "A町", "a丁目", "b丁目", "B町", "c丁目", "d丁目",
                 "東区", "C町", "e丁目", "f丁目", "D町", "g丁目", "h丁目"]  # fmt: skip


def _nested_table() -> pa.Table:
    """A wide 統計表 with a 合計 row first; every 小計 is written out by hand from the 丁目 above."""
    counts: dict[str, tuple[int, int]] = dict(_CHOME)
    for town, chome in _TOWNS.items():
        counts[town] = (sum(_CHOME[c][0] for c in chome), sum(_CHOME[c][1] for c in chome))
    for ward, towns in _WARDS.items():
        counts[ward] = (sum(counts[t][0] for t in towns), sum(counts[t][1] for t in towns))
    total = (sum(counts[w][0] for w in _WARDS), sum(counts[w][1] for w in _WARDS))
    labels = ["合計", *_NESTED_ORDER]
    rows = [total, *(counts[k] for k in _NESTED_ORDER)]
    return pa.table({"地域": labels, "男": [r[0] for r in rows], "女": [r[1] for r in rows],
                     "計": [r[0] + r[1] for r in rows]})  # fmt: skip


NESTED_SPEC = Spec("地域", ("男", "女"), "計", "合計", row_subtotals=(*_WARDS.items(), *_TOWNS.items()))


def _plan_without(grid: Grid, left_out: set[str]) -> set[tuple[int, int]]:
    """Suppression planned on the table with the rows ``left_out`` dropped (their 小計 not declared),
    mapped back onto the full table, where those rows are published as they are."""
    keep = [i for i, lab in enumerate(grid.row_labels) if lab not in left_out]
    where = {i: k for k, i in enumerate(keep)}

    # Each kept 小計 adds up its nearest kept members (a 区 whose 町 are dropped adds up their 丁目).
    def kept_members(i: int) -> list[int]:
        out = []
        for m in grid.row_subtotals.get(i, []):
            out += [where[m]] if m in where else kept_members(m)
        return out

    sub = {where[s]: kept_members(s) for s in grid.row_subtotals if s in where}
    assert grid.row_totals is not None
    plan = Grid([grid.row_labels[i] for i in keep], grid.col_labels, [grid.values[i] for i in keep],
                [grid.row_totals[i] for i in keep], grid.col_totals, sub)  # fmt: skip
    hidden, report = suppress(plan, threshold=10)
    assert report.exposed == []  # each plan is safe on its own table …
    return {(keep[i], j) for i, j in hidden}


def test_nested_subtotals_are_suppressed_with_zero_exposed_cells() -> None:
    grid = grid_from_table(_nested_table(), NESTED_SPEC)
    at = {lab: i for i, lab in enumerate(grid.row_labels)}
    assert grid.row_subtotals[at["中央区"]] == [at["A町"], at["B町"]]
    assert grid.row_subtotals[at["B町"]] == [at["c丁目"], at["d丁目"]]
    # The 合計 row adds up the 区 only: a 町 or a 丁目 counted again would break the totals.
    assert [line.total for line in grid.lines() if line.label == "「男」の列"] == [138]
    first = primary(grid, 10)
    assert {(grid.row_labels[i], grid.col_labels[j]) for i, j in first} == {
        ("a丁目", "男"),
        ("c丁目", "男"),
        ("d丁目", "男"),
        ("B町", "男"),
    }
    hidden, report = suppress(grid, threshold=10)
    assert first <= hidden
    assert report.checked == len(hidden)
    assert report.exposed == []
    assert all(c.width >= 10 for c in report.intervals)
    truth = {(grid.row_labels[i], grid.col_labels[j]): grid.values[i][j] for i, j in hidden}
    assert all(c.low - 1e-6 <= (truth[(c.row, c.column)] or 0) <= c.high + 1e-6 for c in report.intervals)
    # The published file: x in the hidden cells, the 計 and the 合計 row never hidden.
    rows = to_csv_rows(_nested_table(), NESTED_SPEC, grid, hidden)
    marked = {(r[0], h) for r in rows[1:] for h, v in zip(rows[0], r, strict=True) if v == "x"}
    assert marked == set(truth)
    assert "x" not in rows[1]
    assert all(r[3] != "x" for r in rows[1:])


def test_leaving_the_nesting_out_exposes_cells() -> None:
    grid = grid_from_table(_nested_table(), NESTED_SPEC)
    # Planned with the 町 小計 left out (区 → 丁目), then published with the 町 rows as they are:
    # B町／男 = 5 is published, so c丁目／男 + d丁目／男 = 5 and both lie in [0, 5] — narrower than 10.
    no_towns = audit(grid, _plan_without(grid, set(_TOWNS)), threshold=10, primary_cells=primary(grid, 10))
    small = {(c.row, c.column) for c in no_towns.exposed if c.primary}
    assert {("c丁目", "男"), ("d丁目", "男")} <= small
    c = next(c for c in no_towns.exposed if (c.row, c.column) == ("c丁目", "男"))
    assert (c.low, c.high) == pytest.approx((0, 5))  # by hand: 0 ≤ c ≤ B町 − 0
    # Planned with the 区 left out (町 → 丁目 only), then published with the 区 rows: 東区 − C町 gives D町.
    no_wards = audit(grid, _plan_without(grid, set(_WARDS)), threshold=10)
    assert {(c.row, c.column) for c in no_wards.exposed} >= {("D町", "男"), ("D町", "女")}
    # The full nesting hides what the plans missed.
    assert audit(grid, suppress(grid, threshold=10)[0], threshold=10).exposed == []


def test_nested_subtotal_declarations_are_checked() -> None:
    columns = ["地域", "男", "女", "計"]
    twice = Spec("地域", ("男", "女"), "計", "合計",
                 row_subtotals=(("中央区", ("A町", "a丁目")), ("A町", ("a丁目", "b丁目"))))  # fmt: skip
    with pytest.raises(InvalidInput, match="「a丁目」が小計「中央区」と小計「A町」の両方"):
        check_spec(twice, columns)
    loop = Spec("地域", ("男", "女"), "計", "合計", row_subtotals=(("A町", ("B町",)), ("B町", ("A町",))))
    with pytest.raises(InvalidInput, match="循環"):
        check_spec(loop, columns)
    again = Spec("地域", ("男", "女"), "計", "合計", row_subtotals=(("A町", ("a丁目",)), ("A町", ("b丁目",))))
    with pytest.raises(InvalidInput, match="2回指定"):
        check_spec(again, columns)
