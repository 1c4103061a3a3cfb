"""Tests of batch normalisation: typed values, raw text kept where changed, issues."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from machidata.ingest.infer import infer_schema
from machidata.ingest.normalise import arrow_schema_with_raw, normalise_batch, raw_columns
from machidata.ingest.schema import Field, TableSchema, schema_to_arrow


def _batch(columns: dict[str, list[str | None]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({k: pa.array(v, pa.string()) for k, v in columns.items()})


def _run(columns: dict[str, list[str | None]], fields: list[Field], **kw: object):  # type: ignore[no-untyped-def]
    return normalise_batch(_batch(columns), TableSchema(fields=fields), **kw)


def test_numbers_missing_markers_and_raw() -> None:
    f = Field(name="金額", title="金額", type="integer", unit="円", missing={"x": "suppressed", "-": "none"})
    r = _run({"金額": ["1,234円", "▲500", "x", "１２", "-", "42", None, "abc"]}, [f], row_offset=2)
    assert r.batch.column("金額").to_pylist() == [1234, -500, None, 12, None, 42, None, None]
    assert r.raw["金額"].to_pylist() == ["1,234円", "▲500", "x", "１２", "-", None, None, "abc"]
    assert [(i.row, i.raw) for i in r.issues] == [(9, "abc")]
    assert r.issues[0].message == "整数として読めません"
    assert r.failures == {"金額": 1}


def test_wrong_unit_and_fraction_in_integer() -> None:
    f = Field(name="人口", title="人口", type="integer", unit="人")
    r = _run({"人口": ["10人", "5千人", "1.5"]}, [f])
    assert r.batch.column("人口").to_pylist() == [10, None, None]
    assert [i.message for i in r.issues] == ["単位が項目定義（人）と違います", "小数は整数の項目に入りません"]


def test_fiscal_year_boundary_times_naive_japan() -> None:
    """23:30 on 3/31 and 00:30 on 4/1 stay on their own side of the fiscal-year boundary."""
    f = Field(name="日時", title="日時", type="datetime")
    values = ["2024-03-31 23:30", "2024-04-01 00:30", "令和6年3月31日 23時30分", "2024-04-01T00:30:00"]
    r = _run({"日時": values}, [f])
    assert r.batch.column("日時").to_pylist() == [
        dt.datetime(2024, 3, 31, 23, 30),
        dt.datetime(2024, 4, 1, 0, 30),
        dt.datetime(2024, 3, 31, 23, 30),
        dt.datetime(2024, 4, 1, 0, 30),
    ]
    assert r.batch.schema.field("日時").type == pa.timestamp("us")  # no time zone
    assert r.raw["日時"].to_pylist() == [
        "2024-03-31 23:30",
        "2024-04-01 00:30",
        "令和6年3月31日 23時30分",
        None,
    ]


def test_tz_aware_input_is_converted_to_tokyo_and_raw_kept() -> None:
    f = Field(name="t", title="t", type="datetime")
    r = _run({"t": ["2024-03-31T15:30:00Z", "2024-03-31T14:30:00+00:00", "2024-04-01T00:30:00+09:00"]}, [f])
    assert r.batch.column("t").to_pylist() == [
        dt.datetime(2024, 4, 1, 0, 30),
        dt.datetime(2024, 3, 31, 23, 30),
        dt.datetime(2024, 4, 1, 0, 30),
    ]
    assert r.raw["t"].to_pylist() == [
        "2024-03-31T15:30:00Z",
        "2024-03-31T14:30:00+00:00",
        "2024-04-01T00:30:00+09:00",
    ]


def test_dates_wareki_and_excel_midnight() -> None:
    f = Field(name="d", title="d", type="date")
    r = _run({"d": ["令和 02年05月01日", "2024-04-01", "2024-04-02 00:00:00", "R1.5.1", "2019-02-30"]}, [f])
    assert r.batch.column("d").to_pylist() == [
        dt.date(2020, 5, 1),
        dt.date(2024, 4, 1),
        dt.date(2024, 4, 2),
        dt.date(2019, 5, 1),
        None,
    ]
    assert r.raw["d"].to_pylist() == [
        "令和 02年05月01日",
        None,
        "2024-04-02 00:00:00",
        "R1.5.1",
        "2019-02-30",
    ]
    assert r.issues[0].message == "日付として読めません"


def test_booleans_declared_words_are_not_raw() -> None:
    f = Field(name="内科", title="内科", type="boolean", true_values=["○"], false_values=["×"])
    r = _run({"内科": ["○", None, "×", "◯", "△"]}, [f])
    assert r.batch.column("内科").to_pylist() == [True, None, False, True, None]
    assert r.raw["内科"].to_pylist() == [None, None, None, "◯", "△"]


def test_range_and_latlon_split() -> None:
    s = infer_schema(
        pa.table({"期間": ["令和6年1月1日～令和11年12月31日", None], "位置": ["32.8,130.7", "33.0, 131.0"]}),
        detection={},
    )
    r = normalise_batch(
        _batch({"期間": ["令和6年1月1日～令和11年12月31日", None], "位置": ["32.8,130.7", "33.0, 131.0"]}), s
    )
    assert r.batch.column("期間_開始").to_pylist() == [dt.date(2024, 1, 1), None]
    assert r.batch.column("期間_終了").to_pylist() == [dt.date(2029, 12, 31), None]
    assert r.batch.column("位置_緯度").to_pylist() == [32.8, 33.0]
    assert r.batch.column("位置_経度").to_pylist() == [130.7, 131.0]
    assert r.raw["期間"].to_pylist() == ["令和6年1月1日～令和11年12月31日", None]
    assert r.with_raw().schema.names == [
        "期間_開始",
        "期間_終了",
        "位置_緯度",
        "位置_経度",
        "期間__raw",
        "位置__raw",
    ]
    assert arrow_schema_with_raw(s).names == r.with_raw().schema.names


def test_postal_phone_text_and_time() -> None:
    fields = [
        Field(name="郵便番号", title="郵便番号", kind="postal_code"),
        Field(name="電話", title="電話", kind="phone"),
        Field(name="時刻", title="時刻", type="time"),
        Field(name="年度", title="年度", type="integer", format="fiscal_year", kind="fiscal_year"),
    ]
    r = _run(
        {
            "郵便番号": ["8620971", "〒860ー8601", "862-0975", "12"],
            "電話": ["096ー366ー3666", "382-3222", "096-365-1711", "電話なし"],
            "時刻": ["9:00", "午後3時", "23:30:15", "25:00"],
            "年度": ["令和5年度", "R元年度", "2024", "来年度"],
        },
        fields,
    )
    assert r.batch.column("郵便番号").to_pylist() == ["862-0971", "860-8601", "862-0975", None]
    assert r.batch.column("電話").to_pylist() == ["096-366-3666", "382-3222", "096-365-1711", None]
    # stored as "HH:MM:SS" text: Delta Lake has no time type
    assert r.batch.column("時刻").to_pylist() == ["09:00:00", "15:00:00", "23:30:15", None]
    assert r.batch.column("年度").to_pylist() == [2023, 2019, 2024, None]
    assert sorted((i.column, i.raw) for i in r.issues) == [
        ("年度", "来年度"),
        ("時刻", "25:00"),
        ("郵便番号", "12"),
        ("電話", "電話なし"),
    ]


def test_plain_string_without_raw_column_is_stored_as_read() -> None:
    s = TableSchema(fields=[Field(name="名称", title="名称")])
    assert raw_columns(s) == []
    r = normalise_batch(_batch({"名称": ["ＡＢＣ", "", None]}), s)
    assert r.batch.column("名称").to_pylist() == ["ＡＢＣ", None, None]
    assert r.raw == {}


def test_string_with_changes_in_sample_is_nfkc_and_raw_kept() -> None:
    s = infer_schema(pa.table({"屋号": ["ｎｏｉｒ", "喫茶　店", "－"]}), detection={})
    r = normalise_batch(_batch({"屋号": ["ｎｏｉｒ", "喫茶　店", "－"]}), s)
    assert r.batch.column("屋号").to_pylist() == ["noir", "喫茶 店", None]
    assert r.raw["屋号"].to_pylist() == ["ｎｏｉｒ", "喫茶　店", "－"]


def test_batch_matches_schema_to_arrow_and_source_rows() -> None:
    s = TableSchema(fields=[Field(name="n", title="n", type="number")])
    batch = pa.RecordBatch.from_pydict({"n": pa.array(["1.5", "x1"]), "__source_row": pa.array([5, 9])})
    r = normalise_batch(batch, s)
    assert r.batch.schema == schema_to_arrow(s)
    assert [i.row for i in r.issues] == [9]


def test_issue_list_is_capped_but_counted() -> None:
    s = TableSchema(fields=[Field(name="n", title="n", type="integer")])
    r = normalise_batch(_batch({"n": ["a"] * 50}), s, max_issues_per_column=3)
    assert (len(r.issues), r.failures) == (3, {"n": 50})
