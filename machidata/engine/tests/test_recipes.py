"""Recipes: every step type over Parquet files, counts per step, findings, and the bad inputs of issue 8.

Expected answers are computed from the plain Python rows below, never from the engine.
"""

from __future__ import annotations

import collections
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from machidata.engine import EngineQueryError
from machidata.engine.recipes import Recipe, RecipeStepError, preview_recipe, stream_recipe
from machidata.jp.fiscal import fiscal_year

# Ambulance-like rows: ward code as text (one full-width, one with the leading zero lost), date.
AMB: list[dict[str, Any]] = [
    {"_id": 1, "区コード": "431010", "区": "中央区", "日": dt.date(2024, 3, 31), "人数": 1},
    {"_id": 2, "区コード": "431028", "区": "東区", "日": dt.date(2024, 4, 1), "人数": 2},
    {"_id": 3, "区コード": "４３１０２８", "区": "東区", "日": dt.date(2024, 4, 2), "人数": 1},
    {"_id": 4, "区コード": "431052", "区": "北区", "日": dt.date(2024, 5, 1), "人数": 3},
    {"_id": 5, "区コード": "999999", "区": "不明", "日": dt.date(2024, 6, 1), "人数": 1},
]
# Ward population with an integer code (as Excel leaves it).
POP: list[dict[str, Any]] = [
    {"code": 431010, "区名": "中央区", "人口": 186000},
    {"code": 431028, "区名": "東区", "人口": 191000},
    {"code": 431036, "区名": "西区", "人口": 0},
    {"code": 431052, "区名": "北区", "人口": 142000},
]
# An e-Stat style table: one column per year.
ESTAT: list[dict[str, Any]] = [
    {"区": "中央区", "2019年": 100, "2020年": 110, "2021年": 120},
    {"区": "東区", "2019年": 200, "2020年": 190, "2021年": None},
]
APRIL: list[dict[str, Any]] = [{"店名": "A", "件数": 1}, {"店名": "B", "件数": 2}]
MAY: list[dict[str, Any]] = [{"店名": "C", "件数": 5}]
MAY_ODD: list[dict[str, Any]] = [{"店名": "C", "件数": 5, "備考": "x"}]
WARD_NAMES = {"431010": "中央区", "431028": "東区", "431036": "西区", "431044": "南区", "431052": "北区"}


def _write(tmp_path: Path, name: str, rows: list[dict[str, Any]]) -> list[str]:
    path = tmp_path / f"{name}.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    return [str(path)]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, list[str]]:
    return {
        "amb": _write(tmp_path, "amb", AMB),
        "pop": _write(tmp_path, "pop", POP),
        "estat": _write(tmp_path, "estat", ESTAT),
        "apr": _write(tmp_path, "apr", APRIL),
        "may": _write(tmp_path, "may", MAY),
        "may_odd": _write(tmp_path, "may_odd", MAY_ODD),
    }


def _recipe(start: str, *steps: dict[str, Any], others: tuple[str, ...] = ()) -> Recipe:
    sources = [{"alias": a, "table": f"demo/{a}", "label": a} for a in (start, *others)]
    return Recipe.from_dict({"version": 1, "sources": sources, "steps": list(steps)})


def _run(files: dict[str, list[str]], recipe: Recipe, **kw: Any) -> Any:
    used = {s.alias: files[s.alias] for s in recipe.sources}
    return preview_recipe(used, recipe, exclude=["_id"], limit=1000, **kw)


def test_recipe_is_json_and_versioned() -> None:
    recipe = _recipe("amb", {"type": "calculate", "name": "年度", "expression": "fiscal_year([日])"})
    data = recipe.to_dict()
    assert data["version"] == 1
    assert Recipe.from_dict(data) == recipe
    with pytest.raises(EngineQueryError, match="形式が正しくありません"):
        Recipe.from_dict({"version": 2, "sources": [{"alias": "a", "table": "x"}]})


