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
