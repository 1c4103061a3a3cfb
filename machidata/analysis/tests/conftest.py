"""Shared test data: the published reference data sets of ``../shared/data/reference`` (see its SOURCE.md)."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from machidata.access.models import Classification
from machidata.catalog.models import Table
from machidata.catalog.tests.table_fixtures import lake_home, write
from machidata.core.testing import Actors, make_dataset

__all__ = ["lake_home"]
WARDS = ["中央区", "東区", "西区", "南区", "北区"]
COUNTER_SCHEMA = pa.schema([("日付", pa.date32()), ("区", pa.string()), ("来庁者数", pa.int64())])

REPO = Path(__file__).resolve().parents[3]
REFERENCE = REPO.parent / "shared" / "data" / "reference"


@pytest.fixture
def reference() -> Path:
    if not REFERENCE.is_dir():
        pytest.skip("../shared/data/reference is not present")
    return REFERENCE


def counter_rows(*, effect: float = 20.0, start: dt.date = dt.date(2025, 7, 1)) -> list[dict[str, Any]]:
    """Daily visitors per ward counter, 2025-04-01 to 2025-09-27 (180 days): ward differences, a weekly cycle,
    deterministic noise, and ``effect`` more visitors at 中央区 from ``start`` (the truth the tests expect)."""
    import numpy as np

    rng = np.random.default_rng(11)
    rows = []
    for w, ward in enumerate(WARDS):
        for d in range(180):
            day = dt.date(2025, 4, 1) + dt.timedelta(days=d)
            value = 100 + 10 * w + (15 if day.weekday() < 5 else -15) + rng.normal(0, 3)
            if ward == "中央区" and day >= start:
                value += effect
            rows.append({"日付": day, "区": ward, "来庁者数": round(float(value))})
    return rows


def panel(
    *,
    units: int = 20,
    years: range = range(2015, 2025),
    treated: int = 5,
    start: int = 2020,
    effect: float = 3.0,
    seed: int = 1,
) -> pd.DataFrame:
    """Ward-by-year panel: unit and year effects, a common trend, noise sd 1, and ``effect`` on the first ``treated``
    wards from ``start`` on (the truth the estimators must recover)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = [
        {
            "区": f"区{u:02d}",
            "年度": year,
            "件数": 10
            + u
            + 0.5 * (year - years.start)
            + (effect if u < treated and year >= start else 0.0)
            + rng.normal(),
        }
        for u in range(units)
        for year in years
    ]
    return pd.DataFrame(rows)


@pytest.fixture
def counter_table(actors: Actors, lake_home: Any) -> Table:
    """A 所属限定 table of 健康づくり推進課: daily visitors per ward counter (synthetic, labelled so)."""
    dataset = make_dataset(actors.org.health_div, classification=Classification.RESTRICTED, slug="madoguchi")
    table = Table.objects.create(
        dataset=dataset, name="visits", title="窓口の来庁者数（合成）", storage_key=uuid.uuid4().hex
    )
    write(table, counter_rows(), schema=COUNTER_SCHEMA)
    return table
