"""年度: the Japanese fiscal year (1 April to 31 March), its quarters, parsing and formatting.

A fiscal year is named by the calendar year it starts in: 2023年度 = 令和5年度 = 2023-04-01 … 2024-03-31.
Date-times are Japan wall-clock time; an aware datetime is converted to Asia/Tokyo first, so
2024-03-31T15:00Z (2024-04-01 00:00 in Japan) belongs to fiscal year 2024.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from machidata.jp.text import normalize_text
from machidata.jp.wareki import (
    ERA_BY_TOKEN,
    ERA_PATTERN,
    JST,
    WarekiError,
    era_year,
    kanji_digits,
    wareki_year,
)


def _japan_date(d: date | datetime) -> date:
    if isinstance(d, datetime):
        if d.tzinfo is not None:
            d = d.astimezone(JST)
        return d.date()
    return d


def fiscal_year(d: date | datetime) -> int:
    """Return the fiscal year (年度) containing ``d``: 2024-03-31 23:30 -> 2023, 2024-04-01 00:30 -> 2024."""
    jd = _japan_date(d)
    return jd.year if jd.month >= 4 else jd.year - 1


def fiscal_year_range(fy: int) -> tuple[date, date]:
    """Return the first and last day of fiscal year ``fy`` (fy-04-01, fy+1-03-31)."""
    return date(fy, 4, 1), date(fy + 1, 3, 31)


def fiscal_quarter(d: date | datetime) -> int:
    """Return the fiscal quarter 1–4 of ``d`` (Q1 = April–June, Q4 = January–March)."""
    return (_japan_date(d).month - 4) % 12 // 3 + 1


def fiscal_quarter_range(fy: int, quarter: int) -> tuple[date, date]:
    """Return the first and last day of quarter ``quarter`` (1–4) of fiscal year ``fy``."""
    if quarter not in (1, 2, 3, 4):
        raise ValueError(f"四半期は1〜4です: {quarter}")
    first_month = 4 + 3 * (quarter - 1)
    year = fy if first_month <= 12 else fy + 1
    first_month = (first_month - 1) % 12 + 1
    start = date(year, first_month, 1)
    next_start = date(year + 1, 1, 1) if first_month == 10 else date(year, first_month + 3, 1)
    return start, date.fromordinal(next_start.toordinal() - 1)


def fiscal_month_index(d: date | datetime) -> int:
    """Return the month's position within the fiscal year: April = 1 … March = 12."""
    return (_japan_date(d).month - 4) % 12 + 1


_FY_WAREKI = re.compile(f"^(?P<era>{ERA_PATTERN}) ?(?P<y>[0-9]{{1,3}}|元) ?年度(?:分)?$")
_FY_WESTERN = re.compile("^(?:FY ?(?P<fy>[0-9]{4})|(?P<y>[0-9]{4}) ?年度(?:分)?)$", re.IGNORECASE)


def parse_fiscal_year(s: str) -> int:
    """Parse 令和5年度, R5年度, 令和元年度, 平成30年度, 2023年度 or FY2023 to the starting calendar year."""
    t = kanji_digits(normalize_text(s))
    m = _FY_WESTERN.match(t)
    if m is not None:
        return int(m["fy"] or m["y"])
    m = _FY_WAREKI.match(t)
    if m is None:
        raise WarekiError(f"年度として読めません: {s!r}")
    era = ERA_BY_TOKEN[m["era"]]
    fy = era.offset + era_year(era, m["y"])
    start, end = fiscal_year_range(fy)
    # 平成31年度 and 令和元年度 are both FY2019; 平成32年度 is not (平成 had ended).
    if start > (era.end or end) or end < era.start:
        raise WarekiError(f"{era.name}{m['y']}年度は{era.name}の期間外です（{era.span_ja()}）")
    return fy


def format_fiscal_year(fy: int, *, wareki: bool = True) -> str:
    """Format a fiscal year as ``令和5年度`` (the era of 31 December, so FY2019 is 令和元年度) or ``2023年度``."""
    if not wareki:
        return f"{fy}年度"
    era, n = wareki_year(fy)
    return f"{era.name}{'元' if n == 1 else n}年度"
