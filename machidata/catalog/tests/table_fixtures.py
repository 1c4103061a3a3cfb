"""Shared data for the table tests: real lake versions written through the write protocol."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from machidata.catalog.models import Table, TableVersion
from machidata.lake.protocol import write_version

WARDS = ["中央区", "東区", "西区", "南区", "北区"]
SCHEMA = pa.schema(
    [
        ("区", pa.string()),
        ("人口", pa.int64()),
        ("面積", pa.decimal128(10, 2)),
        ("日付", pa.date32()),
        ("時刻", pa.timestamp("us")),
        ("名前", pa.string()),
    ]
)


def make_rows(n: int = 25) -> list[dict[str, Any]]:
    """Plain rows: tests compute expected answers from these, never from the code under test."""
    rows = []
    for i in range(n):
        rows.append(
            {
                "区": WARDS[i % len(WARDS)],
                # many ties (only 4 distinct values) so that paging stability really depends on _id
                "人口": (i % 4) * 100,
                "面積": Decimal(f"{i}.25"),
                "日付": dt.date(2024, 4, 1) + dt.timedelta(days=i),
                "時刻": dt.datetime(2024, 3, 31, 23, 30) + dt.timedelta(hours=i),
                "名前": "𠮷野家" if i == 1 else f"店{i:02d}",
            }
        )
    return rows


ROWS = make_rows()


def _batches(rows: list[dict[str, Any]], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    for start in range(0, len(rows), 10):
        yield pa.RecordBatch.from_pylist(rows[start : start + 10], schema=schema)


def write(
    table: Table,
    rows: list[dict[str, Any]],
    *,
    schema: pa.Schema = SCHEMA,
    user: Any = None,
    source_name: str = "人口.csv",
    mode: str = "replace",
) -> TableVersion:
    """Write ``rows`` as a new version of ``table`` (outside any transaction, as the lake requires)."""
    version = write_version(
        table=table,
        batches=_batches(rows, schema),
        schema=schema,
        mode=mode,  # type: ignore[arg-type]
        job_id=f"test-{uuid.uuid4().hex[:8]}",
        actor_user_id=user.pk if user is not None else None,
        source_name=source_name,
    )
    table.refresh_from_db()
    return version


def make_table(dataset: Any, name: str = "population", title: str = "区別人口", **extra: Any) -> Table:
    """An empty table with a 項目定義 giving Japanese titles and a unit."""
    schema = extra.pop(
        "schema",
        {
            "fields": [
                {"name": "区", "title": "区名"},
                {"name": "人口", "title": "人口", "unit": "人"},
                {"name": "時刻", "title": "受付日時"},
            ]
        },
    )
    return Table.objects.create(
        dataset=dataset, name=name, title=title, storage_key=uuid.uuid4().hex, schema=schema, **extra
    )


@pytest.fixture
def lake_home(settings: Any, tmp_path: Path) -> Path:
    """A private MACHIDATA_HOME (lake and download folders) per test."""
    settings.MACHIDATA_HOME = tmp_path
    return tmp_path
