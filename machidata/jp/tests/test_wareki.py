"""Tests for machidata.jp.wareki; expected dates are calendar facts written by hand.

Era boundaries: 明治→大正 1912-07-30, 大正→昭和 1926-12-25, 昭和→平成 1989-01-08, 平成→令和 2019-05-01.
"""

from datetime import date, datetime, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from machidata.jp.wareki import (
    WarekiError,
    era_for,
    format_wareki,
    parse_date,
    parse_date_range,
    parse_datetime,
    parse_time,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("令和6年4月1日", date(2024, 4, 1)),
        ("令和 02年05月01日", date(2020, 5, 1)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("令和1年5月1日", date(2019, 5, 1)),
        ("R6.4.1", date(2024, 4, 1)),
        ("r6.4.1", date(2024, 4, 1)),
        ("R06/04/01", date(2024, 4, 1)),
        ("R6-4-1", date(2024, 4, 1)),
        ("令6.4.1", date(2024, 4, 1)),
        ("H31/4/30", date(2019, 4, 30)),
        ("平成31年4月30日", date(2019, 4, 30)),
        ("平成元年1月8日", date(1989, 1, 8)),
        ("昭和64年1月7日", date(1989, 1, 7)),
        ("S64.1.7", date(1989, 1, 7)),
        ("昭和元年12月25日", date(1926, 12, 25)),
        ("大正15年12月24日", date(1926, 12, 24)),
        ("大正元年7月30日", date(1912, 7, 30)),
        ("明治45年7月29日", date(1912, 7, 29)),
        ("明治6年1月1日", date(1873, 1, 1)),
        ("令和６年４月１日", date(2024, 4, 1)),
        ("Ｒ６．４．１", date(2024, 4, 1)),
        ("㋿6年4月1日", date(2024, 4, 1)),
        ("㍻31年4月30日", date(2019, 4, 30)),
        ("2024/4/1", date(2024, 4, 1)),
        ("2024-04-01", date(2024, 4, 1)),
        ("2024.4.1", date(2024, 4, 1)),
        ("２０２４／０４／０１", date(2024, 4, 1)),
        ("2024年4月1日", date(2024, 4, 1)),
        ("2024 年 4 月 1 日", date(2024, 4, 1)),
        ("20240401", date(2024, 4, 1)),
        ("2024-02-29", date(2024, 2, 29)),
        (" 2024/4/1 ", date(2024, 4, 1)),
        ("令和六年四月一日", date(2024, 4, 1)),
        ("令和元年十二月三十一日", date(2019, 12, 31)),
        ("二〇二四年四月一日", date(2024, 4, 1)),
        ("2024年4月1日(月)", date(2024, 4, 1)),  # 2024-04-01 was a Monday
        ("2024年4月1日（月曜日）", date(2024, 4, 1)),
        ("令和6年4月1日付", date(2024, 4, 1)),
    ],
)
def test_parse_date(raw: str, expected: date) -> None:
    assert parse_date(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "平成31年5月1日",  # 令和 had begun
        "令和1年4月30日",  # still 平成
        "令和元年4月30日",
        "昭和64年1月8日",
        "平成元年1月7日",
        "大正15年12月25日",
        "明治45年7月30日",
        "明治5年12月2日",  # lunisolar calendar era
        "令和0年5月1日",
        "2023-02-29",
        "2024/13/1",
        "2024/4/31",
        "20240431",
        "2024/4-1",  # mixed separators
        "2024年4月1日(火)",  # wrong weekday
        "R6",
        "2024",
        "hello",
        "",
        "096-328-2111",
    ],
)
def test_parse_date_rejects(raw: str) -> None:
    with pytest.raises(WarekiError):
        parse_date(raw)


def test_error_message_is_japanese_and_is_value_error() -> None:
    with pytest.raises(ValueError, match="期間外"):
        parse_date("平成31年5月1日")


@pytest.mark.parametrize(
    ("d", "expected", "letter"),
    [
        (date(2024, 4, 1), "令和6年4月1日", "R6.4.1"),
        (date(2019, 5, 1), "令和元年5月1日", "R1.5.1"),
        (date(2019, 4, 30), "平成31年4月30日", "H31.4.30"),
        (date(1989, 1, 7), "昭和64年1月7日", "S64.1.7"),
        (date(1989, 1, 8), "平成元年1月8日", "H1.1.8"),
        (date(1926, 12, 25), "昭和元年12月25日", "S1.12.25"),
        (date(1912, 7, 30), "大正元年7月30日", "T1.7.30"),
        (date(1900, 1, 1), "明治33年1月1日", "M33.1.1"),
    ],
)
def test_format_wareki(d: date, expected: str, letter: str) -> None:
    assert format_wareki(d) == expected
    assert format_wareki(d, letter=True) == letter


