"""Fixtures of the prep tests: an ambulance-like table and a ward population table in the lake, owned by 健康づくり推進課.

Population figures are synthetic (labelled so in the demo); codes are the real 全国地方公共団体コード of the wards.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from machidata.access.policy import Actor, actor_for
from machidata.catalog.models import Dataset, Table
from machidata.core.testing import Actors, make_dataset
from machidata.lake.protocol import write_version

WARDS = [("431010", "中央区"), ("431028", "東区"), ("431036", "西区"), ("431044", "南区"), ("431052", "北区")]
POPULATION = {"431010": 186_000, "431028": 191_000, "431036": 93_000, "431044": 127_000, "431052": 142_000}

DISPATCH_SCHEMA = pa.schema(
    [("覚知日時", pa.timestamp("us")), ("区", pa.string()), ("区コード", pa.string())]
)
POP_SCHEMA = pa.schema([("区コード", pa.int64()), ("区名", pa.string()), ("人口", pa.int64())])


def dispatch_rows() -> list[dict[str, Any]]:
    """Plain rows: 3/31 23:30 and 4/1 00:30 straddle the fiscal year, one ward code is full-width."""
    rows = []
    start = dt.datetime(2024, 3, 30, 23, 30)
    for i in range(40):
        code, ward = WARDS[i % 5]
        rows.append({"覚知日時": start + dt.timedelta(hours=13 * i), "区": ward, "区コード": code})
    rows.append({"覚知日時": dt.datetime(2024, 3, 31, 23, 30), "区": "東区", "区コード": "４３１０２８"})
    rows.append({"覚知日時": dt.datetime(2024, 4, 1, 0, 30), "区": "中央区", "区コード": "431010"})
    return rows


def pop_rows() -> list[dict[str, Any]]:
    return [{"区コード": int(c), "区名": w, "人口": POPULATION[c]} for c, w in WARDS]


def write(table: Table, rows: list[dict[str, Any]], schema: pa.Schema) -> Any:
    """A new version of ``table`` through the lake's write protocol (outside transactions)."""
    version = write_version(
        table=table,
        batches=[pa.RecordBatch.from_pylist(rows, schema=schema)],
        schema=schema,
        mode="replace",
        job_id=f"test-{uuid.uuid4().hex[:8]}",
        source_name="test",
    )
    table.refresh_from_db()
    return version


def new_table(dataset: Dataset, name: str, title: str) -> Table:
    return Table.objects.create(dataset=dataset, name=name, title=title, storage_key=uuid.uuid4().hex)


def as_actor(actors: Actors, name: str) -> Actor:
    return actor_for(actors.users[name])


@pytest.fixture
def home(settings: Any, tmp_path: Path) -> Path:
    settings.MACHIDATA_HOME = tmp_path
    return tmp_path


@pytest.fixture
def world(actors: Actors, home: Path) -> dict[str, Any]:
    """Two source tables (health 課, 所属限定) and a target dataset of the same 課."""
    src = make_dataset(actors.org.health_div, slug="kyukyu", title="救急出動")
    dispatches = new_table(src, "dispatches", "救急出動記録")
    write(dispatches, dispatch_rows(), DISPATCH_SCHEMA)
    popds = make_dataset(actors.org.health_div, slug="jinko", title="区別人口（合成）")
    population = new_table(popds, "wards", "区別人口")
    write(population, pop_rows(), POP_SCHEMA)
    target = make_dataset(actors.org.health_div, slug="kakou", title="加工データ")
    return {"dispatches": dispatches, "population": population, "target": target}
