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


REAL = Path(__file__).resolve().parents[4] / "shared" / "data" / "real"


def _read_all(recipe: Recipe) -> list[dict[str, Any]]:
    assert recipe.output_table is not None, recipe.last_error
    version = recipe.output_table.current_version
    assert version is not None
    return [r for f in files_for(version) for r in pq.read_table(f).to_pylist()]


def test_counter_weather_join_and_permit_stack(settings: Any, tmp_path: Path) -> None:
    from django.contrib.auth import get_user_model

    from machidata.catalog.models import Dataset
    from machidata.prep.demo import (
        PERMIT_FILE,
        STRATEGY_CODE,
        PrepDemoSummary,
        load_join_and_stack_demo,
        synthetic_counter,
        synthetic_weather,
    )

    settings.MACHIDATA_HOME = tmp_path
    make_unit("データ戦略課", code=STRATEGY_CODE)
    get_user_model().objects.create_superuser("admin", "admin@example.jp", "x")
    summary = PrepDemoSummary()
    load_join_and_stack_demo(summary, REAL)
    assert summary.skipped == ""
    joined = _read_all(Recipe.objects.get(pk=summary.recipes["daily"]))
    weather = {w["日付"]: w for w in synthetic_weather()}
    counter = {c["日付"]: c["通行量"] for c in synthetic_counter(list(weather.values()))}
    assert len(joined) == len(weather) == 365
    for row in joined:
        w = weather[row["日付"]]
        assert row["通行量"] == counter[row["日付"]]
        assert row["降水量（mm）"] == w["降水量（mm）"]
        assert row["天気"] == ("雨" if w["降水量（mm）"] >= 1 else "雨なし")
    for slug in ("pedestrian-counter-synthetic", "daily-weather-synthetic"):
        dataset = Dataset.objects.get(slug=slug)
        assert dataset.is_synthetic
        assert "合成データ" in dataset.title
    if not (REAL / PERMIT_FILE).is_file():
        pytest.skip("the real permit workbook is not beside the repo")
    import openpyxl

    workbook = openpyxl.load_workbook(REAL / PERMIT_FILE, read_only=True)
    expected: collections.Counter[str] = collections.Counter()
    for sheet in workbook.worksheets:
        lines = list(sheet.iter_rows(values_only=True))
        name_at = list(lines[0]).index("屋号")
        expected[sheet.title.strip()] = sum(1 for line in lines[1:] if str(line[name_at] or "").strip())
    stacked = _read_all(Recipe.objects.get(pk=summary.recipes["stacked"]))
    assert len(stacked) == sum(expected.values())
    by_source = collections.Counter(r["月"] for r in stacked)
    assert sorted(by_source.values()) == sorted(expected.values())
    assert len(by_source) == len(expected) == 11
    assert "申請者氏名" not in stacked[0]
    again = PrepDemoSummary()
    load_join_and_stack_demo(again, REAL)  # idempotent: the same recipes, nothing rewritten
    assert again.recipes == summary.recipes
