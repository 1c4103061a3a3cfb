"""The prep demo: the rate recipe over a small ambulance-like table gives the rates computed here by hand,
is idempotent, and re-runs (acting for its 課) when the ambulance table gets a new version."""

from __future__ import annotations

import collections
import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from machidata.catalog.models import Table
from machidata.core.testing import make_dataset, make_unit
from machidata.jp.fiscal import fiscal_year
from machidata.lake.readers import files_for
from machidata.prep.demo import OWNER_CODE, WARD_POPULATION, load_prep_demo
from machidata.prep.models import Recipe
from machidata.prep.tests.conftest import write

pytestmark = pytest.mark.django_db(transaction=True)
SCHEMA = pa.schema([("覚知日時", pa.timestamp("us")), ("区", pa.string())])


def _rows(n: int) -> list[dict[str, Any]]:
    wards = [w for _, w, _ in WARD_POPULATION]
    start = dt.datetime(2023, 3, 31, 23, 30)
    return [
        {"覚知日時": start + dt.timedelta(hours=7 * i), "区": wards[i % 5] if i % 11 else "ｶﾞｲﾌﾞ"}
        for i in range(n)
    ]


def _expected(rows: list[dict[str, Any]]) -> dict[tuple[str, int], float | None]:
    pop = {w: p for _, w, p in WARD_POPULATION}
    counts: collections.Counter[tuple[str, int]] = collections.Counter(
        (r["区"], fiscal_year(r["覚知日時"])) for r in rows
    )
    return {k: (round(n * 1000 / pop[k[0]], 2) if k[0] in pop else None) for k, n in counts.items()}


def test_rate_recipe(settings: Any, tmp_path: Path) -> None:
    settings.MACHIDATA_HOME = tmp_path
    owner = make_unit("救急課", code=OWNER_CODE)
    ambulance = make_dataset(owner, slug="ambulance-dispatch-records", classification="confidential")
    table = Table.objects.create(
        dataset=ambulance, name="dispatches", title="救急出動記録", storage_key=uuid.uuid4().hex
    )
    rows = _rows(3000)
    write(table, rows, SCHEMA)
    summary = load_prep_demo()
    assert summary.skipped == ""
    recipe = Recipe.objects.get(pk=summary.recipe_id)
    assert recipe.output_table is not None
    version = recipe.output_table.current_version
    assert version is not None
    got = {
        (r["区"], r["年度"]): r["千人当たり出動件数"]
        for f in files_for(version)
        for r in pq.read_table(f).to_pylist()
    }
    assert got == pytest.approx(_expected(rows))
    again = load_prep_demo()
    assert again.rate_version is None  # already made: nothing rewritten
    more = rows + _rows(50)
    write(table, more, SCHEMA)
    recipe.refresh_from_db()
    assert recipe.status == "ok", recipe.last_error
    assert recipe.output_table is not None
    newest = recipe.output_table.current_version
    assert newest is not None
    assert newest.number == version.number + 1
    got = {
        (r["区"], r["年度"]): r["千人当たり出動件数"]
        for f in files_for(newest)
        for r in pq.read_table(f).to_pylist()
    }
    assert got == pytest.approx(_expected(more))