def test_select_rename_and_filter_reuse_the_table_query_filters(files: dict[str, list[str]]) -> None:
    recipe = _recipe(
        "amb",
        {"type": "filter", "filters": [{"column": "人数", "op": "ge", "value": 2}]},
        {"type": "select", "columns": ["区", "人数"], "rename": {"人数": "搬送人数"}},
    )
    result = _run(files, recipe)
    assert [s.rows for s in result.steps] == [
        len(AMB),
        sum(r["人数"] >= 2 for r in AMB),
        sum(r["人数"] >= 2 for r in AMB),
    ]
    assert result.table.column_names == ["区", "搬送人数"]
    assert sorted(result.table.column("搬送人数").to_pylist()) == sorted(
        r["人数"] for r in AMB if r["人数"] >= 2
    )


def test_join_with_key_normalisation_reports_unmatched_keys_on_both_sides(
    files: dict[str, list[str]],
) -> None:
    recipe = _recipe(
        "amb",
        {
            "type": "join",
            "source": "pop",
            "keys": [{"left": "区コード", "right": "code"}],
            "normalise": {"as_text": True, "nfkc": True},
            "columns": ["人口"],
        },
        others=("pop",),
    )
    result = _run(files, recipe)
    join = result.steps[1]
    assert join.rows == len(AMB)  # a left join keeps every row
    population = {str(p["code"]): p["人口"] for p in POP}
    got = {(r["区コード"], r["人口"]) for r in result.table.to_pylist()}
    import unicodedata

    assert got == {(r["区コード"], population.get(unicodedata.normalize("NFKC", r["区コード"]))) for r in AMB}
    unmatched = next(f for f in join.findings if f["code"] == "join_unmatched")
    left_missing = {unicodedata.normalize("NFKC", r["区コード"]) for r in AMB} - set(population)
    right_missing = set(population) - {unicodedata.normalize("NFKC", r["区コード"]) for r in AMB}
    assert {e["key"] for e in unmatched["left"]["examples"]} == left_missing
    assert {e["key"] for e in unmatched["right"]["examples"]} == right_missing
    assert unmatched["left"]["keys"] == len(left_missing)
    assert "999999" in unmatched["message"]


def test_join_key_types_that_differ_are_refused_with_a_hint(files: dict[str, list[str]]) -> None:
    recipe = _recipe(
        "amb",
        {"type": "join", "source": "pop", "keys": [{"left": "区コード", "right": "code"}]},
        others=("pop",),
    )
    with pytest.raises(
        RecipeStepError,
        match="手順1（結合）: キーの型が違います（左「区コード」: 文字列、右「code」: 整数）。「キーを文字として揃える」",
    ):
        _run(files, recipe)


def test_leading_zeros_lost_by_excel_are_restored_by_zero_padding(tmp_path: Path) -> None:
    towns = _write(
        tmp_path, "towns", [{"町丁コード": "0012", "町丁": "水前寺"}, {"町丁コード": "0105", "町丁": "健軍"}]
    )
    counts = _write(tmp_path, "counts", [{"町丁コード": 12, "件数": 3}, {"町丁コード": 105, "件数": 4}])
    recipe = _recipe(
        "towns",
        {
            "type": "join",
            "source": "counts",
            "how": "inner",
            "keys": [{"left": "町丁コード", "right": "町丁コード"}],
            "normalise": {"zero_pad": 4},
        },
        others=("counts",),
    )
    plain = _recipe(
        "towns",
        {
            "type": "join",
            "source": "counts",
            "how": "inner",
            "keys": [{"left": "町丁コード", "right": "町丁コード"}],
            "normalise": {"as_text": True},
        },
        others=("counts",),
    )
    files = {"towns": towns, "counts": counts}
    assert _run(files, recipe).steps[1].rows == 2
    unpadded = _run(files, plain)
    assert unpadded.steps[1].rows == 0
    assert any(f["code"] == "join_no_match" for f in unpadded.steps[1].findings)


