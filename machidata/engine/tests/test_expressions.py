"""The calculated-column language: whitelist, schema checks with Japanese errors, and values checked against Python."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from machidata.engine import EngineQueryError
from machidata.engine.expressions import parse_expression
from machidata.engine.sandbox import open_sandbox
from machidata.jp.fiscal import fiscal_year
from machidata.jp.wareki import ERAS

KINDS: dict[str, Any] = {
    "a": "integer",
    "b": "integer",
    "x": "number",
    "s": "string",
    "日付": "date",
    "区 名": "string",
}
ROWS: list[dict[str, Any]] = [
    {"a": 10, "b": 4, "x": 1.5, "s": " ＡＢ ", "日付": dt.date(2019, 4, 30), "区 名": "中央区"},
    {"a": 3, "b": 0, "x": None, "s": "xyz", "日付": dt.date(2019, 5, 1), "区 名": "東区"},
    {"a": None, "b": 2, "x": -2.0, "s": None, "日付": dt.date(2024, 3, 31), "区 名": None},
    {"a": 7, "b": None, "x": 0.0, "s": "漢字かな", "日付": dt.date(1989, 1, 8), "区 名": "北区"},
]
SCHEMA = pa.schema(
    [
        ("a", pa.int64()),
        ("b", pa.int64()),
        ("x", pa.float64()),
        ("s", pa.string()),
        ("日付", pa.date32()),
        ("区 名", pa.string()),
    ]
)


def _eval(tmp_path: Path, text: str) -> tuple[list[Any], int]:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS, schema=SCHEMA), path)
    expr = parse_expression(text, KINDS)
    with open_sandbox([str(path)]) as sb:
        values = sb.backend.to_pyarrow(sb.table.select(v=expr.build(sb.table))).column("v").to_pylist()
        zeros = sb.backend.to_pyarrow(expr.zero_divisions(sb.table)).as_py()
    return values, int(zeros)


def _wareki(d: dt.date) -> str:
    era = next(e for e in reversed(ERAS) if d >= e.start)
    n = d.year - era.offset
    return f"{era.name}{'元' if n == 1 else n}年"


def test_arithmetic_follows_python_and_division_by_zero_is_blank_with_a_count(tmp_path: Path) -> None:
    values, zeros = _eval(tmp_path, "[a] * 2 + [a] / [b]")
    expected = [None if r["a"] is None or r["b"] in (None, 0) else r["a"] * 2 + r["a"] / r["b"] for r in ROWS]
    assert values == pytest.approx(expected)
    assert zeros == sum(1 for r in ROWS if r["b"] == 0)


def test_fiscal_year_and_wareki_agree_with_jp(tmp_path: Path) -> None:
    fy, _ = _eval(tmp_path, "fiscal_year([日付])")
    assert fy == [fiscal_year(r["日付"]) for r in ROWS]
    labels, _ = _eval(tmp_path, "和暦(日付)")
    assert labels == [_wareki(r["日付"]) for r in ROWS]
    assert "令和元年" in labels
    assert "平成元年" in labels


def test_conditions_case_and_excel_style_equality(tmp_path: Path) -> None:
    values, _ = _eval(tmp_path, "if([a] >= 5 and [b] <> 0, '多', '少')")
    assert values == [
        "多" if r["a"] is not None and r["b"] is not None and r["a"] >= 5 and r["b"] != 0 else "少"
        for r in ROWS
    ]
    values, _ = _eval(tmp_path, "case([a] = 10, 'ten', [a] = 3, 'three', 'other')")
    assert values == [{10: "ten", 3: "three"}.get(r["a"], "other") for r in ROWS]


def test_string_functions(tmp_path: Path) -> None:
    values, _ = _eval(tmp_path, "concat(left([区 名], 1), '-', text([a]))")
    assert values == [(r["区 名"] or "")[:1] + "-" + ("" if r["a"] is None else str(r["a"])) for r in ROWS]
    values, _ = _eval(tmp_path, "normalize(trim(s))")
    assert values == [None if r["s"] is None else r["s"].strip().replace("ＡＢ", "ab") for r in ROWS]
    values, _ = _eval(tmp_path, "zero_pad(text([a]), 3)")
    assert values == [None if r["a"] is None else str(r["a"]).zfill(3) for r in ROWS]
    values, _ = _eval(tmp_path, "replace([区 名], '区', 'ku')")
    assert values == [None if r["区 名"] is None else r["区 名"].replace("区", "ku") for r in ROWS]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[人口] * 2", "列「人口」はこの表にありません"),
        ("人口 * 2", "列「人口」はこの表にありません"),
        ("s * 2", "「\\*」は数どうしの計算に使います（文字列には使えません）"),
        ("__import__('os')", "関数「__import__」は使えません"),
        ("a.real", "式に使えない書き方"),
        ("[a] ** 2", "使えない演算子"),
        ("lambda: 1", "式に使えない書き方"),
        ("if(a, 1, 2)", "1つ目には条件を書いてください"),
        ("if(a > 1, 'x', 2)", "型がそろっていません（文字列と整数）"),
        ("year(s)", "関数「year」には日付か日時を渡してください（文字列が渡されています）"),
        ("left(s)", "関数「left」の引数は2個です"),
        ("(a + ", "式の書き方が正しくありません"),
        ("'abc", "引用符"),
        ("", "式を入力してください"),
    ],
)
def test_errors_are_japanese_and_name_the_column_or_function(text: str, message: str) -> None:
    with pytest.raises(EngineQueryError, match=message):
        parse_expression(text, KINDS)


def test_columns_read_are_listed() -> None:
    expr = parse_expression("[a] + b + [区 名] = 3", {**KINDS, "区 名": "integer"})
    assert expr.columns == ["a", "b", "区 名"]
    assert expr.kind == "boolean"
