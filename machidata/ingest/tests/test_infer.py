"""Tests of schema inference and of the Table Schema helpers (schema.py)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from machidata.ingest.infer import infer_schema
from machidata.ingest.schema import (
    Field,
    SchemaError,
    TableSchema,
    frictionless_errors,
    safe_name,
    schema_to_arrow,
    unique_names,
)


def _infer(columns: dict[str, list[str | None]], **kw: object) -> TableSchema:
    return infer_schema(
        pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()}), detection={}, **kw
    )


def _one(values: list[str | None], title: str = "列") -> Field:
    return _infer({title: values}).fields[0]


def test_numbers_with_units_separators_and_negatives() -> None:
    f = _one(["1,234円", "▲500円", "１２円", "x", "-"], "金額")
    assert (f.type, f.unit) == ("integer", "円")
    assert f.missing == {"x": "suppressed", "-": "none"}


def test_percent_and_decimal_number() -> None:
    f = _one(["12.5%", "3%", "100%"], "率")
    assert (f.type, f.unit) == ("number", "%")


def test_short_decimals_are_numbers_not_year_months() -> None:
    # 1.5 and 2.25 once matched the year-month shape ("year" 1, month 5).
    assert _one(["1.5", "2.25", "3.75", "10.5"], "倍率").type == "number"
    assert _one(["2024年4月", "令和6年5月", "2024/06", "R6.7"], "年月").type == "yearmonth"


def test_unit_from_header_when_cells_have_none() -> None:
    assert _one(["6144", "28544"], "敷地面積計(㎡）").unit == "m2"
    assert _one(["10", "20"], "金額（千円）").unit == "千円"


def test_wareki_dates_and_format() -> None:
    f = _one(["令和 02年05月01日", "平成 30年02月01日", "R6.4.1", None], "開設年月日")
    assert (f.type, f.format) == ("date", "wareki")


@pytest.mark.parametrize(
    ("values", "fmt"),
    [
        (["3/1/2023", "3/31/2023", "4/1/2023"], "%m/%d/%Y"),  # 31 can only be the day
        (["1/3/2023", "31/3/2023", ""], "%d/%m/%Y"),  # the first part is over 12: day first
        (["3/1/2023", "3/1/2023"], "%m/%d/%Y"),  # all ambiguous: month first (US-locale export)
    ],
)
def test_year_last_slash_dates_get_their_order(values: list[str], fmt: str) -> None:
    f = _one(values, "調査日")
    assert (f.type, f.format) == ("date", fmt)


def test_year_last_slash_dates_in_both_orders_are_not_dates() -> None:
    assert _one(["31/3/2023", "3/31/2023", "1/2/2023"]).type == "string"


def test_excel_midnight_datetimes_are_dates() -> None:
    assert _one(["2024-04-01 00:00:00", "2024-04-02 00:00:00"]).type == "date"


def test_datetime_with_times() -> None:
    assert _one(["2024-03-31 23:30", "2024-04-01 00:30"]).type == "datetime"


def test_fiscal_year() -> None:
    f = _one(["令和5年度", "R4年度", "2023年度", "平成30年度"], "年度")
    assert (f.type, f.format, f.kind) == ("integer", "fiscal_year", "fiscal_year")


def test_booleans_need_every_value_to_be_a_yes_no_word() -> None:
    f = _one(["○", None, "×", "○"], "内科")
    assert (f.type, f.true_values, f.false_values) == ("boolean", ["○"], ["×"])
    assert _one(["○"] * 30 + ["△"], "洪水").type == "string"  # △ is a third answer
    assert _one(["有", "無", "はい", "いいえ"]).type == "boolean"


def test_postal_codes_phones_and_leading_zero_codes_stay_text() -> None:
    assert (_one(["8620971", "862-0975"], "郵便番号").type, _one(["8620971"], "郵便番号").kind) == (
        "string",
        "postal_code",
    )
    phone = _one(["382-3222", "344-8150"], "営業所電話番号")  # no area code: not a postal code
    assert (phone.type, phone.kind) == ("string", "phone")
    assert _one(["096-366-3666", "096-365-1711"], "連絡先").kind == "phone"
    code = _one(["0123", "0456", "1234"], "コード")
    assert code.type == "string"
    assert _one(["12345678901234567"]).type == "string"  # over 15 digits: float64 would round it


def test_lg_code_and_ward() -> None:
    assert _one(["431001", "350001"], "市区町村コード").kind == "lg_code"
    assert _one(["中央区", "東区", "熊本市北区"], "区").kind == "ward"


def test_date_range_splits_into_two_columns() -> None:
    s = _infer({"有効期間": ["令和6年1月1日～令和11年12月31日", "令和4年1月1日～令和9年12月31日"]})
    assert [(f.name, f.type, f.part, f.source) for f in s.fields] == [
        ("有効期間_開始", "date", "start", "有効期間"),
        ("有効期間_終了", "date", "end", "有効期間"),
    ]


def test_packed_latlon_splits_and_separate_lat_column_gets_range() -> None:
    s = _infer({"location": ["34.34753333,134.03003917", "34.3458, 134.0409"]})
    assert [(f.name, f.type, f.kind) for f in s.fields] == [
        ("location_緯度", "number", "latlon"),
        ("location_経度", "number", "latlon"),
    ]
    lat = _one(["32.8", "33.0"], "緯度")
    assert (lat.kind, lat.constraints.minimum, lat.constraints.maximum) == ("latlon", -90, 90)


def test_year_and_time() -> None:
    assert _one(["1954", "1985", "2001"], "建築時期（西暦）").type == "year"
    assert _one(["9:00", "23:30", "午後3時"], "開始時間").type == "time"


def test_threshold_lists_failures() -> None:
    f = _one([str(i) for i in range(1, 40)] + ["不明な値"], "件数")
    assert f.type == "integer"
    assert f.inference["failures"] == ["不明な値"]
    assert f.inference["share"] == pytest.approx(39 / 40)
    assert _one(["1", "2", "a", "b"]).type == "string"


def test_missing_override_map_for_estat_symbols() -> None:
    f = _infer({"人口": ["10", "…", "x", "20"]}, missing_overrides={"*": {"...": "unknown"}}).fields[0]
    assert f.type == "integer"
    assert f.missing == {"...": "unknown", "x": "suppressed"}


def test_text_column_keeps_x_but_dash_is_missing() -> None:
    f = _one(["A", "x", "－", "B"], "区分")
    assert f.type == "string"
    assert f.missing == {"-": "none"}


def test_names_rule() -> None:
    s = _infer({"a b": ["1"], "": ["2"], "a_b": ["3"], "_id": ["4"], "建築時期\n（西暦）": ["x"]})
    assert s.names == ["a_b", "列2", "a_b_2", "列_id", "建築時期_（西暦）"]
    assert [f.title for f in s.fields] == ["a b", "", "a_b", "_id", "建築時期\n（西暦）"]
    assert safe_name("x=(y)", 0) == "x_y"
    assert unique_names(["a", "a", "a"]) == ["a", "a_2", "a_3"]


def test_typed_parquet_columns_keep_their_types() -> None:
    t = pa.table({"n": pa.array([1, 2], pa.int64()), "d": pa.array([1.5, None])})
    s = infer_schema(t, detection={"typed": True})
    assert [f.type for f in s.fields] == ["integer", "number"]


def test_field_override() -> None:
    s = _infer({"番号": ["1", "2"]}, field_overrides={"番号": {"type": "string", "description": "受付番号"}})
    assert (s.fields[0].type, s.fields[0].description) == ("string", "受付番号")


def test_schema_round_trip_and_arrow_types() -> None:
    s = _infer({"金額": ["1,234円", "x"], "日": ["令和6年4月1日", None], "内科": ["○", "×"]})
    again = TableSchema.from_json(s.to_json())
    assert again.to_dict() == s.to_dict()
    arrow = schema_to_arrow(again)
    assert [str(t) for t in arrow.types] == ["int64", "date32[day]", "bool"]
    d = s.to_dict()["fields"][0]
    assert d["unit"] == "円"
    assert d["missingValues"] == ["", "x"]
    assert d["machidata"]["missing"] == {"x": "suppressed"}


def test_schema_errors_in_japanese() -> None:
    with pytest.raises(SchemaError, match="型「money」"):
        TableSchema.from_dict({"fields": [{"name": "a", "type": "money"}]})
    with pytest.raises(SchemaError, match="重複"):
        TableSchema.from_dict({"fields": [{"name": "a"}, {"name": "a"}]})
    with pytest.raises(SchemaError, match="JSON"):
        TableSchema.from_json("{")


def test_frictionless_accepts_our_descriptor() -> None:
    pytest.importorskip("frictionless")
    s = _infer(
        {"金額": ["1,234円"], "年度": ["令和5年度"], "内科": ["○"], "期間": ["令和6年1月1日～令和7年3月31日"]}
    )
    assert frictionless_errors(s) == []
    bad = TableSchema(fields=[Field(name="a", type="string")])
    bad.fields[0].type = "integerx"
    assert frictionless_errors(bad) != []


def test_shares_count_cells_not_distinct_values() -> None:
    # 96 cells of one number and four distinct words: 96 % of the cells read as numbers (over the
    # 95 % threshold), though only one distinct value in five does.
    f = _one(["12"] * 96 + ["あ", "い", "う", "え"])
    assert f.type == "integer"
    assert f.inference["values"] == 100
    assert f.inference["share"] == 0.96
    assert f.inference["failures"] == ["あ", "い", "う", "え"]  # in order of first appearance


def test_the_commonest_unit_counts_cells() -> None:
    # 96 cells in 円, four distinct values in 人: the unit is 円 (by distinct values it would be 人).
    f = _one(["1円"] * 96 + ["2人", "3人", "4人", "5人"])
    assert (f.type, f.unit) == ("integer", "円")
