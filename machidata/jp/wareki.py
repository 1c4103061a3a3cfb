"""和暦 and western dates, times, date-times and date ranges: parse to :mod:`datetime`, format as 和暦.

Input is first normalised with :func:`machidata.jp.text.normalize_text` (NFKC: full-width digits,
``／``, ``㋿`` and ``㍻`` become ``/``, ``令和`` and ``平成``). The ``*_PATTERN`` strings are shared with the
vectorised twin (:mod:`machidata.jp.vector`), so they are written in the RE2-compatible subset.

明治 is accepted from 明治6年1月1日 (1873-01-01) only: before that Japan used the lunisolar calendar,
and a day-for-day reading of 明治5年12月2日 as a Gregorian date would be silently wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Literal

from machidata.jp.text import normalize_text

# Asia/Tokyo has kept UTC+9 without daylight saving since 1951, so a fixed offset is exact here.
JST = timezone(timedelta(hours=9), "JST")


class WarekiError(ValueError):
    """A date, time, era year or range that cannot be read or does not exist."""


@dataclass(frozen=True, slots=True)
class Era:
    """A Japanese era (元号) with its first and last day in the Gregorian calendar."""

    name: str
    letter: str
    offset: int  # western year = offset + era year
    start: date
    end: date | None  # None for the current era

    def contains(self, d: date) -> bool:
        """True if ``d`` falls within this era."""
        return self.start <= d and (self.end is None or d <= self.end)

    def span_ja(self) -> str:
        """The era's span in Japanese, for error messages."""
        end = "" if self.end is None else _ja(self.end)
        return f"{self.name}は{_ja(self.start)}〜{end}"


