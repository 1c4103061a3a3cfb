"""Parquet fixtures written with pyarrow in a temporary directory; no Django, no database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("name", pa.string()),
        ("ward", pa.string()),
        ("amount", pa.float64()),
        ("visits", pa.int32()),
        ("day", pa.date32()),
        ("at", pa.timestamp("us")),
        ("flag", pa.bool_()),
    ]
)

# Plain Python rows: tests compute expected answers from these, never from the engine.
ROWS: list[dict[str, Any]] = [
    {"id": 1, "name": "ＡＢＣ商店", "ward": "中央区", "amount": 1200.5, "visits": 3, "day": dt.date(2024, 3, 31), "at": dt.datetime(2024, 3, 31, 23, 30), "flag": True},
    {"id": 2, "name": "abc食堂", "ward": "東区", "amount": None, "visits": 1, "day": dt.date(2024, 4, 1), "at": dt.datetime(2024, 4, 1, 0, 30), "flag": False},
    {"id": 3, "name": "ｶﾌｪ熊本", "ward": "西区", "amount": 300.0, "visits": 7, "day": dt.date(2024, 4, 15), "at": dt.datetime(2024, 4, 15, 12, 0), "flag": None},
    {"id": 4, "name": "カフェ水前寺", "ward": "中央区", "amount": 50.25, "visits": 2, "day": None, "at": None, "flag": True},
    {"id": 5, "name": None, "ward": "南区", "amount": 999.0, "visits": 7, "day": dt.date(2025, 3, 31), "at": dt.datetime(2025, 3, 31, 9, 15), "flag": False},
    {"id": 6, "name": "x'; DROP TABLE t; --", "ward": "北区", "amount": 0.0, "visits": 0, "day": dt.date(2024, 12, 25), "at": dt.datetime(2024, 12, 25, 18, 45), "flag": True},
    {"id": 7, "name": "read_csv('/etc/passwd')", "ward": None, "amount": -20.0, "visits": 4, "day": dt.date(2024, 8, 1), "at": dt.datetime(2024, 8, 1, 8, 0), "flag": True},
    {"id": 8, "name": "熊本城ＡＢＣ", "ward": "中央区", "amount": 1200.5, "visits": None, "day": dt.date(2024, 5, 5), "at": dt.datetime(2024, 5, 5, 10, 0), "flag": False},
    {"id": 9, "name": "𠮷野家", "ward": "東区", "amount": 410.0, "visits": 5, "day": dt.date(2024, 6, 30), "at": dt.datetime(2024, 6, 30, 23, 59), "flag": None},
    {"id": 10, "name": "100%果汁_店", "ward": "西区", "amount": 77.7, "visits": 9, "day": dt.date(2024, 10, 10), "at": dt.datetime(2024, 10, 10, 10, 10), "flag": True},
]  # fmt: skip


def write_rows(path: Path, rows: list[dict[str, Any]], schema: pa.Schema = SCHEMA) -> str:
    """Write rows as one Parquet file and return its path."""
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return str(path)


@pytest.fixture
def files(tmp_path: Path) -> list[str]:
    """The sample rows split over two Parquet files, as a Delta version's file list would be."""
    return [
        write_rows(tmp_path / "part-0.parquet", ROWS[:6]),
        write_rows(tmp_path / "part-1.parquet", ROWS[6:]),
    ]


def ids(table: pa.Table) -> list[int]:
    """The id column of a result, in order."""
    return list(table.column("id").to_pylist())
