"""SQL snapshots: the DuckDB SQL a few TableQuery examples compile to, reviewed by hand.

Regenerate with ``MACHIDATA_UPDATE_SNAPSHOTS=1`` and read the diff before committing it: a change
here is a change in what every explorer, chart and API query runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from machidata.engine import TableQuery, compile_sql

SNAPSHOTS = Path(__file__).parent / "snapshots"
SCHEMA = {
    "id": "integer",
    "name": "string",
    "ward": "string",
    "amount": "number",
    "visits": "integer",
    "day": "date",
    "at": "datetime",
    "flag": "boolean",
}

EXAMPLES: dict[str, dict[str, Any]] = {
    "page_sorted_fields": {"fields": ["id", "name"], "sort": [["amount", "desc"], ["id", "asc"]], "limit": 50, "offset": 100},
    "text_search": {
        "filters": [
            {"column": "name", "op": "contains", "value": "ＡＢＣ"},
            {"column": "ward", "op": "starts_with", "value": "中央"},
            {"column": "name", "op": "ne", "value": "x'; DROP TABLE t; --"},
        ],
        "limit": 20,
    },
    "ranges_and_nulls": {
        "filters": [
            {"column": "day", "op": "range", "min": "2024-04-01", "max": "2025-03-31"},
            {"column": "at", "op": "lt", "value": "2024-04-01T00:30:00"},
            {"column": "amount", "op": "is_null"},
            {"column": "visits", "op": "in", "values": [1, "2", 3]},
            {"column": "ward", "op": "not_in", "values": ["中央区"]},
            {"column": "flag", "op": "eq", "value": "true"},
        ],
        "sort": [["day", "asc"]],
    },
    "no_paging": {"filters": [{"column": "amount", "op": "ge", "value": 1.5}]},
    # Aggregates (issue 7): one GROUP BY, windows on top, internal names until the last projection.
    "agg_fiscal_year_by_ward": {
        "filters": [{"column": "flag", "op": "eq", "value": True}],
        "group_by": [{"column": "at", "grain": "fiscal_year"}, "ward"],
        "measures": [{"op": "count"}],
    },
    # A pivot table (ピボット表): ROLLUP(rows) × ROLLUP(columns) as a UNION ALL of GROUP BYs.
    "agg_pivot_totals": {
        "group_by": ["ward", {"column": "at", "grain": "fiscal_year", "as": "年度"}],
        "measures": [{"op": "sum", "column": "visits"}, {"op": "count"}],
        "totals": {"rows": 1},
    },
    "agg_hour_weekday_heatmap": {
        "group_by": [{"column": "at", "grain": "hour"}, {"column": "at", "grain": "weekday"}],
        "measures": [{"op": "count", "as": "件数"}],
        "sort": [{"column": "at（曜日）", "direction": "desc"}],
    },
    "agg_top_n_median": {
        "group_by": ["ward"],
        "measures": [{"op": "count"}, {"op": "median", "column": "amount"}, {"op": "share_of_total"}],
        "top_n": {"n": 3, "by": "件数"},
        "limit": 10,
    },
    "agg_time_buckets": {
        "group_by": [
            {"column": "day", "grain": "day"},
            {"column": "at", "grain": "week"},
            {"column": "at", "grain": "month"},
            {"column": "day", "grain": "quarter"},
            {"column": "day", "grain": "year"},
        ],
        "measures": [{"op": "sum", "column": "visits"}, {"op": "avg", "column": "amount"}, {"op": "min", "column": "name"}, {"op": "max", "column": "at"}, {"op": "count_distinct", "column": "ward"}],
    },
    "agg_shares_rates_targets": {
        "group_by": ["ward", {"column": "day", "grain": "fiscal_year", "as": "年度"}],
        "measures": [
            {"op": "share_of_row"},
            {"op": "share_of_column", "column": "amount"},
            {"op": "rate_per", "column": "visits", "denominator": "amount", "per": 1000},
            {"op": "rate_per", "denominator": "visits", "denominator_agg": "sum", "per": 100, "as": "率"},
            {"op": "target_ratio", "target": 12.5},
            {"op": "change_from_previous", "along": "年度"},
        ],
    },
    "agg_change_from_previous_month": {
        "group_by": [{"column": "at", "grain": "month"}],
        "measures": [{"op": "sum", "column": "amount"}, {"op": "change_from_previous", "column": "amount"}],
        "fields": ["前月比（合計（amount））", "at（月）"],
        "limit": 12,
        "offset": 12,
    },
    "agg_measures_only": {"measures": [{"op": "count"}, {"op": "count", "column": "name"}]},
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_sql_snapshot(name: str) -> None:
    sql = compile_sql(TableQuery.from_dict(EXAMPLES[name]), SCHEMA)
    path = SNAPSHOTS / f"{name}.sql"
    if os.environ.get("MACHIDATA_UPDATE_SNAPSHOTS") == "1":
        path.write_text(sql, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}; run with MACHIDATA_UPDATE_SNAPSHOTS=1 and review it"
    assert sql == path.read_text(encoding="utf-8")


def test_every_snapshot_file_has_an_example() -> None:
    assert sorted(p.stem for p in SNAPSHOTS.glob("*.sql")) == sorted(EXAMPLES)