def _ja(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


MEIJI = Era("明治", "M", 1867, date(1873, 1, 1), date(1912, 7, 29))
TAISHO = Era("大正", "T", 1911, date(1912, 7, 30), date(1926, 12, 24))
SHOWA = Era("昭和", "S", 1925, date(1926, 12, 25), date(1989, 1, 7))
HEISEI = Era("平成", "H", 1988, date(1989, 1, 8), date(2019, 4, 30))
REIWA = Era("令和", "R", 2018, date(2019, 5, 1), None)
ERAS = (MEIJI, TAISHO, SHOWA, HEISEI, REIWA)

ERA_BY_TOKEN: dict[str, Era] = {}
for _e in ERAS:
    for _tok in (_e.name, _e.letter, _e.letter.lower(), _e.name[0]):
        ERA_BY_TOKEN[_tok] = _e

ERA_PATTERN = "令和|平成|昭和|大正|明治|[MTSHRmtshr明大昭平令]"
_Y = "[0-9]{1,3}|元"
_MD = "[0-9]{1,2}"
WAREKI_KANJI_PATTERN = f"^(?P<era>{ERA_PATTERN}) ?(?P<y>{_Y}) ?年 ?(?P<m>{_MD}) ?月 ?(?P<d>{_MD}) ?日$"
WAREKI_SEP_PATTERN = (
    f"^(?P<era>{ERA_PATTERN}) ?(?P<y>{_Y})(?P<s1>[./-])(?P<m>{_MD})(?P<s2>[./-])(?P<d>{_MD})$"
)
WESTERN_KANJI_PATTERN = f"^(?P<y>[0-9]{{4}}) ?年 ?(?P<m>{_MD}) ?月 ?(?P<d>{_MD}) ?日$"
WESTERN_SEP_PATTERN = f"^(?P<y>[0-9]{{4}})(?P<s1>[./-])(?P<m>{_MD})(?P<s2>[./-])(?P<d>{_MD})$"
COMPACT_PATTERN = "^(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})$"
# 3/31/2023 or 31/3/2023 (year last, as US-locale spreadsheets write dates). Which part is the month
# is decided per column (``slash_order``); without one, only cells where it is unambiguous are read.
SLASH_YEAR_LAST_PATTERN = "^(?P<a>[0-9]{1,2})/(?P<b>[0-9]{1,2})/(?P<y>[0-9]{4})$"
SlashOrder = Literal["mdy", "dmy"]
# Mutually exclusive; a separated form needs the same separator twice (2024/4-1 is rejected).
DATE_PATTERNS = (WAREKI_KANJI_PATTERN, WAREKI_SEP_PATTERN, WESTERN_KANJI_PATTERN, WESTERN_SEP_PATTERN,
                 COMPACT_PATTERN)  # fmt: skip
_DATE_RES = tuple(re.compile(p) for p in DATE_PATTERNS)
_SLASH_YEAR_LAST = re.compile(SLASH_YEAR_LAST_PATTERN)


def era_for(d: date) -> Era:
    """Return the era in effect on ``d``."""
    for era in reversed(ERAS):
        if era.contains(d):
            return era
    raise WarekiError(f"{_ja(d)}は明治6年（1873年）より前のため和暦に変換できません（旧暦の時代）")


def era_year(era: Era, year_text: str) -> int:
    """Return the era year written as ``'元'`` or ``'06'``, rejecting 0."""
    n = 1 if year_text == "元" else int(year_text)
    if n < 1:
        raise WarekiError(f"{era.name}{year_text}年はありません（元年が1年です）")
    return n


def wareki_date(era: Era, year_token: str, month: int, day: int) -> date:
    """Build the date for an era date, validating the day and the era's first and last day."""
    n = era_year(era, year_token)
    label = f"{era.name}{year_token}年{month}月{day}日"
    try:
        d = date(era.offset + n, month, day)
    except ValueError:
        raise WarekiError(f"{label}は存在しない日付です") from None
    if not era.contains(d):
        raise WarekiError(f"{label}は{era.name}の期間外です（{era.span_ja()}）")
    return d


def _western(y: int, m: int, d: int) -> date:
    try:
        return date(y, m, d)
    except ValueError:
        raise WarekiError(f"{y}年{m}月{d}日は存在しない日付です") from None


def slash_month_day(a: int, b: int, order: SlashOrder | None) -> tuple[int, int] | None:
    """Month and day of ``a/b/YYYY``: by the column's ``order``, else only when unambiguous (else None)."""
    if order == "mdy" or (order is None and (a == b or b > 12)):
        return a, b
    if order == "dmy" or (order is None and a > 12):
        return b, a
    return None


def _fast(t: str, order: SlashOrder | None = None) -> tuple[date, Era | None] | None:
    """Match the shared patterns; ``None`` if none matches, WarekiError if one matches a bad date."""
    sm = _SLASH_YEAR_LAST.match(t)
    if sm is not None:
        md = slash_month_day(int(sm["a"]), int(sm["b"]), order)
        if md is None:
            raise WarekiError(f"{t}は月/日/年か日/月/年か決められません（列の他の値で決めます）")
        return _western(int(sm["y"]), md[0], md[1]), None
    for rx in _DATE_RES:
        m = rx.match(t)
        if m is None:
            continue
        g = m.groupdict()
        if g.get("s1") != g.get("s2"):
            return None
        if g.get("era") is not None:
            era = ERA_BY_TOKEN[g["era"]]
            return wareki_date(era, g["y"], int(g["m"]), int(g["d"])), era
        return _western(int(g["y"]), int(g["m"]), int(g["d"])), None
    return None


# --- scalar-only extras (the vectorised twin sends these rows to the Python fallback) ------------

_KANJI_DIGITS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_KANJI_NUM = re.compile("[〇零一二三四五六七八九十]+")
_WEEKDAYS = "月火水木金土日"
_WEEKDAY_SUFFIX = re.compile(f" ?(?:\\(([{_WEEKDAYS}])(?:曜日?)?\\)|([{_WEEKDAYS}])曜日)$")
_DATED_SUFFIX = re.compile(" ?付け?$")


def _kanji_number(m: re.Match[str]) -> str:
    k = m.group(0)
    if "十" not in k:
        return "".join(str(_KANJI_DIGITS[c]) for c in k)
    tens, _, ones = k.partition("十")
    if len(tens) > 1 or len(ones) > 1 or "十" in ones:
        return k
    return str((_KANJI_DIGITS[tens] if tens else 1) * 10 + (_KANJI_DIGITS[ones] if ones else 0))


def kanji_digits(t: str) -> str:
    """Replace kanji numerals (二〇二四, 十二, 三十一) with ASCII digits."""
    return _KANJI_NUM.sub(_kanji_number, t)


def _parse_date_era(t: str, order: SlashOrder | None = None) -> tuple[date, Era | None] | None:
    """Parse normalised text to (date, era written or None); None if it does not look like a date."""
    r = _fast(t, order)
    if r is not None:
        return r
    weekday: int | None = None
    t2 = _DATED_SUFFIX.sub("", t)
    wm = _WEEKDAY_SUFFIX.search(t2)
    if wm is not None:
        weekday = _WEEKDAYS.index(wm.group(1) or wm.group(2))
        t2 = t2[: wm.start()]
    t2 = kanji_digits(t2)
    if t2 == t:
        return None
    r = _fast(t2, order)
    if r is not None and weekday is not None and r[0].weekday() != weekday:
        raise WarekiError(f"曜日（{_WEEKDAYS[weekday]}）が日付{_ja(r[0])}と合いません")
    return r


def parse_date(s: str, *, slash_order: SlashOrder | None = None) -> date:
    """Parse 令和6年4月1日, R6.4.1, H31/4/30, 令和元年5月1日, 2024/4/1, 2024-04-01, 20240401 and the like.

    ``3/31/2023`` (year last) is read month first with ``slash_order="mdy"``, day first with
    ``"dmy"``; without an order only when one part is over 12 or both are equal.
    """
    r = _parse_date_era(normalize_text(s), slash_order)
    if r is None:
        raise WarekiError(f"日付として読めません: {s!r}")
    return r[0]


def wareki_year(year: int) -> tuple[Era, int]:
    """Return the era and era year that name a western year (the era in effect on 31 December)."""
    era = era_for(date(year, 12, 31))
    return era, year - era.offset


def format_wareki(d: date, *, letter: bool = False) -> str:
    """Format a date as 和暦: ``令和6年4月1日`` / ``令和元年5月1日``, or ``R6.4.1`` with ``letter=True``."""
    era = era_for(d)
    n = d.year - era.offset
    if letter:
        return f"{era.letter}{n}.{d.month}.{d.day}"
    return f"{era.name}{'元' if n == 1 else n}年{d.month}月{d.day}日"


# --- times and date-times -----------------------------------------------------------------------

_TZ = "(?P<tz>Z| ?[+-][0-9]{2}:?[0-9]{2})"
_TIME_COLON = re.compile(
    f"^(?P<ampm>午前|午後)? ?(?P<H>[0-9]{{1,2}}):(?P<M>[0-9]{{2}})"
    f"(?::(?P<S>[0-9]{{2}})(?:\\.(?P<f>[0-9]{{1,6}}))?)?{_TZ}?$"
)
_TIME_KANJI = re.compile(
    "^(?P<ampm>午前|午後)? ?(?P<H>[0-9]{1,2}) ?時(?: ?(?P<half>半)| ?(?P<M>[0-9]{1,2}) ?分(?: ?(?P<S>[0-9]{1,2}) ?秒)?)?$"
)


def _parse_time_tz(t: str) -> tuple[time, timezone | None] | None:
    if t == "正午":
        return time(12), None
    m = _TIME_COLON.match(t) or _TIME_KANJI.match(t) or _TIME_KANJI.match(kanji_digits(t))
    if m is None:
        return None
    g = m.groupdict()
    hour, minute = int(g["H"]), 30 if g.get("half") else int(g["M"] or 0)
    second, micro = int(g["S"] or 0), int((g.get("f") or "0").ljust(6, "0"))
    ampm, tz_text = g["ampm"], g.get("tz")
    if ampm == "午前" and hour > 12:  # 午前12時 is noon (明治5年太政官達第337号)
        raise WarekiError(f"午前{hour}時はありません（午前は0〜12時）: {t!r}")
    if ampm == "午後":
        if hour > 11:
            raise WarekiError(f"午後{hour}時は曖昧か存在しません（午後は0〜11時）: {t!r}")
        hour += 12
    if hour > 23 or minute > 59 or second > 59:
        raise WarekiError(f"存在しない時刻です: {t!r}")
    if tz_text and ampm:
        raise WarekiError(f"午前/午後とタイムゾーンは併用できません: {t!r}")
    tz: timezone | None = None
    if tz_text == "Z":
        tz = UTC
    elif tz_text:
        digits = tz_text.strip().replace(":", "")
        sign = -1 if digits[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(digits[1:3]), minutes=int(digits[3:5])))
    return time(hour, minute, second, micro), tz


