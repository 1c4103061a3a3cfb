"""Issue 8's "done when", walked in the browser by a 課 editor who never wrote SQL: two demo recipes from scratch.

1. Dispatches per 1,000 residents by ward and fiscal year: a new recipe on the dispatch table, the
   population table added, 年度 calculated, counted per 区 × 年度, the population joined on 区 = 区名,
   the rate calculated; run; the derived table's page shows the rates.
2. The unpivot of an e-Stat style table (one column per year) into (地域, 年, 人口) rows; run; the
   derived table's page shows the rows.

Every step is added through the step forms of the recipe page; every page visited has no axe-core
violations. The expected figures are computed here in plain Python from the rows written.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from machidata.prep.models import Recipe, RunStatus

from .conftest import login
from .test_accessibility import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WARDS = {"中央区": 186_000, "東区": 191_000, "西区": 93_000}  # synthetic figures
ESTAT = [
    {"地域": "中央区", "2019年": 187_000, "2020年": 186_500, "2021年": 186_000},
    {"地域": "東区", "2019年": 190_000, "2020年": 190_800, "2021年": 191_000},
]


def _dispatches() -> list[dict[str, Any]]:
    start = dt.datetime(2024, 3, 30, 8)
    names = list(WARDS)
    return [{"覚知日時": start + dt.timedelta(hours=7 * i), "区": names[i % 3]} for i in range(30)]


def _table(site: dict[str, Any], name: str, title: str, rows: list[dict[str, Any]]) -> Any:
    import pyarrow as pa

    from machidata.catalog.models import Table
    from machidata.lake.protocol import write_version

    batch = pa.RecordBatch.from_pylist(rows)
    table = Table.objects.create(
        dataset=site["dataset"], name=name, title=title, storage_key=uuid.uuid4().hex
    )
    write_version(
        table=table, batches=[batch], schema=batch.schema, mode="replace", job_id=f"walk-{name}",
        source_name="walk",
    )  # fmt: skip
    return table


def _submit(page: Any, button: Any) -> None:
    with page.expect_navigation():
        button.click()


def _step(page: Any, summary: str) -> Any:
    """Open the step form under ``summary`` and return it."""
    details = page.locator("details", has=page.locator("summary", has_text=summary))
    details.locator("summary").click()
    return details.locator("form")


def _new_recipe(page: Any, url: str, *, title: str, source_key: str, dataset: str, name: str) -> Recipe:
    assert_accessible(page, url + reverse("prep:list"))
    page.fill("#id_title", title)
    page.select_option("#id_source", source_key)
    page.select_option("#id_dataset", dataset)
    page.fill("#id_table_name", name)
    _submit(page, page.get_by_role("button", name="作る", exact=False).last)
    return Recipe.objects.get(table_name=name)


def _run_and_open_table(page: Any, url: str, recipe: Recipe) -> str:
    """Run from the recipe page, follow the job's link to the derived table, and return that page's text."""
    detail = url + reverse("prep:detail", args=[recipe.pk])
    assert_accessible(page, detail)
    _submit(page, page.get_by_role("button", name="実行する"))
    recipe.refresh_from_db()
    assert recipe.status == RunStatus.OK, recipe.last_error
    assert_accessible(page, page.url)  # the job page
    _submit(page, page.get_by_role("link", name="作った表を見る"))
    assert_accessible(page, page.url)  # the derived table's page
    return str(page.locator("main").inner_text())


def test_a_join_and_an_unpivot_built_in_the_browser(
    page: Any, site: dict[str, Any], settings: Any, tmp_path: Path
) -> None:
    settings.MACHIDATA_HOME = tmp_path
    url, slug = site["url"], site["dataset"].slug
    _table(site, "dispatches", "救急出動記録", _dispatches())
    _table(site, "wards", "区別人口（架空）", [{"区名": w, "人口": p} for w, p in WARDS.items()])
    _table(site, "estat", "区別人口の推移（e-Stat 形式・架空）", ESTAT)
    login(page, site, "owner_editor")

    # 1. dispatches per 1,000 residents by ward and fiscal year
    recipe = _new_recipe(
        page,
        url,
        title="区別・年度別の千人当たり出動件数",
        source_key=f"{slug}/dispatches",
        dataset=slug,
        name="rate",
    )
    page.select_option("#add-table", f"{slug}/wards")
    _submit(page, page.locator("#add-table ~ button"))
    form = _step(page, "計算した列を加える")
    form.locator("#c-name").fill("年度")
    form.locator("#c-expr").fill("年度([覚知日時])")
    _submit(page, form.get_by_role("button", name="加える"))
    form = _step(page, "まとめて数える")
    form.locator("#a-by").select_option(["区", "年度"])
    form.locator("select[name=op1]").select_option("count")
    form.locator("input[name=name1]").fill("件数")
    _submit(page, form.get_by_role("button", name="加える"))
    form = _step(page, "別の表を結合する")
    form.locator("#j-left").select_option("区")
    form.locator("#j-right").fill("区名")
    form.locator("#j-cols").fill("人口")
    _submit(page, form.get_by_role("button", name="加える"))
    form = _step(page, "計算した列を加える")
    form.locator("#c-name").fill("千人当たり")
    form.locator("#c-expr").fill("round([件数] * 1000 / [人口], 3)")
    _submit(page, form.get_by_role("button", name="加える"))
    recipe.refresh_from_db()
    assert [s["type"] for s in recipe.definition["steps"]] == ["calculate", "aggregate", "join", "calculate"]
    # The page shows each step's row count: 30 rows, then one per 区 × 年度.
    counts: dict[tuple[str, int], int] = {}
    for r in _dispatches():
        t = r["覚知日時"]
        fy = t.year - (1 if t.month < 4 else 0)
        counts[(r["区"], fy)] = counts.get((r["区"], fy), 0) + 1
    steps_text = page.locator("ol.steps").inner_text()
    assert "30 行" in steps_text
    assert f"{len(counts)} 行" in steps_text
    text = _run_and_open_table(page, url, recipe)
    for (ward, fy), n in counts.items():
        rate = round(n * 1000 / WARDS[ward], 3)
        assert f"{rate:g}" in text, (ward, fy, rate)

    # 2. the unpivot of an e-Stat style table
    recipe = _new_recipe(
        page, url, title="区別人口を縦持ちに", source_key=f"{slug}/estat", dataset=slug, name="long"
    )
    form = _step(page, "縦に並べ替える")
    form.locator("#u-cols").select_option(["2019年", "2020年", "2021年"])
    form.locator("#u-names").fill("年")
    form.locator("#u-values").fill("人口")
    _submit(page, form.get_by_role("button", name="加える"))
    assert f"{len(ESTAT) * 3} 行" in page.locator("ol.steps").inner_text()
    text = _run_and_open_table(page, url, recipe)
    recipe.refresh_from_db()
    assert recipe.last_steps[-1]["rows"] == len(ESTAT) * 3
    for row in ESTAT:
        for year in ("2019年", "2020年", "2021年"):
            assert f"{row[year]:,}" in text or str(row[year]) in text


def test_a_starter_with_column_pickers_in_the_browser(
    page: Any, site: dict[str, Any], settings: Any, tmp_path: Path
) -> None:
    """The 人口当たりの率 starter: choose the tables, 「列を読み込む」, pick columns from the lists, make the recipe."""
    settings.MACHIDATA_HOME = tmp_path
    url, slug = site["url"], site["dataset"].slug
    _table(site, "dispatches", "救急出動記録", _dispatches())
    _table(site, "wards", "区別人口（架空）", [{"区名": w, "人口": p} for w, p in WARDS.items()])
    login(page, site, "owner_editor")
    assert_accessible(page, url + reverse("prep:starter", args=["rate"]))
    page.select_option("#pick-source", f"{slug}/dispatches")
    page.select_option("#pick-other", f"{slug}/wards")
    _submit(page, page.get_by_role("button", name="列を読み込む"))
    assert_accessible(page, page.url)
    page.select_option("#starter-key", "区")
    page.select_option("#starter-other_key", "区名")
    page.select_option("#starter-population", "人口")
    page.select_option("#id_dataset", slug)
    page.fill("#id_table_name", "rate-starter")
    _submit(page, page.get_by_role("button", name="手順を作る"))
    recipe = Recipe.objects.get(table_name="rate-starter")
    counts: dict[str, int] = {}
    for r in _dispatches():
        counts[r["区"]] = counts.get(r["区"], 0) + 1
    table = page.locator("main table").last.inner_text()
    for ward, n in counts.items():
        assert f"{round(n * 1000 / WARDS[ward], 2):g}" in table
    assert [s["type"] for s in recipe.definition["steps"]] == ["aggregate", "join", "calculate"]
