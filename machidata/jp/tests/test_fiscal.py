"""Tests for machidata.jp.fiscal and machidata.jp.holiday; expectations are calendar facts."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from machidata.jp.fiscal import (
    fiscal_month_index,
    fiscal_quarter,
    fiscal_quarter_range,
    fiscal_year,
    fiscal_year_range,
    format_fiscal_year,
    parse_fiscal_year,
)
from machidata.jp.holiday import holiday_name, is_business_day, is_holiday, is_office_closed
from machidata.jp.wareki import WarekiError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2024, 3, 31, 23, 30), 2023),
        (datetime(2024, 4, 1, 0, 30), 2024),
        (date(2024, 3, 31), 2023),
        (date(2024, 4, 1), 2024),
        (date(2024, 12, 31), 2024),
        (date(2025, 1, 1), 2024),
        # aware values are read in Japan time: 15:30 UTC on 31 March is 00:30 on 1 April in Japan
        (datetime(2024, 3, 31, 15, 30, tzinfo=UTC), 2024),
        (datetime(2024, 3, 31, 14, 30, tzinfo=UTC), 2023),
        (datetime(2024, 4, 1, 0, 30, tzinfo=timezone(timedelta(hours=9))), 2024),
    ],
)
def test_fiscal_year(value: date, expected: int) -> None:
    assert fiscal_year(value) == expected


def test_fiscal_year_range() -> None:
    assert fiscal_year_range(2023) == (date(2023, 4, 1), date(2024, 3, 31))
    assert fiscal_year_range(2023)[1] - fiscal_year_range(2023)[0] == timedelta(days=365)  # 2024 is leap


@pytest.mark.parametrize(
    ("d", "quarter", "month_index"),
    [
        (date(2024, 4, 1), 1, 1),
        (date(2024, 6, 30), 1, 3),
        (date(2024, 7, 1), 2, 4),
        (date(2024, 9, 30), 2, 6),
        (date(2024, 10, 1), 3, 7),
        (date(2024, 12, 31), 3, 9),
        (date(2025, 1, 1), 4, 10),
        (date(2025, 3, 31), 4, 12),
    ],
)
def test_fiscal_quarter(d: date, quarter: int, month_index: int) -> None:
    assert fiscal_quarter(d) == quarter
    assert fiscal_month_index(d) == month_index


def test_fiscal_quarter_range() -> None:
    assert fiscal_quarter_range(2024, 1) == (date(2024, 4, 1), date(2024, 6, 30))
    assert fiscal_quarter_range(2024, 2) == (date(2024, 7, 1), date(2024, 9, 30))
    assert fiscal_quarter_range(2024, 3) == (date(2024, 10, 1), date(2024, 12, 31))
    assert fiscal_quarter_range(2024, 4) == (date(2025, 1, 1), date(2025, 3, 31))
    with pytest.raises(ValueError, match="四半期"):
        fiscal_quarter_range(2024, 5)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("令和5年度", 2023),
        ("R5年度", 2023),
        ("R05年度", 2023),
        ("令和５年度", 2023),
        ("令和五年度", 2023),
        ("2023年度", 2023),
        ("２０２３年度", 2023),
        ("FY2023", 2023),
        ("平成30年度", 2018),
        ("H30年度", 2018),
        ("令和元年度", 2019),
        ("平成31年度", 2019),
        ("平成元年度", 1989),
        ("昭和63年度", 1988),
        ("昭和元年度", 1926),
        ("大正15年度", 1926),
    ],
)
def test_parse_fiscal_year(raw: str, expected: int) -> None:
    assert parse_fiscal_year(raw) == expected


@pytest.mark.parametrize("raw", ["平成32年度", "昭和64年度", "令和0年度", "令和5年", "2023", "年度"])
def test_parse_fiscal_year_rejects(raw: str) -> None:
    with pytest.raises(WarekiError):
        parse_fiscal_year(raw)


@pytest.mark.parametrize(
    ("fy", "expected"),
    [
        (2023, "令和5年度"),
        (2019, "令和元年度"),
        (2018, "平成30年度"),
        (1989, "平成元年度"),
        (1988, "昭和63年度"),
    ],
)
def test_format_fiscal_year(fy: int, expected: str) -> None:
    assert format_fiscal_year(fy) == expected
    assert format_fiscal_year(fy, wareki=False) == f"{fy}年度"


# --- holidays and closing days ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "name"),
    [
        (date(2024, 1, 1), "元日"),
        (date(2024, 2, 23), "天皇誕生日"),
        (date(2024, 5, 3), "憲法記念日"),
        (date(2019, 5, 1), "天皇の即位の日"),
    ],
)
def test_holidays(d: date, name: str) -> None:
    assert is_holiday(d)
    assert holiday_name(d) == name


def test_substitute_holiday_and_ordinary_day() -> None:
    assert is_holiday(date(2024, 2, 12))  # 建国記念の日 fell on Sunday 2024-02-11
    assert not is_holiday(date(2024, 4, 1))
    assert holiday_name(date(2024, 4, 1)) is None


@pytest.mark.parametrize(
    ("d", "closed"),
    [
        (date(2024, 4, 1), False),  # Monday
        (date(2024, 4, 6), True),  # Saturday
        (date(2024, 4, 7), True),  # Sunday
        (date(2024, 4, 29), True),  # 昭和の日
        (date(2024, 12, 27), False),  # Friday, last working day of 2024
        (date(2024, 12, 30), True),  # Monday but 年末年始
        (date(2025, 1, 3), True),  # Friday but 年末年始
        (date(2025, 1, 6), False),  # Monday
    ],
)
def test_office_closed(d: date, closed: bool) -> None:
    assert is_office_closed(d) is closed
    assert is_business_day(datetime.combine(d, datetime.min.time())) is not closed