def parse_time(s: str) -> time:
    """Parse 23:30, 23:30:15, 23時30分, 9時半, 午後3時, 正午 to a :class:`datetime.time`."""
    r = _parse_time_tz(normalize_text(s))
    if r is None:
        raise WarekiError(f"時刻として読めません: {s!r}")
    if r[1] is not None:
        raise WarekiError(f"時刻だけの値にはタイムゾーンを付けられません: {s!r}")
    return r[0]


_DATETIME_SPLIT = re.compile("T| |(?<=日)")


def parse_datetime(s: str, *, slash_order: SlashOrder | None = None) -> datetime:
    """Parse a date with an optional time (令和6年4月1日 23:30, 2024/4/1 0:30:00) to naive Japan time."""
    t = normalize_text(s)
    whole = _parse_date_era(t, slash_order)
    if whole is not None:
        return datetime.combine(whole[0], time())
    error: WarekiError | None = None
    for m in _DATETIME_SPLIT.finditer(t):
        left, right = t[: m.start()].strip(" "), t[m.end() :].strip(" ")
        try:
            d = _parse_date_era(left, slash_order) if left else None
            tt = _parse_time_tz(right) if d is not None else None
        except WarekiError as exc:
            error = exc
            continue
        if d is not None and tt is not None:
            dt = datetime.combine(d[0], tt[0])
            if tt[1] is not None:  # an explicit offset: store the same instant as Japan wall-clock time
                dt = dt.replace(tzinfo=tt[1]).astimezone(JST).replace(tzinfo=None)
            return dt
    detail = f"（{error}）" if error is not None else ""
    raise WarekiError(f"日時として読めません: {s!r}{detail}")


