"""TableQuery validation: unknown columns, value types, shapes and bounds give Japanese errors naming the column."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest

from machidata.engine import EngineQueryError, Filter, TableQuery, kind_of
from machidata.engine.query import MAX_IN_VALUES, MAX_LIMIT
from machidata.engine.tests.conftest import SCHEMA

PLAIN = {
    "id": "integer",
    "name": "string",
    "amount": "number",
    "day": "date",
    "at": "datetime",
    "flag": "boolean",
}


def _check(schema: Any, **query: Any) -> Any:
    return TableQuery.from_dict(query).validate_against(schema)


@pytest.mark.parametrize("schema", [PLAIN, SCHEMA], ids=["plain-dict", "arrow-schema"])
@pytest.mark.parametrize(
    "query",
    [
        {"fields": ["id", "nope"]},
        {"filters": [{"column": "nope", "op": "eq", "value": 1}]},
        {"sort": [["nope", "desc"]]},
    ],
)
def test_unknown_column_is_named_in_japanese(schema: Any, query: dict[str, Any]) -> None:
    with pytest.raises(EngineQueryError, match="列「nope」はこの表にありません"):
        _check(schema, **query)


def test_engine_query_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="列「x'; DROP TABLE t; --」はこの表にありません"):
        _check(PLAIN, fields=["x'; DROP TABLE t; --"])


@pytest.mark.parametrize(
    ("flt", "message"),
    [
        (
            {"column": "id", "op": "range", "min": "abc"},
            "列「id」は整数の列です。値「abc」は整数として読めません",
        ),
        ({"column": "id", "op": "eq", "value": 1.5}, "列「id」は整数の列です"),
        ({"column": "id", "op": "eq", "value": True}, "列「id」は整数の列です"),
        ({"column": "amount", "op": "gt", "value": "多い"}, "列「amount」は数値の列です"),
        ({"column": "amount", "op": "gt", "value": "NaN"}, "列「amount」は数値の列です"),
        ({"column": "day", "op": "ge", "value": "令和6年4月1日"}, "列「day」は日付の列です"),
        ({"column": "day", "op": "eq", "value": "2024-04-01T10:00:00"}, "列「day」は日付の列です"),
        ({"column": "at", "op": "lt", "value": "2024-04-01T00:00:00+09:00"}, "列「at」は日時の列です"),
        ({"column": "flag", "op": "eq", "value": "maybe"}, "列「flag」は真偽値の列です"),
        ({"column": "id", "op": "in", "values": [1, "two"]}, "列「id」は整数の列です。値「two」"),
        ({"column": "name", "op": "eq", "value": ["a"]}, "列「name」は文字列の列です"),
    ],
)
def test_wrong_value_types_name_the_column(flt: dict[str, Any], message: str) -> None:
    with pytest.raises(EngineQueryError, match=message):
        _check(PLAIN, filters=[flt])


@pytest.mark.parametrize(
    ("flt", "message"),
    [
        ({"column": "id", "op": "contains", "value": "1"}, "列「id」は文字列の列ではないので「含む」"),
        ({"column": "flag", "op": "gt", "value": True}, "列「flag」は真偽値の列なので「より大きい」"),
        ({"column": "id", "op": "range"}, "下限か上限の少なくとも一方"),
        ({"column": "id", "op": "range", "min": 5, "max": 1}, "下限が上限より大きく"),
        ({"column": "id", "op": "in", "values": []}, "値を1つ以上"),
        ({"column": "id", "op": "is_null", "value": 1}, "不要な指定（value）"),
        ({"column": "id", "op": "eq", "values": [1]}, "列「id」の「等しい」の条件に不要な指定（values）"),
        ({"column": "id", "op": "eq"}, "列「id」の条件に値がありません"),
        ({"column": "name", "op": "contains", "value": ""}, "文字を入力してください"),
    ],
)
def test_filter_shapes(flt: dict[str, Any], message: str) -> None:
    with pytest.raises(EngineQueryError, match=message):
        _check(PLAIN, filters=[flt])


def test_too_many_in_values() -> None:
    with pytest.raises(EngineQueryError, match="値が多すぎます"):
        _check(PLAIN, filters=[{"column": "id", "op": "in", "values": list(range(MAX_IN_VALUES + 1))}])


@pytest.mark.parametrize(
    ("paging", "message"),
    [
        ({"limit": 0}, "表示件数は1から"),
        ({"limit": MAX_LIMIT + 1}, "表示件数は1から"),
        ({"offset": -1}, "開始位置は0以上"),
    ],
)
def test_limit_bounds(paging: dict[str, int], message: str) -> None:
    with pytest.raises(EngineQueryError, match=message):
        _check(PLAIN, **paging)


def test_shape_errors_from_json_are_japanese() -> None:
    with pytest.raises(EngineQueryError, match=r"問い合わせの形式が正しくありません（filters\.0\.op）"):
        TableQuery.from_dict({"filters": [{"column": "id", "op": "like", "value": "%"}]})
    with pytest.raises(EngineQueryError, match="問い合わせの形式"):
        TableQuery.from_dict({"where": "1=1"})


def test_fields_must_be_distinct_and_nonempty() -> None:
    with pytest.raises(EngineQueryError, match="列「id」が2回"):
        _check(PLAIN, fields=["id", "id"])
    with pytest.raises(EngineQueryError, match="1つ以上"):
        _check(PLAIN, fields=[])


def test_values_from_query_strings_are_coerced_to_column_types() -> None:
    q = _check(
        PLAIN,
        filters=[
            {"column": "id", "op": "in", "values": ["1", " 2 "]},
            {"column": "amount", "op": "range", "min": "0.5", "max": 10},
            {"column": "day", "op": "ge", "value": "2024-04-01"},
            {"column": "at", "op": "lt", "value": "2024-04-01 00:30"},
            {"column": "flag", "op": "eq", "value": "false"},
            {"column": "name", "op": "eq", "value": 12},
        ],
    )
    got = [(f.values or f.value, f.min, f.max) for f in q.filters]
    assert got == [
        ((1, 2), None, None),
        (None, 0.5, 10.0),
        (dt.date(2024, 4, 1), None, None),
        (dt.datetime(2024, 4, 1, 0, 30), None, None),
        (False, None, None),
        ("12", None, None),
    ]


def test_sort_accepts_pairs_and_objects() -> None:
    q = TableQuery.from_dict({"sort": [["id", "desc"], {"column": "name"}]})
    assert [(s.column, s.direction) for s in q.sort] == [("id", "desc"), ("name", "asc")]


def test_query_is_frozen() -> None:
    q = TableQuery(filters=(Filter(column="id", op="eq", value=1),))
    with pytest.raises(ValueError, match="frozen"):
        q.limit = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("type_name", "kind"),
    [
        ("integer", "integer"),
        ("BIGINT", "integer"),
        ("int32", "integer"),
        ("uint8", "integer"),
        ("number", "number"),
        ("double", "number"),
        ("decimal(12,2)", "number"),
        ("string", "string"),
        ("large_string", "string"),
        ("VARCHAR", "string"),
        ("date", "date"),
        ("date32[day]", "date"),
        ("datetime", "datetime"),
        ("timestamp[us]", "datetime"),
        ("time64[us]", "time"),
        ("bool", "boolean"),
        ("boolean", "boolean"),
        ("interval", "other"),
        ("geojson", "other"),
    ],
)
def test_kind_of_type_names(type_name: str, kind: str) -> None:
    assert kind_of(type_name) == kind


def test_kind_of_arrow_types() -> None:
    assert kind_of(pa.timestamp("ms")) == "datetime"
    assert kind_of(pa.decimal128(10, 2)) == "number"
