"""Subtotals and totals (``totals``, the pivot table's grouping sets) against plain Python over the same rows.

Expected values come from the test's own loops (``statistics``, ``collections``), never from the engine.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from machidata.engine import TableQuery, compile_sql, run_query
from machidata.engine.errors import EngineQueryError
from machidata.engine.tests.conftest import write_rows
from machidata.engine.tests.test_aggregate import BIG_SCHEMA, ROWS, WEEKDAYS, _fy

KEYS = {
    "年度": lambda r: _fy(r["at"]) if r["at"] else None,
    "ward": lambda r: r["ward"],
    "kind": lambda r: r["kind"],
    "曜日": lambda r: WEEKDAYS[r["at"].weekday()] if r["at"] else None,
}
GROUPS = {
    "年度": {"column": "at", "grain": "fiscal_year", "as": "年度"},
    "ward": {"column": "ward"},
    "kind": {"column": "kind"},
    "曜日": {"column": "at", "grain": "weekday", "as": "曜日"},
}


@pytest.fixture
def big(tmp_path: Path) -> list[str]:
    """The rows over two Parquet files."""
    return [
        write_rows(tmp_path / "a.parquet", ROWS[:700], BIG_SCHEMA),
        write_rows(tmp_path / "b.parquet", ROWS[700:], BIG_SCHEMA),
    ]


def _expected(keys: list[str], rows: int, reduce: Any) -> dict[tuple[Any, ...], Any]:
    """Every grouping set of ROLLUP(rows) × ROLLUP(columns), by plain loops: (mask, *keys) → value."""
    row_keys, col_keys = keys[:rows], keys[rows:]
    out: dict[tuple[Any, ...], Any] = {}
    for i in range(len(row_keys) + 1):
        for j in range(len(col_keys) + 1):
            kept = row_keys[:i] + col_keys[:j]
            mask = sum(1 << n for n, k in enumerate(keys) if k not in kept)
            buckets: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
            for r in ROWS:
                buckets[tuple(KEYS[k](r) if k in kept else None for k in keys)].append(r)
            for key, members in buckets.items():
                out[(mask, *key)] = reduce(members)
    return out


@pytest.mark.parametrize(
    ("keys", "rows"),
    [
        (["ward", "年度"], 1),
        (["年度", "ward", "kind"], 2),
        (["ward", "kind", "年度", "曜日"], 2),
        (["ward"], 0),
    ],
)
def test_counts_of_every_grouping_set(big: list[str], keys: list[str], rows: int) -> None:
    got = run_query(
        big,
        TableQuery.from_dict(
            {"group_by": [GROUPS[k] for k in keys], "measures": [{"op": "count"}], "totals": {"rows": rows}}
        ),
        max_rows=100_000,
    ).table.to_pylist()
    names = [GROUPS[k].get("as") or k for k in keys]
    assert {(r["合計区分"], *(r[n] for n in names)): r["件数"] for r in got} == _expected(keys, rows, len)
    grand = [r for r in got if r["合計区分"] == (1 << len(keys)) - 1]
    assert [r["件数"] for r in grand] == [len(ROWS)]


def test_sum_median_and_distinct_totals(big: list[str]) -> None:
    got = run_query(
        big,
        TableQuery.from_dict(
            {
                "group_by": ["ward", {"column": "at", "grain": "fiscal_year", "as": "年度"}],
                "measures": [
                    {"op": "sum", "column": "people"},
                    {"op": "median", "column": "minutes"},
                    {"op": "count_distinct", "column": "kind"},
                ],
                "totals": {"rows": 1, "as": "区分"},
            }
        ),
    ).table.to_pylist()

    def reduce(members: list[dict[str, Any]]) -> tuple[Any, ...]:
        minutes = [m["minutes"] for m in members if m["minutes"] is not None]
        return (
            sum(m["people"] for m in members),
            statistics.median(minutes) if minutes else None,
            len({m["kind"] for m in members}),
        )

    expected = _expected(["ward", "年度"], 1, reduce)
    shown = {
        (r["区分"], r["ward"], r["年度"]): (
            r["合計（people）"],
            r["中央値（minutes）"],
            r["種類数（kind）"],
        )
        for r in got
    }
    assert shown.keys() == expected.keys()
    for key, (total, median, kinds) in shown.items():
        want = expected[key]
        assert total == want[0]
        assert kinds == want[2]
        assert median == pytest.approx(want[1])


@pytest.mark.parametrize("rows", [0, 1, 2])
def test_rolled_up_sum_avg_min_max_totals(big: list[str], rows: int) -> None:
    """count, sum, avg, min and max are rolled up from the detail groups; each set equals a plain regrouping."""
    keys = ["ward", "年度", "kind"]
    got = run_query(
        big,
        TableQuery.from_dict(
            {
                "group_by": [GROUPS[k] for k in keys],
                "measures": [
                    {"op": "count"},
                    {"op": "count", "column": "minutes"},
                    {"op": "sum", "column": "people"},
                    {"op": "avg", "column": "minutes"},
                    {"op": "min", "column": "minutes"},
                    {"op": "max", "column": "at"},
                ],
                "totals": {"rows": rows},
            }
        ),
        max_rows=100_000,
    ).table.to_pylist()

    def reduce(members: list[dict[str, Any]]) -> tuple[Any, ...]:
        minutes = [m["minutes"] for m in members if m["minutes"] is not None]
        times = [m["at"] for m in members if m["at"] is not None]
        return (
            len(members),
            len(minutes),
            sum(m["people"] for m in members),
            statistics.fmean(minutes) if minutes else None,
            min(minutes) if minutes else None,
            max(times) if times else None,
        )

    expected = _expected(keys, rows, reduce)
    names = ["ward", "年度", "kind"]
    shown = {
        (r["合計区分"], *(r[n] for n in names)): (
            r["件数"], r["件数（minutes）"], r["合計（people）"], r["平均（minutes）"], r["最小（minutes）"], r["最大（at）"],
        )
        for r in got
    }  # fmt: skip
    assert shown.keys() == expected.keys()
    for key, got_values in shown.items():
        want = expected[key]
        assert got_values[:3] == want[:3]
        assert isinstance(got_values[0], int)
        assert got_values[3] == pytest.approx(want[3])
        assert got_values[4:] == want[4:]


def test_detail_rows_come_before_their_totals_and_filters_apply(big: list[str]) -> None:
    got = run_query(
        big,
        TableQuery.from_dict(
            {
                "filters": [{"column": "ward", "op": "eq", "value": "東区"}],
                "group_by": ["ward", "kind"],
                "measures": [{"op": "count"}],
                "totals": {"rows": 1},
            }
        ),
    ).table.to_pylist()
    east = [r for r in ROWS if r["ward"] == "東区"]
    assert [r for r in got if r["合計区分"] == 3] == [
        {"ward": None, "kind": None, "件数": len(east), "合計区分": 3}
    ]
    # Default order: by the keys (blanks last), the 合計区分 breaking ties.
    assert got[-1]["合計区分"] == 3
    assert got[0]["合計区分"] == 0


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"measures": [{"op": "count"}], "totals": {"rows": 0}}, "グループ化（group_by）の列が必要"),
        ({"totals": {"rows": 0}}, "グループ化（group_by）と一緒に"),
        ({"group_by": ["ward"], "measures": [{"op": "count"}], "totals": {"rows": 2}}, "0から1まで"),
        (
            {"group_by": ["ward"], "measures": [{"op": "share_of_total"}], "totals": {"rows": 1}},
            "1番目（構成比）は小計・合計を出せません",
        ),
        (
            {"group_by": ["ward"], "measures": [{"op": "count"}], "top_n": {"n": 2, "by": "件数"},
             "totals": {"rows": 1}},
            "上位N件（top_n）は一緒に使えません",
        ),
        (
            {"group_by": ["ward"], "measures": [{"op": "count", "as": "合計区分"}], "totals": {"rows": 1}},
            "「合計区分」が重複",
        ),
    ],
)  # fmt: skip
def test_invalid_totals_are_named(query: dict[str, Any], message: str) -> None:
    with pytest.raises(EngineQueryError, match=message):
        TableQuery.from_dict(query).validate_against(BIG_SCHEMA)


def test_compiled_sql_is_a_union_of_group_bys() -> None:
    sql = compile_sql(
        TableQuery.from_dict(
            {"group_by": ["ward", "kind"], "measures": [{"op": "count"}], "totals": {"rows": 1}}
        ),
        BIG_SCHEMA,
    )
    # ROLLUP(ward) × ROLLUP(kind): (ward, kind), (ward), (kind) and the grand total (no GROUP BY).
    assert sql.count("GROUP BY") == 3
    assert sql.count("UNION ALL") == 3
