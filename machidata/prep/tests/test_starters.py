"""The starter recipes (ひな形): each starter's recipe, run by the engine on a small table, gives the numbers
computed here by hand / plain Python."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from machidata.core.errors import InvalidInput
from machidata.engine import Recipe
from machidata.engine.recipes import preview_recipe
from machidata.prep.starters import STARTERS, starter_definition


def _files(tmp_path: Path, tables: dict[str, list[dict[str, Any]]]) -> dict[str, list[str]]:
    out = {}
    for alias, rows in tables.items():
        path = tmp_path / f"{alias}.parquet"
        pq.write_table(pa.Table.from_pylist(rows), path)
        out[alias] = [str(path)]
    return out


def _run(
    tmp_path: Path, definition: dict[str, Any], tables: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    files = _files(tmp_path, tables)
    preview = preview_recipe(files, Recipe.from_dict(definition), limit=1000)
    assert not [f for s in preview.steps for f in s.errors]
    return preview.table.to_pylist()


def test_rate_counts_rows_joins_the_population_and_divides(tmp_path: Path) -> None:
    definition = starter_definition(
        "rate",
        source=("kyukyu/dispatches", "救急出動"),
        others=[("jinko/population", "人口")],
        params={"key": "区", "by": "年度", "other_key": "区名", "population": "人口", "per": "1000"},
    )
    dispatches = (
        [{"区": "中央区", "年度": 2023}] * 3
        + [{"区": "東区", "年度": 2023}] * 2
        + [{"区": "東区", "年度": 2024}]
    )
    population = [{"区名": "中央区", "人口": 186_000}, {"区名": "東区", "人口": 191_000}]
    rows = _run(tmp_path, definition, {"s1": dispatches, "s2": population})
    got = {(r["区"], r["年度"]): (r["件数"], r["1000人当たり件数"]) for r in rows}
    assert got == {
        ("中央区", 2023): (3, round(3 * 1000 / 186_000, 2)),
        ("東区", 2023): (2, round(2 * 1000 / 191_000, 2)),
        ("東区", 2024): (1, round(1 * 1000 / 191_000, 2)),
    }


def test_rate_with_a_count_column_and_per_100000(tmp_path: Path) -> None:
    definition = starter_definition(
        "rate",
        source=("a/b", "b"),
        others=[("c/d", "d")],
        params={
            "key": "区コード",
            "count": "出動件数",
            "other_key": "区コード",
            "population": "人口",
            "per": "100000",
        },
    )
    counts = [{"区コード": "431010", "出動件数": 1234}, {"区コード": "４３１０２８", "出動件数": 77}]
    population = [{"区コード": "431010", "人口": 186_000}, {"区コード": "431028", "人口": 191_000}]
    rows = _run(tmp_path, definition, {"s1": counts, "s2": population})
    got = {r["区コード"]: r["100000人当たり出動件数"] for r in rows}
    # the full-width code matches through NFKC
    assert got == {
        "431010": round(1234 * 100000 / 186_000, 2),
        "４３１０２８": round(77 * 100000 / 191_000, 2),
    }


def test_year_over_year_pairs_each_row_with_the_previous_year_of_its_group(tmp_path: Path) -> None:
    definition = starter_definition(
        "yoy",
        source=("a/counts", "件数"),
        others=[],
        params={"period": "年度", "value": "件数", "by": "区"},
    )
    table = [
        {"区": "中央区", "年度": 2022, "件数": 100},
        {"区": "中央区", "年度": 2023, "件数": 120},
        {"区": "中央区", "年度": 2024, "件数": 90},
        {"区": "東区", "年度": 2023, "件数": 0},
        {"区": "東区", "年度": 2024, "件数": 5},
    ]
    rows = _run(tmp_path, definition, {"s1": table, "s2": table})
    assert definition["sources"][1]["table"] == "a/counts"  # the same table, joined on the previous year
    got = {(r["区"], r["年度"]): (r["件数（前の期）"], r["増減"], r["増減率（%）"]) for r in rows}
    assert got == {
        ("中央区", 2022): (None, None, None),
        ("中央区", 2023): (100, 20, 20.0),
        ("中央区", 2024): (120, -30, -25.0),
        ("東区", 2023): (None, None, None),
        ("東区", 2024): (0, 5, None),  # a division by zero gives a blank
    }
    assert list(rows[0]) == ["区", "年度", "件数", "件数（前の期）", "増減", "増減率（%）"]


def test_month_over_month_meets_the_previous_month_across_the_new_year(tmp_path: Path) -> None:
    import datetime as dt

    definition = starter_definition(
        "yoy",
        source=("a/monthly", "月別件数"),
        others=[],
        params={"unit": "month", "period": "年月", "value": "件数", "by": "区"},
    )
    table = [
        {"区": "中央区", "年月": dt.date(2023, 11, 1), "件数": 10},
        {"区": "中央区", "年月": dt.date(2023, 12, 1), "件数": 12},
        {"区": "中央区", "年月": dt.date(2024, 1, 1), "件数": 9},
        {"区": "中央区", "年月": dt.date(2024, 3, 1), "件数": 4},  # February is missing
        {"区": "東区", "年月": dt.date(2024, 1, 1), "件数": 7},
    ]
    rows = _run(tmp_path, definition, {"s1": table, "s2": table})
    # By hand: the previous month of each (区, 年月) in the same table, or blank.
    previous = {(r["区"], r["年月"].year * 12 + r["年月"].month - 1): r["件数"] for r in table}
    expected = {}
    for r in table:
        before = previous.get((r["区"], r["年月"].year * 12 + r["年月"].month - 2))
        change = None if before is None else r["件数"] - before
        expected[(r["区"], r["年月"])] = (before, change)
    assert expected[("中央区", dt.date(2024, 1, 1))] == (12, -3)  # January meets December
    got = {(r["区"], r["年月"]): (r["件数（前の期）"], r["増減"]) for r in rows}
    assert got == expected
    assert list(rows[0]) == ["区", "年月", "件数", "件数（前の期）", "増減", "増減率（%）"]


def test_the_month_join_refuses_a_text_period(tmp_path: Path) -> None:
    from machidata.engine import RecipeStepError

    definition = starter_definition(
        "yoy", source=("a/m", "m"), others=[], params={"unit": "month", "period": "年月", "value": "件数"}
    )
    table = [{"年月": "2024-01", "件数": 1}]
    with pytest.raises(RecipeStepError, match="日付か日時"):
        _run(tmp_path, definition, {"s1": table, "s2": table})
    with pytest.raises(InvalidInput, match="比べる期間"):
        starter_definition(
            "yoy", source=("a/m", "m"), others=[], params={"unit": "week", "period": "p", "value": "v"}
        )


def test_monthly_stack_appends_the_months_with_a_source_column(tmp_path: Path) -> None:
    definition = starter_definition(
        "stack",
        source=("p/m04", "4月"),
        others=[("p/m05", "5月"), ("p/m06", "6月")],
        params={"source_column": "月"},
    )
    months = {
        "s1": [{"店名": "A", "種別": "飲食店"}],
        "s2": [{"店名": "B", "種別": "飲食店"}, {"店名": "C", "種別": "喫茶店"}],
        "s3": [{"店名": "D", "種別": "飲食店"}],
    }
    rows = _run(tmp_path, definition, months)
    assert len(rows) == 4
    assert sorted(r["店名"] for r in rows) == ["A", "B", "C", "D"]
    by_name = {r["店名"]: r["月"] for r in rows}
    assert by_name["A"] != by_name["B"] == by_name["C"] != by_name["D"]


def test_unpivot_of_an_estat_style_table_gives_year_and_value_rows(tmp_path: Path) -> None:
    definition = starter_definition(
        "unpivot",
        source=("e/stat", "統計表"),
        others=[],
        params={"ids": "地域", "columns": "2019年, 2020年、2021年", "names_to": "年", "values_to": "人口"},
    )
    table = [
        {"地域": "中央区", "注記": "x", "2019年": 180, "2020年": 182, "2021年": 186},
        {"地域": "東区", "注記": "y", "2019年": 190, "2020年": 191, "2021年": 191},
    ]
    rows = _run(tmp_path, definition, {"s1": table})
    expected = {(t["地域"], int(c[:4]), t[c]) for t in table for c in ("2019年", "2020年", "2021年")}
    assert {(r["地域"], r["年"], r["人口"]) for r in rows} == expected
    assert len(rows) == 6
    assert "注記" not in rows[0]


@pytest.mark.parametrize(
    ("slug", "others", "params", "message"),
    [
        ("rate", [], {"key": "区"}, "人口の表"),
        ("rate", [("a/b", "b")], {"key": "区", "other_key": "区", "population": "人口", "per": "千"}, "整数"),
        ("yoy", [], {"value": "件数"}, "年・年度（整数）または月（日付）の列」を指定"),
        ("stack", [], {"source_column": "月"}, "積み重ねる表"),
        ("unpivot", [], {"ids": "地域"}, "縦に並べる年の列"),
        ("nothing", [], {}, "ひな形"),
    ],
)
def test_missing_fields_are_named(
    slug: str, others: list[tuple[str, str]], params: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        starter_definition(slug, source=("a/s", "s"), others=others, params=params)


def test_there_are_the_four_starters_of_the_issue() -> None:
    assert set(STARTERS) == {"rate", "yoy", "stack", "unpivot"}