def test_many_to_many_join_warns_with_row_counts_and_refuses_to_stream(tmp_path: Path) -> None:
    left = [{"k": "a", "v": i} for i in range(3)] + [{"k": "b", "v": 9}]
    right = [{"k": "a", "w": j} for j in range(4)] + [{"k": "b", "w": 0}]
    files = {"l": _write(tmp_path, "l", left), "r": _write(tmp_path, "r", right)}
    recipe = _recipe(
        "l",
        {"type": "join", "source": "r", "how": "inner", "keys": [{"left": "k", "right": "k"}]},
        others=("r",),
    )
    result = _run(files, recipe)
    expected = sum(1 for a in left for b in right if a["k"] == b["k"])
    finding = next(f for f in result.steps[1].findings if f["code"] == "many_to_many")
    assert finding["level"] == "error"
    assert finding["left_rows"] == len(left)
    assert finding["joined_rows"] == expected == result.steps[1].rows
    assert f"{len(left):,}行から{expected:,}行" in finding["message"]
    with pytest.raises(RecipeStepError, match="手順1（結合）: 多対多の結合"), stream_recipe(files, recipe):
        pass  # pragma: no cover — never reached
    allowed = _recipe(
        "l",
        {
            "type": "join",
            "source": "r",
            "how": "inner",
            "keys": [{"left": "k", "right": "k"}],
            "allow_many_to_many": True,
        },
        others=("r",),
    )
    with stream_recipe(files, allowed) as stream:
        assert stream.reader.read_all().num_rows == expected


def test_calculated_columns_fiscal_year_and_division_by_zero(files: dict[str, list[str]]) -> None:
    recipe = _recipe(
        "amb",
        {
            "type": "join",
            "source": "pop",
            "keys": [{"left": "区コード", "right": "code"}],
            "normalise": {"as_text": True, "nfkc": True},
            "columns": ["人口"],
        },
        {"type": "calculate", "name": "年度", "expression": "fiscal_year([日])"},
        {"type": "calculate", "name": "率", "expression": "[人数] * 1000 / coalesce([人口], 0)"},
        others=("pop",),
    )
    result = _run(files, recipe)
    rows = result.table.to_pylist()
    assert sorted(r["年度"] for r in rows) == sorted(fiscal_year(r["日"]) for r in AMB)
    zero = next(f for f in result.steps[3].findings if f["code"] == "division_by_zero")
    population = {str(p["code"]) for p in POP}
    import unicodedata

    unmatched = sum(1 for r in AMB if unicodedata.normalize("NFKC", r["区コード"]) not in population)
    assert zero["rows"] == unmatched
    assert "計算列「率」" in zero["message"]
    assert zero["level"] == "warning"
    assert sum(r["率"] is None for r in rows) == unmatched


def test_expression_with_a_missing_column_names_step_and_column(files: dict[str, list[str]]) -> None:
    recipe = _recipe(
        "amb",
        {"type": "select", "columns": ["区", "人数"]},
        {"type": "calculate", "name": "率", "expression": "[人数] / [人口]"},
    )
    with pytest.raises(
        RecipeStepError, match="手順2（計算列）: 計算列「率」の式: 列「人口」はこの表にありません"
    ):
        _run(files, recipe)


def test_recode_through_a_code_list_reports_unmapped_codes(files: dict[str, list[str]]) -> None:
    recipe = _recipe(
        "amb",
        {"type": "recode", "column": "区コード", "codelist": "wards", "target": "区名", "unmapped": "keep"},
    )
    result = _run(files, recipe, codelists={"wards": WARD_NAMES})
    names = result.table.column("区名").to_pylist()
    assert names == [WARD_NAMES.get(r["区コード"], r["区コード"]) for r in AMB]
    unmapped = [r["区コード"] for r in AMB if r["区コード"] not in WARD_NAMES]
    finding = next(f for f in result.steps[1].findings if f["code"] == "unmapped_codes")
    assert finding["level"] == "warning"
    assert finding["rows"] == len(unmapped)
    assert {c["code"] for c in finding["codes"]} == set(unmapped)


