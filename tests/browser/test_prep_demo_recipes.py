"""Issue 8's other two demo recipes, built from scratch in the browser by a 課 editor who never wrote SQL.

1. A daily pedestrian counter log joined with a daily weather table on 日付 (both synthetic, labelled so),
   and a 天気 column calculated from the rainfall; run; the derived table holds every counter day with
   that day's weather.
2. The new-restaurant-permit workbook's monthly sheets (real: 熊本市オープンデータ, CC BY 4.0, file in
   ../shared/data/real/) stacked into one table with a column naming the sheet each row came from.

Every step goes through the step forms of the recipe page; every page visited has no axe-core
violations. The expected rows are computed here in plain Python from the source rows and compared
with the rows the run wrote to the lake.
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from machidata.lake.readers import files_for
from machidata.prep import demo
from machidata.prep.models import Recipe

from .conftest import login
from .test_prep_walk import _new_recipe, _run_and_open_table, _step, _submit, _table

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PERMITS = Path(__file__).resolve().parents[3] / "shared" / "data" / "real" / demo.PERMIT_FILE


def _written(recipe: Recipe) -> list[dict[str, Any]]:
    """The rows of the derived table's current version, read from its Parquet files."""
    recipe.refresh_from_db()
    table = recipe.output_table
    assert table is not None
    assert table.current_version is not None
    rows: list[dict[str, Any]] = []
    for path in files_for(table.current_version):
        rows.extend(pq.read_table(path).to_pylist())
    return rows


def _add_table(page: Any, key: str) -> None:
    page.select_option("#add-table", key)
    _submit(page, page.locator("#add-table ~ button"))


def test_counter_joined_with_weather_in_the_browser(
    page: Any, site: dict[str, Any], settings: Any, tmp_path: Path
) -> None:
    settings.MACHIDATA_HOME = tmp_path
    url, slug = site["url"], site["dataset"].slug
    weather = demo.synthetic_weather()[:21]
    counter = demo.synthetic_counter(weather)
    del weather[3]  # one counter day without a weather row: a left join keeps it, with no weather
    _table(site, "counter", "歩行者通行量（日別、合成データ）", counter)
    _table(site, "weather", "日別の天気（合成データ）", weather)
    login(page, site, "owner_editor")

    recipe = _new_recipe(
        page,
        url,
        title="歩行者通行量に天気を結合する（合成データ）",
        source_key=f"{slug}/counter",
        dataset=slug,
        name="counter-weather",
    )
    _add_table(page, f"{slug}/weather")
    form = _step(page, "別の表を結合する")
    form.locator("#j-left").select_option("日付")
    form.locator("#j-right").fill("日付")
    form.locator("#j-how").select_option("left")
    form.locator("#j-cols").fill("降水量（mm）,最高気温（℃）")
    _submit(page, form.get_by_role("button", name="加える"))
    # The unmatched counter day is shown before anyone runs the recipe.
    assert "相手のないキーを見る" in page.locator("main").inner_text()
    form = _step(page, "計算した列を加える")
    form.locator("#c-name").fill("天気")
    # A blank condition counts as not met (as in Excel), so the day without weather is told apart first.
    form.locator("#c-expr").fill(
        "if(isblank([降水量（mm）]), '記録なし', if([降水量（mm）] >= 1, '雨', '雨なし'))"
    )
    _submit(page, form.get_by_role("button", name="加える"))
    recipe.refresh_from_db()
    assert [s["type"] for s in recipe.definition["steps"]] == ["join", "calculate"]
    assert f"{len(counter)} 行" in page.locator("ol.steps").inner_text()
    _run_and_open_table(page, url, recipe)

    by_day = {w["日付"]: w for w in weather}
    expected = {}
    for c in counter:
        w = by_day.get(c["日付"])
        rain = None if w is None else w["降水量（mm）"]
        expected[c["日付"]] = (
            c["通行量"],
            rain,
            None if w is None else w["最高気温（℃）"],
            "記録なし" if rain is None else ("雨" if rain >= 1 else "雨なし"),
        )
    got = {
        r["日付"]: (r["通行量"], r["降水量（mm）"], r["最高気温（℃）"], r["天気"]) for r in _written(recipe)
    }
    assert got == expected
    assert {v[3] for v in expected.values()} >= {"雨", "雨なし", "記録なし"}  # the sample has every case


@pytest.mark.skipif(not PERMITS.is_file(), reason="the permit workbook is in ../shared/data/real/")
def test_permit_sheets_stacked_in_the_browser(
    page: Any, site: dict[str, Any], settings: Any, tmp_path: Path
) -> None:
    settings.MACHIDATA_HOME = tmp_path
    url, slug = site["url"], site["dataset"].slug
    sheets = demo.permit_sheets(PERMITS)
    assert len(sheets) >= 3
    titles = []
    for i, (sheet, rows) in enumerate(sheets, start=1):
        titles.append(f"{sheet}のシート")
        _table(site, f"month-{i:02d}", titles[-1], rows)
    login(page, site, "owner_editor")

    recipe = _new_recipe(
        page,
        url,
        title="月別のシートを積み重ねる（新規飲食店営業許可）",
        source_key=f"{slug}/month-01",
        dataset=slug,
        name="permits-stacked",
    )
    for i in range(2, len(sheets) + 1):
        _add_table(page, f"{slug}/month-{i:02d}")
    form = _step(page, "同じ形の表を積み重ねる")
    options = form.locator("#s-src option")
    form.locator("#s-src").select_option(
        [options.nth(k).get_attribute("value") for k in range(options.count())]
    )
    form.locator("#s-col").fill("月")
    _submit(page, form.get_by_role("button", name="加える"))
    total = sum(len(rows) for _, rows in sheets)
    assert (
        f"{total:,} 行" in page.locator("ol.steps").inner_text()
        or f"{total} 行" in page.locator("ol.steps").inner_text()
    )
    _run_and_open_table(page, url, recipe)

    written = _written(recipe)
    assert len(written) == total
    # Each row is labelled with the sheet (source table) it came from.
    assert collections.Counter(r["月"] for r in written) == {
        title: len(rows) for (_, rows), title in zip(sheets, titles, strict=True)
    }
    assert collections.Counter(r["屋号"] for r in written) == collections.Counter(
        r["屋号"] for _, rows in sheets for r in rows
    )
