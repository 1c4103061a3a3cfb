"""The interim grouping (TableQuery JSON shape) over rows: grains at the fiscal-year edge, measures, top N."""

from __future__ import annotations

import datetime as dt

import pytest

from machidata.charts.aggregate import AggregateError, aggregate, bucket, key_name, measure_name

ROWS = [
    {"区": "中央区", "時刻": dt.datetime(2024, 3, 31, 23, 30), "分": 8},
    {"区": "中央区", "時刻": dt.datetime(2024, 4, 1, 0, 30), "分": 12},
    {"区": "東区", "時刻": dt.datetime(2024, 4, 2, 9, 0), "分": None},
    {"区": "西区", "時刻": dt.datetime(2023, 4, 1, 0, 0), "分": 5},
]


def test_fiscal_year_and_hour_at_the_edge() -> None:
    assert bucket(dt.datetime(2024, 3, 31, 23, 30), "fiscal_year") == 2023
    assert bucket(dt.datetime(2024, 4, 1, 0, 30), "fiscal_year") == 2024
    assert bucket(dt.datetime(2024, 3, 31, 23, 30), "hour") == 23
    assert bucket(dt.date(2024, 4, 7), "weekday") == "日"
    assert bucket(dt.date(2024, 5, 17), "quarter") == dt.date(2024, 4, 1)
    assert bucket(dt.date(2024, 4, 7), "week") == dt.date(2024, 4, 1)


def test_group_by_fiscal_year_counts_and_median() -> None:
    out = aggregate(
        ROWS,
        group_by=[{"column": "時刻", "grain": "fiscal_year", "as": "年度"}],
        measures=[{"op": "count"}, {"op": "median", "column": "分"}, {"op": "share_of_total"}],
    )
    assert out == [
        {"年度": 2023, "件数": 2, "中央値（分）": 6.5, "構成比（件数）": 0.5},
        {"年度": 2024, "件数": 2, "中央値（分）": 12, "構成比（件数）": 0.5},
    ]


def test_top_n_keeps_largest_and_shares_stay_of_the_whole() -> None:
    out = aggregate(ROWS, group_by=[{"column": "区"}], measures=[{"op": "count"}, {"op": "share_of_total"}],
                    top_n={"n": 1, "by": "件数"})  # fmt: skip
    assert out == [{"区": "中央区", "件数": 2, "構成比（件数）": 0.5}]


def test_names_follow_the_engine_shape() -> None:
    assert key_name({"column": "覚知日時", "grain": "fiscal_year"}) == "覚知日時（年度）"
    assert measure_name({"op": "sum", "column": "人口"}) == "合計（人口）"
    assert measure_name({"op": "count", "as": "出動件数"}) == "出動件数"


def test_errors_name_the_field() -> None:
    with pytest.raises(AggregateError, match="列「区」は数値ではない"):
        aggregate(ROWS, group_by=[], measures=[{"op": "sum", "column": "区"}])
    with pytest.raises(AggregateError, match="日付ではない"):
        aggregate(ROWS, group_by=[{"column": "区", "grain": "month"}])