# --- ranges -------------------------------------------------------------------------------------

_RANGE_SEP = re.compile("から|[~〜\\-−–—]")
_RANGE_END_MONTH_DAY = re.compile(
    "^(?:同年 ?)?(?P<m>[0-9]{1,2}) ?(?:月 ?(?P<d>[0-9]{1,2}) ?日|/(?P<d2>[0-9]{1,2}))$"
)
_RANGE_END_YEAR = re.compile(
    "^(?:同 ?)?(?P<y>[0-9]{1,2}|元) ?年 ?(?P<m>[0-9]{1,2}) ?月 ?(?P<d>[0-9]{1,2}) ?日$"
)


def _range_end(right: str, start: tuple[date, Era | None] | None) -> date | None:
    r = _parse_date_era(right)
    if r is not None or start is None:
        return None if r is None else r[0]
    right = kanji_digits(right)
    m = _RANGE_END_MONTH_DAY.match(right)
    if m is not None:  # 令和6年1月1日～12月31日: the end inherits the start's year
        day = int(m["d"] or m["d2"])
        if start[1] is not None:
            return wareki_date(start[1], str(start[0].year - start[1].offset), int(m["m"]), day)
        return _western(start[0].year, int(m["m"]), day)
    m = _RANGE_END_YEAR.match(right)
    if m is not None and start[1] is not None:  # 令和6年4月1日～7年3月31日: the end inherits the era
        return wareki_date(start[1], m["y"], int(m["m"]), int(m["d"]))
    return None


def parse_date_range(s: str) -> tuple[date | None, date | None]:
    """Parse a period in one cell (令和6年1月1日～令和11年12月31日, 2024/4/1-2025/3/31, 〜から〜まで)."""
    t = re.sub(" ?まで$", "", normalize_text(s))
    found: set[tuple[date | None, date | None]] = set()
    error: WarekiError | None = None
    for m in _RANGE_SEP.finditer(t):
        left, right = t[: m.start()].strip(" "), t[m.end() :].strip(" ")
        try:
            start = _parse_date_era(left) if left else None
            if left and start is None:
                continue
            end = _range_end(right, start) if right else None
        except WarekiError as exc:
            error = exc
            continue
        if (right and end is None) or (start is None and end is None):
            continue
        found.add((start[0] if start else None, end))
    if len(found) > 1:
        raise WarekiError(f"期間の区切りが曖昧です: {s!r}")
    if not found:
        raise error or WarekiError(f"期間（開始日〜終了日）として読めません: {s!r}")
    start_d, end_d = found.pop()
    if start_d is not None and end_d is not None and end_d < start_d:
        raise WarekiError(f"終了日が開始日より前です: {s!r}")
    return start_d, end_d