def test_recode_with_unmapped_codes_stops_a_run_by_default(files: dict[str, list[str]]) -> None:
    recipe = _recipe("amb", {"type": "recode", "column": "区コード", "codelist": "wards"})
    preview = _run(files, recipe, codelists={"wards": WARD_NAMES})
    assert preview.errors
    assert "手順1（コードの置き換え）" in preview.errors[0]
    assert "999999" in preview.errors[0]
    with (
        pytest.raises(RecipeStepError, match="コード表「wards」にないコード"),
        stream_recipe({"amb": files["amb"]}, recipe, codelists={"wards": WARD_NAMES}),
    ):
        pass  # pragma: no cover


def test_unpivot_year_columns_into_rows(files: dict[str, list[str]]) -> None:
    recipe = _recipe(
        "estat",
        {
            "type": "unpivot",
            "columns": ["2019年", "2020年", "2021年"],
            "names_to": "年",
            "values_to": "人数",
            "names_as_integer": True,
        },
    )
    result = _run(files, recipe)
    got = sorted((r["区"], r["年"], r["人数"]) for r in result.table.to_pylist())
    expected = sorted((r["区"], int(c[:4]), r[c]) for r in ESTAT for c in ("2019年", "2020年", "2021年"))
    assert got == expected
    assert result.steps[1].rows == len(ESTAT) * 3


def test_stack_same_shape_with_a_source_column_and_refuse_different_shapes(
    files: dict[str, list[str]],
) -> None:
    recipe = _recipe("apr", {"type": "stack", "sources": ["may"], "source_column": "月"}, others=("may",))
    result = _run(files, recipe)
    got = sorted((r["月"], r["店名"]) for r in result.table.to_pylist())
    assert got == sorted([("apr", r["店名"]) for r in APRIL] + [("may", r["店名"]) for r in MAY])
    odd = _recipe("apr", {"type": "stack", "sources": ["may_odd"]}, others=("may_odd",))
    with pytest.raises(
        RecipeStepError,
        match="手順1（積み重ね）: 表「may_odd」の列が違うため積み重ねられません（余分な列: 備考）",
    ):
        _run(files, odd)


def test_group_and_aggregate(files: dict[str, list[str]]) -> None:
    recipe = _recipe(
        "amb",
        {"type": "calculate", "name": "年度", "expression": "年度([日])"},
        {
            "type": "aggregate",
            "by": ["区", "年度"],
            "measures": [
                {"op": "count", "name": "件数"},
                {"op": "sum", "column": "人数", "name": "人数計"},
                {"op": "max", "column": "日"},
            ],
        },
    )
    result = _run(files, recipe)
    expected: dict[tuple[str, int], list[int]] = collections.defaultdict(list)
    for r in AMB:
        expected[(r["区"], fiscal_year(r["日"]))].append(r["人数"])
    got = {(r["区"], r["年度"]): (r["件数"], r["人数計"]) for r in result.table.to_pylist()}
    assert got == {k: (len(v), sum(v)) for k, v in expected.items()}
    assert result.steps[2].rows == len(expected)
    assert "日_最大" in result.table.column_names
    with pytest.raises(
        RecipeStepError, match="手順1（集計）: 列「区」は文字列なので「合計」は計算できません"
    ):
        _run(files, _recipe("amb", {"type": "aggregate", "measures": [{"op": "sum", "column": "区"}]}))


def test_stream_yields_the_same_rows_as_the_preview(files: dict[str, list[str]]) -> None:
    recipe = _recipe("amb", {"type": "calculate", "name": "和暦", "expression": "wareki([日])"})
    with stream_recipe({"amb": files["amb"]}, recipe, exclude=["_id"]) as stream:
        table = stream.reader.read_all()
        # A run counts no step (the preview does): the rows come out of the one query.
        assert [s.rows for s in stream.steps] == [None, None]
        assert [s.columns for s in stream.steps][-1][-1] == "和暦"
    assert table.num_rows == len(AMB)
    assert "_id" not in table.column_names
    assert sorted(table.column("和暦").to_pylist()) == sorted(
        "令和6年" if r["日"] >= dt.date(2024, 1, 1) else "?" for r in AMB
    )