def test_format_before_meiji6_rejected() -> None:
    with pytest.raises(WarekiError):
        format_wareki(date(1872, 12, 31))
    assert era_for(date(1873, 1, 1)).name == "明治"


@given(st.dates(min_value=date(1873, 1, 1), max_value=date(2200, 12, 31)), st.booleans())
def test_format_then_parse_round_trips(d: date, letter: bool) -> None:
    assert parse_date(format_wareki(d, letter=letter)) == d


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("23:30", time(23, 30)),
        ("0:30:00", time(0, 30)),
        ("23:30:15.5", time(23, 30, 15, 500000)),
        ("23時30分", time(23, 30)),
        ("23時", time(23)),
        ("9時半", time(9, 30)),
        ("午後3時", time(15)),
        ("午後3時30分", time(15, 30)),
        ("午前0時", time(0)),
        ("午後0時", time(12)),
        ("午前12時", time(12)),
        ("午後11:59", time(23, 59)),
        ("正午", time(12)),
        ("２３：３０", time(23, 30)),
        ("午後三時", time(15)),
    ],
)
def test_parse_time(raw: str, expected: time) -> None:
    assert parse_time(raw) == expected


@pytest.mark.parametrize("raw", ["24:00", "23:60", "午後12時", "午前13時", "25時", "23:30+09:00", "noon"])
def test_parse_time_rejects(raw: str) -> None:
    with pytest.raises(WarekiError):
        parse_time(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("令和6年4月1日 23:30", datetime(2024, 4, 1, 23, 30)),
        ("2024/4/1 0:30:00", datetime(2024, 4, 1, 0, 30)),
        ("令和6年4月1日23時30分", datetime(2024, 4, 1, 23, 30)),
        ("令和6年3月31日 午後11時30分", datetime(2024, 3, 31, 23, 30)),
        ("2024-04-01T00:30:00", datetime(2024, 4, 1, 0, 30)),
        ("2024/4/1", datetime(2024, 4, 1)),
        # 15:30 UTC on 31 March is 00:30 on 1 April in Japan
        ("2024-03-31T15:30:00Z", datetime(2024, 4, 1, 0, 30)),
        ("2024-04-01T00:30:00+09:00", datetime(2024, 4, 1, 0, 30)),
        ("2024-03-31T10:30:00-05:00", datetime(2024, 4, 1, 0, 30)),
        ("R6.4.1 9:05", datetime(2024, 4, 1, 9, 5)),
    ],
)
def test_parse_datetime(raw: str, expected: datetime) -> None:
    assert parse_datetime(raw) == expected


@pytest.mark.parametrize("raw", ["2024/4/1 25:00", "平成31年5月1日 10:00", "2024/4/1 xx", "10:00"])
def test_parse_datetime_rejects(raw: str) -> None:
    with pytest.raises(WarekiError):
        parse_datetime(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("令和6年1月1日～令和11年12月31日", (date(2024, 1, 1), date(2029, 12, 31))),
        ("令和6年1月1日〜令和11年12月31日", (date(2024, 1, 1), date(2029, 12, 31))),
        ("令和6年1月1日~令和11年12月31日", (date(2024, 1, 1), date(2029, 12, 31))),
        ("2024/4/1-2025/3/31", (date(2024, 4, 1), date(2025, 3, 31))),
        ("2024-04-01-2025-03-31", (date(2024, 4, 1), date(2025, 3, 31))),
        ("2024-04-01 - 2025-03-31", (date(2024, 4, 1), date(2025, 3, 31))),
        ("令和6年4月1日　から　令和7年3月31日まで", (date(2024, 4, 1), date(2025, 3, 31))),
        ("令和6年4月1日から7年3月31日まで", (date(2024, 4, 1), date(2025, 3, 31))),
        ("令和6年4月1日～12月31日", (date(2024, 4, 1), date(2024, 12, 31))),
        ("2024年4月1日～6月30日", (date(2024, 4, 1), date(2024, 6, 30))),
        ("H31.4.1～R2.3.31", (date(2019, 4, 1), date(2020, 3, 31))),
        ("令和6年4月1日～", (date(2024, 4, 1), None)),
        ("～2025/3/31", (None, date(2025, 3, 31))),
    ],
)
def test_parse_date_range(raw: str, expected: tuple[date | None, date | None]) -> None:
    assert parse_date_range(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "令和7年1月1日～令和6年1月1日",  # end before start
        "令和6年1月1日",  # not a range
        "～",
        "平成31年5月1日～令和2年1月1日",
        "令和6年4月1日～13月1日",
    ],
)
def test_parse_date_range_rejects(raw: str) -> None:
    with pytest.raises(WarekiError):
        parse_date_range(raw)
