"""An unpivot recipe on real open data: 高松市「町丁別・年齢（5歳階級）別人口」(令和5年3月1日),
https://opendata.smartcity-takamatsu.jp/ckan/dataset/population, 高松市, CC BY 3.0 (file in ../shared/data/real/).

The file has one column per sex and 5-year age band (man1 … woman18), the shape of many 統計表. The
recipe turns them into rows, derives sex and band, and sums; the expected totals are read from the
CSV here with the standard library.
"""

from __future__ import annotations

import collections
import csv
from pathlib import Path
from typing import Any

import pytest

from machidata.catalog.models import Table, ValidationPolicy
from machidata.core.testing import Actors, make_dataset
from machidata.ingest.services import ingest_file, table_get_or_create
from machidata.lake.readers import files_for
from machidata.prep import selectors, services
from machidata.prep.tests.conftest import as_actor

pytestmark = pytest.mark.django_db(transaction=True)
REAL = (
    Path(__file__).resolve().parents[4]
    / "shared"
    / "data"
    / "real"
    / "372013_takamatsu_population_by_town_age_202303.csv"
)
BANDS = [f"{sex}{i}" for i in range(1, 19) for sex in ("man", "woman")]


def _expected() -> dict[tuple[str, int], int]:
    with REAL.open(encoding="utf-8-sig") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    with REAL.open(encoding="utf-8-sig") as fh:
        header = next(line for line in fh if line.startswith("#property"))
    names = header.strip().split(",")[1:]
    totals: dict[tuple[str, int], int] = collections.Counter()
    for row in csv.reader(lines):
        record = dict(zip(names, row[1:], strict=False))
        for band in BANDS:
            sex = "男" if band.startswith("man") else "女"
            value = record.get(band, "")
            totals[(sex, int(band.removeprefix("wo").removeprefix("man")))] += (
                int(value) if value.strip() else 0
            )
    return totals


@pytest.mark.skipif(not REAL.is_file(), reason="the shared real-data folder is not here")
def test_unpivot_sex_and_age_band_columns_of_a_real_table(
    actors: Actors, settings: Any, tmp_path: Path
) -> None:
    settings.MACHIDATA_HOME = tmp_path
    editor = as_actor(actors, "owner_editor")
    dataset = make_dataset(actors.org.health_div, slug="takamatsu", title="高松市 町丁別年齢別人口")
    table = table_get_or_create(actor=editor, dataset=dataset, name="population", title="町丁別年齢別人口")
    Table.objects.filter(pk=table.pk).update(validation_policy=ValidationPolicy.WARN)
    table.refresh_from_db()
    ingest_file(actor=editor, table=table, path=REAL, source_name=REAL.name)
    target = make_dataset(actors.org.health_div, slug="takamatsu-long", title="縦持ち")
    recipe = services.recipe_create(
        actor=editor, title="性別・5歳階級別の人口", dataset=target, table_name="long", source=table
    )
    steps: list[dict[str, Any]] = [
        {"type": "select", "columns": ["regionName", *BANDS], "rename": {"regionName": "町名"}},
        {"type": "unpivot", "columns": BANDS, "names_to": "項目", "values_to": "人数"},
        {"type": "calculate", "name": "性別", "expression": "if(left([項目], 3) = 'man', '男', '女')"},
        {
            "type": "calculate",
            "name": "階級",
            "expression": "round(number(replace(replace([項目], 'woman', ''), 'man', '')))",
        },
        {
            "type": "aggregate",
            "by": ["性別", "階級"],
            "measures": [{"op": "sum", "column": "人数", "name": "人口"}],
        },
    ]
    recipe = services.recipe_update(
        actor=editor,
        recipe=recipe,
        definition={**recipe.definition, "steps": steps},
        lock_version=recipe.lock_version,
    )
    version = services.recipe_execute(actor=editor, recipe=recipe)
    import pyarrow.parquet as pq

    got = {
        (r["性別"], r["階級"]): r["人口"] for f in files_for(version) for r in pq.read_table(f).to_pylist()
    }
    assert got == _expected()
    recipe.refresh_from_db()
    rows_in = recipe.last_steps[0]["rows"]
    source_version = Table.objects.get(pk=table.pk).current_version
    assert source_version is not None
    assert rows_in == source_version.rows
    assert recipe.last_steps[-1]["rows"] == len(got)  # a run records the rows in and out
    preview = selectors.recipe_preview(actor=editor, recipe=recipe)  # the preview counts every step
    assert preview.steps[2].rows == rows_in * len(BANDS)  # the unpivot made one row per town × column


@pytest.mark.skipif(not REAL.is_file(), reason="the shared real-data folder is not here")
def test_the_unpivot_demo_over_the_real_table(actors: Actors, settings: Any, tmp_path: Path) -> None:
    from machidata.access.models import Role
    from machidata.core.testing import make_unit, make_user
    from machidata.prep.demo import (
        STRATEGY_CODE,
        TAKAMATSU_SLUG,
        TAKAMATSU_TABLE,
        PrepDemoSummary,
        load_unpivot_demo,
    )

    settings.MACHIDATA_HOME = tmp_path
    strategy = make_unit("データ戦略課（デモ）", code=STRATEGY_CODE)
    make_user("admin", unit=strategy, role=Role.ADMIN)
    editor = as_actor(actors, "owner_editor")
    dataset = make_dataset(actors.org.health_div, slug=TAKAMATSU_SLUG, title="高松市 町丁別年齢別人口")
    table = table_get_or_create(actor=editor, dataset=dataset, name=TAKAMATSU_TABLE, title="町丁別年齢別人口")
    Table.objects.filter(pk=table.pk).update(validation_policy=ValidationPolicy.WARN)
    table.refresh_from_db()
    ingest_file(actor=editor, table=table, path=REAL, source_name=REAL.name)
    summary = PrepDemoSummary()
    load_unpivot_demo(summary)
    assert summary.skipped == ""
    assert summary.long_version == 1
    from machidata.prep.models import Recipe

    recipe = Recipe.objects.get(table_name="long")
    assert recipe.output_table is not None
    assert recipe.output_table.current_version is not None
    import pyarrow.parquet as pq

    rows = [r for f in files_for(recipe.output_table.current_version) for r in pq.read_table(f).to_pylist()]
    totals: dict[tuple[str, int], int] = collections.Counter()
    for r in rows:
        totals[(r["性別"], r["階級"])] += r["人数"] or 0
    assert totals == _expected()
    labels = {r["階級"]: r["年齢"] for r in rows}
    assert labels[1] == "0〜4歳"
    assert labels[14] == "65〜69歳"
    assert labels[18] == "85歳以上"