def test_preview_upto_a_step_ignores_a_broken_later_step(files: dict[str, list[str]]) -> None:
    recipe = _recipe(
        "amb",
        {"type": "filter", "filters": [{"column": "区", "op": "eq", "value": "東区"}]},
        {"type": "calculate", "name": "率", "expression": "[件数] / [人口]"},
    )
    with pytest.raises(RecipeStepError):
        _run(files, recipe)
    result = _run(files, recipe, upto=1)
    assert [s.rows for s in result.steps] == [len(AMB), sum(r["区"] == "東区" for r in AMB)]


@pytest.mark.parametrize("name", ["千人 当たり", "率(%)", "_id", "a=b"])
def test_new_column_names_the_lake_refuses_are_named(files: dict[str, list[str]], name: str) -> None:
    recipe = _recipe("amb", {"type": "calculate", "name": name, "expression": "[人数] * 2"})
    with pytest.raises(RecipeStepError, match=f"手順1（計算列）: 列名「{re.escape(name)}」には空白や記号"):
        _run(files, recipe)


@pytest.mark.parametrize("how", ["left", "inner"])
def test_join_row_count_from_key_groups_matches_the_joined_rows_with_blank_keys(
    tmp_path: Path, how: str
) -> None:
    left = [
        {"k": "a", "v": 1},
        {"k": None, "v": 2},
        {"k": "b", "v": 3},
        {"k": "a", "v": 4},
        {"k": "z", "v": 5},
    ]
    right = [{"k": "a", "w": 1}, {"k": None, "w": 2}, {"k": "b", "w": 3}, {"k": "b", "w": 4}]
    files = {"l": _write(tmp_path, "l", left), "r": _write(tmp_path, "r", right)}
    recipe = _recipe(
        "l", {"type": "join", "source": "r", "how": how, "keys": [{"left": "k", "right": "k"}]}, others=("r",)
    )
    matched = sum(1 for a in left for b in right if a["k"] is not None and a["k"] == b["k"])
    unmatched_left = sum(1 for a in left if a["k"] is None or all(a["k"] != b["k"] for b in right))
    expected = matched + (unmatched_left if how == "left" else 0)
    assert _run(files, recipe).steps[1].rows == expected
    with stream_recipe(files, recipe) as stream:
        assert stream.reader.read_all().num_rows == expected


def test_key_widths_that_differ_are_named(tmp_path: Path) -> None:
    files = {
        "l": _write(tmp_path, "l", [{"code": "431010", "v": 1}, {"code": "431028", "v": 2}]),
        "r": _write(tmp_path, "r", [{"code": "43101", "w": 1}, {"code": "43102", "w": 2}]),
    }
    recipe = _recipe(
        "l", {"type": "join", "source": "r", "keys": [{"left": "code", "right": "code"}]}, others=("r",)
    )
    finding = next(f for f in _run(files, recipe).steps[1].findings if f["code"] == "key_widths")
    assert "キー「code」の桁数が違います（今の表: 6桁、結合する表: 5桁）" in finding["message"]


