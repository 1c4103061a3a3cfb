"""Vectorised twins of the jp parsers for ingestion: pyarrow.compute over whole string columns.

Each function agrees with its scalar reference (``normalize_text``, ``parse_number``, ``parse_date``,
``parse_datetime``); property tests in ``tests/test_vector.py`` check that on generated inputs. The
fast path uses the very regular expressions the scalar functions use (RE2 runs them here). Rows the
fast path cannot decide — kanji numerals (令和六年), weekday or 付 suffixes, kanji or 午前/午後 times,
time-zone offsets — go to the scalar function in a Python loop; only those rows pay that cost.
Null input gives null output.
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from machidata.jp.text import (
    NEGATIVE_SIGNS,
    NONE_MARKER_PATTERN,
    NUMBER_PATTERN,
    SUPPRESSED_MARKERS,
    UNITS,
    UNKNOWN_MARKERS,
    ZERO_WIDTH_CHARS,
)
from machidata.jp.wareki import (
    COMPACT_PATTERN,
    ERA_BY_TOKEN,
    SLASH_YEAR_LAST_PATTERN,
    WAREKI_KANJI_PATTERN,
    WAREKI_SEP_PATTERN,
    WESTERN_KANJI_PATTERN,
    WESTERN_SEP_PATTERN,
    SlashOrder,
    WarekiError,
    parse_date,
    parse_datetime,
)

# pyarrow ships no type stubs; arrays are typed as Any at this boundary.
Arr = Any


def _strings(arr: Arr) -> Arr:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not isinstance(arr, pa.Array):
        arr = pa.array(arr, type=pa.string())
    return arr if arr.type == pa.string() else pc.cast(arr, pa.string())


_RARE_CHARS_PATTERN = f"[\t\n\r\f\v{ZERO_WIDTH_CHARS}]"


def normalise_text(arr: Arr) -> Arr:
    """Twin of ``normalize_text``: NFKC, zero-width characters dropped, whitespace collapsed, trimmed."""
    t = _strings(arr)
    # NFKC leaves ASCII unchanged, so only the non-ASCII rows are normalised.
    non_ascii = pc.invert(pc.fill_null(pc.string_is_ascii(t), True))
    if pc.any(non_ascii).as_py():
        t = pc.replace_with_mask(t, non_ascii, pc.utf8_normalize(pc.filter(t, non_ascii), "NFKC"))
    # Literal replacements are much faster than one regex pass; together they equal
    # ZERO_WIDTH_PATTERN -> "" and WHITESPACE_RUN_PATTERN -> " " in the scalar normalize_text.
    # One regex pass first: most columns hold none of these characters, so the ten passes are skipped.
    if pc.any(pc.match_substring_regex(t, _RARE_CHARS_PATTERN)).as_py():
        for ch in ZERO_WIDTH_CHARS:
            t = pc.replace_substring(t, ch, "")
        for ch in "\t\n\r\f\v":
            t = pc.replace_substring(t, ch, " ")
    if pc.any(pc.match_substring(t, "  ")).as_py():
        t = pc.replace_substring_regex(t, " {2,}", " ")
    return pc.utf8_trim(t, " ")


def missing_reasons(arr: Arr) -> Arr:
    """Twin of ``parse_missing(...).reason``: 'empty'/'suppressed'/'unknown'/'none', null for values."""
    return missing_reasons_normalised(normalise_text(arr))


def missing_reasons_normalised(t: Arr) -> Arr:
    """:func:`missing_reasons` of a column already passed through :func:`normalise_text`."""
    conds = pc.make_struct(
        pc.equal(t, ""),
        pc.is_in(t, value_set=pa.array(SUPPRESSED_MARKERS)),
        pc.is_in(t, value_set=pa.array(UNKNOWN_MARKERS)),
        pc.match_substring_regex(t, NONE_MARKER_PATTERN),
        field_names=["empty", "suppressed", "unknown", "none"],
    )
    return pc.case_when(conds, "empty", "suppressed", "unknown", "none")


class NumberColumn(NamedTuple):
    """Parsed numeric column: float64 values, units, negative markers, missing reasons, ok mask."""

    value: Arr
    unit: Arr
    negative_marker: Arr
    missing: Arr
    ok: Arr


def _nonempty(a: Arr) -> Arr:
    return pc.fill_null(pc.not_equal(a, ""), False)


def _blank_to_null(a: Arr) -> Arr:
    return pc.if_else(_nonempty(a), a, pa.scalar(None, pa.string()))


def parse_numbers(arr: Arr) -> NumberColumn:
    """Twin of ``parse_number``, column-wise; values are float64 (the scalar keeps exact Decimals)."""
    return parse_numbers_normalised(normalise_text(arr))


def parse_numbers_normalised(t: Arr) -> NumberColumn:
    """:func:`parse_numbers` of a column already passed through :func:`normalise_text`."""
    missing = missing_reasons_normalised(t)
    s = pc.extract_regex(t, NUMBER_PATTERN)

    def field(name: str) -> Arr:
        return pc.struct_field(s, name)

    paren, yen = _nonempty(field("pnum")), _nonempty(field("ynum"))
    digits = pc.if_else(paren, field("pnum"), pc.if_else(yen, field("ynum"), field("num")))
    unit = pc.if_else(paren, field("punit"), pc.if_else(yen, pa.scalar("円"), field("unit")))
    known_unit = pc.or_(pc.invert(_nonempty(unit)), pc.is_in(unit, value_set=pa.array(UNITS)))
    ok = pc.fill_null(pc.and_(pc.and_(pc.is_valid(s), pc.is_null(missing)), known_unit), False)
    sign = field("sign")
    signed = pc.fill_null(pc.is_in(sign, value_set=pa.array(NEGATIVE_SIGNS)), False)
    marker = pc.if_else(
        signed,
        pc.replace_substring(sign, "−", "-"),
        pc.if_else(paren, pa.scalar("()"), pa.scalar(None, pa.string())),
    )
    digits = pc.if_else(ok, pc.replace_substring(digits, ",", ""), pa.scalar(None, pa.string()))
    value = pc.cast(digits, pa.float64())
    value = pc.if_else(pc.is_valid(marker), pc.negate(value), value)
    null_str = pa.scalar(None, pa.string())
    return NumberColumn(
        value=value,
        unit=pc.if_else(ok, _blank_to_null(unit), null_str),
        negative_marker=pc.if_else(ok, marker, null_str),
        missing=missing,
        ok=ok,
    )


# --- dates --------------------------------------------------------------------------------------

_ERA_TOKENS = list(ERA_BY_TOKEN)
_ERA_OFFSET = pa.array([ERA_BY_TOKEN[k].offset for k in _ERA_TOKENS], pa.int64())
_ERA_START = pa.array([ERA_BY_TOKEN[k].start for k in _ERA_TOKENS], pa.date32())
_ERA_END = pa.array([ERA_BY_TOKEN[k].end for k in _ERA_TOKENS], pa.date32())
# Anything the scalar parser's extras could rescue: kanji numerals, 曜日 or 付 suffixes.
_SCALAR_EXTRAS_PATTERN = "[〇零一二三四五六七八九十曜付)]"


def _days_from_civil(y: Arr, m: Arr, d: Arr) -> Arr:
    """Days since 1970-01-01 for year >= 1 (H. Hinnant's algorithm, integer arithmetic only)."""
    early = pc.cast(pc.less_equal(m, 2), pa.int64())
    y = pc.subtract(y, early)
    era = pc.divide(y, 400)
    yoe = pc.subtract(y, pc.multiply(era, 400))
    mp = pc.add(m, pc.if_else(pc.greater(m, 2), -3, 9))
    doy = pc.add(pc.divide(pc.add(pc.multiply(mp, 153), 2), 5), pc.subtract(d, 1))
    doe = pc.add(pc.subtract(pc.add(pc.multiply(yoe, 365), pc.divide(yoe, 4)), pc.divide(yoe, 100)), doy)
    return pc.subtract(pc.add(pc.multiply(era, 146097), doe), 719468)


def _slash_fields(f: dict[str, Arr], hit: Arr, order: SlashOrder | None) -> None:
    """Twin of ``wareki.slash_month_day``: set ``m``/``d`` from ``a``/``b`` (null where ambiguous)."""
    a = pc.cast(pc.if_else(hit, f["a"], pa.scalar("0")), pa.int64())
    b = pc.cast(pc.if_else(hit, f["b"], pa.scalar("0")), pa.int64())
    if order is None:
        month_first = pc.or_(pc.equal(a, b), pc.greater(b, 12))
        day_first = pc.and_(pc.invert(month_first), pc.greater(a, 12))
    else:
        month_first = pa.scalar(order == "mdy")
        day_first = pa.scalar(order == "dmy")
    null = pa.scalar(None, pa.string())
    f["m"] = pc.if_else(month_first, f["a"], pc.if_else(day_first, f["b"], null))
    f["d"] = pc.if_else(month_first, f["b"], pc.if_else(day_first, f["a"], null))


def _fast_dates(t: Arr, slash_order: SlashOrder | None = None) -> tuple[Arr, Arr]:
    """Dates for rows matching a shared pattern, and the mask of rows that matched one at all."""
    n = len(t)
    out = pa.nulls(n, pa.date32())
    matched = pa.array([False] * n)
    for pattern in (WAREKI_KANJI_PATTERN, WAREKI_SEP_PATTERN, WESTERN_KANJI_PATTERN, WESTERN_SEP_PATTERN,
                    COMPACT_PATTERN, SLASH_YEAR_LAST_PATTERN):  # fmt: skip
        if pattern == SLASH_YEAR_LAST_PATTERN and not pc.any(pc.match_substring(t, "/")).as_py():
            continue
        s = pc.extract_regex(t, pattern)
        hit = pc.fill_null(pc.is_valid(s), False)
        if not pc.any(hit).as_py():
            continue
        names = {s.type.field(i).name for i in range(s.type.num_fields)}
        f = {name: pc.struct_field(s, name) for name in names}
        if "a" in names:
            _slash_fields(f, hit, slash_order)
            names |= {"m", "d"}
            hit_valid = pc.fill_null(pc.is_valid(f["m"]), False)
        else:
            hit_valid = hit
        if "s1" in names:  # the two separators must be the same, as in the scalar parser
            hit = pc.and_(hit, pc.fill_null(pc.equal(f["s1"], f["s2"]), False))
        safe = pc.if_else(hit, pc.replace_substring(f["y"], "元", "1"), pa.scalar("0"))
        year = pc.cast(safe, pa.int64())
        month = pc.cast(pc.if_else(hit_valid, f["m"], pa.scalar("0")), pa.int64())
        day = pc.cast(pc.if_else(hit_valid, f["d"], pa.scalar("0")), pa.int64())
        valid = pc.and_(
            pc.greater_equal(year, 1), pc.and_(pc.greater_equal(month, 1), pc.less_equal(month, 12))
        )
        valid = pc.and_(valid, pc.and_(pc.greater_equal(day, 1), pc.less_equal(day, 31)))
        if "era" in names:
            idx = pc.index_in(f["era"], value_set=pa.array(_ERA_TOKENS))
            idx = pc.if_else(hit, idx, pa.scalar(0, pa.int32()))
            era_year = year
            year = pc.add(pc.take(_ERA_OFFSET, idx), era_year)
        safe_y = pc.if_else(valid, year, 2000)
        days = _days_from_civil(safe_y, pc.if_else(valid, month, 1), pc.if_else(valid, day, 1))
        dates = pc.cast(pc.cast(days, pa.int32()), pa.date32())
        valid = pc.and_(valid, pc.equal(pc.year(dates), year))
        valid = pc.and_(valid, pc.and_(pc.equal(pc.month(dates), month), pc.equal(pc.day(dates), day)))
        if "era" in names:
            end = pc.take(_ERA_END, idx)
            after_start = pc.greater_equal(dates, pc.take(_ERA_START, idx))
            before_end = pc.fill_null(pc.less_equal(dates, end), True)
            valid = pc.and_(valid, pc.and_(after_start, before_end))
        good = pc.and_(hit, valid)
        out = pc.if_else(good, dates, out)
        matched = pc.or_(matched, hit)
    return out, matched


def _fallback(raw: Arr, result: Arr, todo: Arr, fn: Any, typ: pa.DataType) -> Arr:
    """Replace the rows flagged in ``todo`` with the scalar ``fn`` of the raw string (None on error)."""
    todo = pc.fill_null(todo, False)
    if not pc.any(todo).as_py():
        return result
    values = []
    for s in pc.filter(raw, todo).to_pylist():
        try:
            values.append(fn(s))
        except WarekiError:
            values.append(None)
    return pc.replace_with_mask(result, todo, pa.array(values, typ))


def parse_dates(arr: Arr, *, slash_order: SlashOrder | None = None) -> Arr:
    """Twin of ``parse_date``: a date32 array, null where the cell is null or not a valid date."""
    raw = _strings(arr)
    return parse_dates_normalised(raw, normalise_text(raw), slash_order=slash_order)


def parse_dates_normalised(raw: Arr, t: Arr, *, slash_order: SlashOrder | None = None) -> Arr:
    """:func:`parse_dates` given both the raw column and its :func:`normalise_text`."""
    out, matched = _fast_dates(t, slash_order)
    todo = pc.and_(pc.invert(matched), pc.match_substring_regex(t, _SCALAR_EXTRAS_PATTERN))
    return _fallback(raw, out, todo, partial(parse_date, slash_order=slash_order), pa.date32())


_FAST_DATETIME = "^(?P<date>.+?)[ T](?P<H>[0-9]{1,2}):(?P<M>[0-9]{2})(?::(?P<S>[0-9]{2}))?$"
# A necessary condition for ``parse_datetime`` to read a cell (the fallback skips the rest): its date
# has 年, 月 and 日; or three digit runs joined by . / or - (R6.4.1, 2024/4/1, 3/31/2023); or it starts
# with 8 digits (20240401), or with kanji numerals, followed by the end, a time or a suffix. So
# addresses (…7丁目25-26), amounts and plain numbers never reach the scalar parser.
_DIGITISH = "[0-9〇零一二三四五六七八九十]"
_AFTER_DATE = "(?:$|[ T(付月火水木金土日])"
DATE_SHAPE_PATTERN = (
    f"年.*月.*日|{_DIGITISH}+[./-]{_DIGITISH}+[./-]{_DIGITISH}+|^[0-9]{{8}}{_AFTER_DATE}"
    f"|^{_DIGITISH}*[〇零一二三四五六七八九十]{_DIGITISH}*{_AFTER_DATE}"
)


def parse_datetimes(arr: Arr, *, slash_order: SlashOrder | None = None) -> Arr:
    """Twin of ``parse_datetime``: timestamp[us] (naive, Japan time), null where unreadable."""
    raw = _strings(arr)
    return parse_datetimes_normalised(raw, normalise_text(raw), slash_order=slash_order)


def parse_datetimes_normalised(raw: Arr, t: Arr, *, slash_order: SlashOrder | None = None) -> Arr:
    """:func:`parse_datetimes` given both the raw column and its :func:`normalise_text`."""
    date_only, date_matched = _fast_dates(t, slash_order)
    micros_per_day = 86_400_000_000
    out = pc.multiply(pc.cast(pc.cast(date_only, pa.int32()), pa.int64()), micros_per_day)
    decided = date_matched
    s = pc.extract_regex(t, _FAST_DATETIME)
    hit = pc.fill_null(pc.is_valid(s), False)
    if pc.any(hit).as_py():
        date_part = pc.if_else(hit, pc.struct_field(s, "date"), pa.scalar(None, pa.string()))
        dates, date_hit = _fast_dates(date_part, slash_order)
        hit = pc.and_(hit, date_hit)

        def num(name: str) -> Arr:
            text = pc.if_else(
                pc.and_(hit, _nonempty(pc.struct_field(s, name))), pc.struct_field(s, name), "0"
            )
            return pc.cast(text, pa.int64())

        h, mi, sec = num("H"), num("M"), num("S")
        ok = pc.and_(pc.less_equal(h, 23), pc.and_(pc.less_equal(mi, 59), pc.less_equal(sec, 59)))
        seconds = pc.add(pc.add(pc.multiply(h, 3600), pc.multiply(mi, 60)), sec)
        day_us = pc.multiply(pc.cast(pc.cast(dates, pa.int32()), pa.int64()), micros_per_day)
        stamp = pc.if_else(ok, pc.add(day_us, pc.multiply(seconds, 1_000_000)), pa.scalar(None, pa.int64()))
        out = pc.if_else(hit, stamp, out)
        decided = pc.or_(decided, hit)
    result = pc.cast(out, pa.timestamp("us"))
    todo = pc.and_(pc.invert(decided), pc.match_substring_regex(t, DATE_SHAPE_PATTERN))
    todo = pc.and_(todo, pc.match_substring_regex(t, "[0-9〇零一二三四五六七八九十正]"))
    fn = partial(parse_datetime, slash_order=slash_order)
    return _fallback(raw, result, todo, fn, pa.timestamp("us"))
