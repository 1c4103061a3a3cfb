"""National holidays (国民の祝日・休日, via jpholiday) and city-office closing days (閉庁日)."""

from __future__ import annotations

from datetime import date, datetime

import jpholiday


def _as_date(d: date | datetime) -> date:
    return d.date() if isinstance(d, datetime) else d


def is_holiday(d: date | datetime) -> bool:
    """True on a 国民の祝日 or 休日 (振替休日, 国民の休日) under the 祝日法."""
    return bool(jpholiday.is_holiday(_as_date(d)))


def holiday_name(d: date | datetime) -> str | None:
    """Return the holiday's name (e.g. ``元日``), or ``None`` on an ordinary day."""
    name = jpholiday.is_holiday_name(_as_date(d))
    return None if name is None else str(name)


def is_year_end_closure(d: date | datetime) -> bool:
    """True from 29 December to 3 January, when city offices are closed (年末年始)."""
    dd = _as_date(d)
    return (dd.month == 12 and dd.day >= 29) or (dd.month == 1 and dd.day <= 3)


def is_office_closed(d: date | datetime) -> bool:
    """True on a 閉庁日: Saturday, Sunday, a national holiday or 29 Dec – 3 Jan (地方自治法第4条の2)."""
    dd = _as_date(d)
    return dd.weekday() >= 5 or is_holiday(dd) or is_year_end_closure(dd)


def is_business_day(d: date | datetime) -> bool:
    """True on a day city offices are open (開庁日)."""
    return not is_office_closed(d)