def test_a_run_checks_only_what_can_stop_it(tmp_path: Path) -> None:
    """Unmatched keys, a one-to-many join and a division by zero are the preview's warnings; a run writes."""
    left = [{"k": "a", "v": 0}, {"k": "b", "v": 2}, {"k": "z", "v": 3}]
    right = [{"k": "a", "w": 1}, {"k": "b", "w": 5}, {"k": "b", "w": 6}, {"k": "y", "w": 7}]
    files = {"l": _write(tmp_path, "l", left), "r": _write(tmp_path, "r", right)}
    recipe = _recipe(
        "l",
        {"type": "join", "source": "r", "keys": [{"left": "k", "right": "k"}]},
        {"type": "calculate", "name": "q", "expression": "[w] / [v]"},
        others=("r",),
    )
    preview = _run(files, recipe)
    codes = {f["code"] for s in preview.steps for f in s.findings}
    assert {"join_unmatched", "one_to_many", "division_by_zero"} <= codes
    assert not preview.errors
    with stream_recipe(files, recipe) as stream:
        rows = stream.reader.read_all().to_pylist()
        # The guard found a repeated key on the other side, so it computed the join's findings (a
        # warning, no error); the division by zero is not counted on a run.
        assert {f["code"] for f in stream.steps[1].findings} >= {"one_to_many"}
        assert stream.steps[2].findings == []
    expected = [(a["k"], b["w"]) for a in left for b in right if a["k"] == b["k"]] + [("z", None)]
    assert sorted(((r["k"], r["w"]) for r in rows), key=str) == sorted(expected, key=str)
    unique_right = _recipe(
        "l",
        {"type": "join", "source": "r", "keys": [{"left": "k", "right": "k"}]},
        others=("r",),
    )
    files["r"] = _write(tmp_path, "r2", [{"k": "a", "w": 1}, {"k": "y", "w": 7}])
    with stream_recipe(files, unique_right) as stream:
        assert stream.reader.read_all().num_rows == len(left)
        assert stream.steps[1].findings == []  # no key repeats on the other side: nothing else is computed


def test_a_join_by_month_matches_dates_of_the_same_month_and_refuses_text(tmp_path: Path) -> None:
    """``normalise.month_index``: a datetime meets a date of the same month, or an integer month index."""
    left = [
        {"区": "東区", "t": dt.datetime(2024, 1, 15, 9), "v": 1},
        {"区": "東区", "t": dt.datetime(2024, 2, 3, 9), "v": 2},
        {"区": "西区", "t": dt.datetime(2024, 1, 20, 9), "v": 3},
    ]
    right = [
        {"区": "東区", "月": dt.date(2024, 1, 1), "w": 10},
        {"区": "西区", "月": dt.date(2023, 12, 1), "w": 20},
    ]
    files = {"l": _write(tmp_path, "l", left), "r": _write(tmp_path, "r", right)}
    join = {
        "type": "join",
        "source": "r",
        "keys": [{"left": "区", "right": "区"}, {"left": "t", "right": "月"}],
        "normalise": {"month_index": True},
        "columns": ["w"],
    }
    rows = _run(files, _recipe("l", join, others=("r",))).table.to_pylist()
    expected = {
        (a["区"], a["v"]): next(
            (
                b["w"]
                for b in right
                if b["区"] == a["区"] and (b["月"].year, b["月"].month) == (a["t"].year, a["t"].month)
            ),
            None,
        )
        for a in left
    }
    assert (
        {(r["区"], r["v"]): r["w"] for r in rows}
        == expected
        == {("東区", 1): 10, ("東区", 2): None, ("西区", 3): None}
    )
    previous = _recipe(
        "l",
        {"type": "calculate", "name": "前月", "expression": "月番号([t]) - 1"},
        {**join, "keys": [{"left": "区", "right": "区"}, {"left": "前月", "right": "月"}]},
        others=("r",),
    )
    rows = _run(files, previous).table.to_pylist()
    assert {(r["区"], r["v"]): r["w"] for r in rows} == {("東区", 1): None, ("東区", 2): 10, ("西区", 3): 20}
    text = {"l": _write(tmp_path, "l2", [{"区": "東区", "t": "2024-01", "v": 1}]), "r": files["r"]}
    with pytest.raises(
        RecipeStepError, match="「月で結ぶ」には日付か整数（月番号）の列を選んでください（列「t」"
    ):
        _run(text, _recipe("l", join, others=("r",)))
