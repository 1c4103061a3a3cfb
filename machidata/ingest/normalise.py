"""Normalise a batch of raw text cells to the typed columns of its Table Schema, keeping the raw text.

Vectorised with pyarrow.compute through :mod:`machidata.jp.vector`. Per column, cells already in
canonical form (``1234``, ``12.5``, ``2024-04-01``) are typed by one Arrow cast; the other cells go
through the jp parsers once per DISTINCT value (a :class:`ParseCache` keeps parsed values from batch
to batch of one ingest) and are spread back with ``take``. Values with no vectorised twin (年度,
date ranges, 午前/午後 times, 年月, 団体コード check digits) use the scalar jp function, also once
per distinct value — never once per row.

Raw values: a field with a raw column (:func:`raw_columns`: every non-string field, and the string
fields whose sample text was changed by normalisation) gets ``<name>__raw`` (string), holding the
cell's original text where the stored value is not an exact canonical spelling of it — ``1,234`` →
1234, ``令和6年4月1日`` → 2024-04-01, ``x`` → null (suppressed), a tz-aware time converted to Japan
time, a value that failed to parse — and null elsewhere. Booleans spelled with the field's declared
``trueValues``/``falseValues`` (○/×) count as unchanged. String fields without a raw column are
stored exactly as read (blank → null): infer saw no text to change in them.

Dates and times are naive Japanese wall-clock values (timestamp without time zone); an explicit
offset (``Z``, ``+00:00``) is converted to Asia/Tokyo by the jp parsers and the raw text kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from machidata.ingest.schema import RAW_SUFFIX, Field, TableSchema, schema_to_arrow
from machidata.ingest.validate import Issue
from machidata.jp import vector as jv
from machidata.jp.codes import is_valid_lg_code
from machidata.jp.fiscal import parse_fiscal_year
from machidata.jp.text import FALSE_WORDS, TRUE_WORDS
from machidata.jp.wareki import SlashOrder, parse_date, parse_date_range, parse_time

Arr = Any
SPLIT_SUFFIX = {"start": "開始", "end": "終了", "lat": "緯度", "lon": "経度"}
HYPHENS = "-‐‑‒–—―−ー─━"
POSTAL_PATTERN = f"^(?:〒 ?)?([0-9]{{3}})[{HYPHENS}]?([0-9]{{4}})$"
PHONE_PATTERN = f"^(?:\\+81[ {HYPHENS}]?)?[0-9()]{{1,6}}(?:[ {HYPHENS}()]{{0,2}}[0-9]{{1,4}}){{1,3}}$"
LATLON_PATTERN = "^\\(? ?(?P<lat>[+-]?[0-9]{1,3}(?:\\.[0-9]+)?) ?°? ?[,/、 ] ?(?P<lon>[+-]?[0-9]{1,3}(?:\\.[0-9]+)?) ?°? ?\\)?$"
_PLAIN_NUMBER = "^-?[0-9]+(?:\\.[0-9]+)?$"
_FAST_TIME = "^(?P<H>[0-9]{1,2}):(?P<M>[0-9]{2})(?::(?P<S>[0-9]{2}))?$"
_YEARMONTH = "^(?P<head>.+?) ?(?:年|[./-]) ?(?P<m>[0-9]{1,2}) ?月?$"
_NULL_STR = pa.scalar(None, pa.string())
SLASH_FORMATS: dict[str, SlashOrder] = {"%m/%d/%Y": "mdy", "%d/%m/%Y": "dmy"}  # Field.format of dates
# The canonical spelling of a type (what the stored value prints as) and the Arrow type to cast to.
# Integers stop at 15 digits: the jp parser reads through float64, exact only below 2**53.
CANONICAL = {"integer": ("^(?:0|-?[1-9][0-9]{0,14})$", pa.int64()),
             "year": ("^(?:0|-?[1-9][0-9]{0,14})$", pa.int64()),
             "number": ("^-?[0-9]+(?:\\.[0-9]+)?$", pa.float64()),
             "date": ("^[0-9]{4}-[0-9]{2}-[0-9]{2}$", pa.date32())}  # fmt: skip
PROBE_ROWS = 512  # cells looked at before trying a cast of the whole column
MAX_CACHED_VALUES = 50_000  # distinct values kept per field across batches (bounds memory)
TYPE_LABELS = {"integer": "整数", "number": "数値", "boolean": "真偽値（○/×、有/無など）", "date": "日付",
               "datetime": "日時", "time": "時刻", "year": "西暦年", "yearmonth": "年月", "string": "文字列",
               "geojson": "GeoJSON"}  # fmt: skip


@dataclass
class Parsed:
    """One field parsed from its source column: typed values, which cells held a value, which read."""

    typed: Arr
    present: Arr  # the cell held a value (not blank, not a missing marker)
    ok: Arr  # present and read as the field's type
    changed: Arr  # the stored value is not an exact spelling of the raw text
    message: Arr | str  # why a present cell failed (Japanese)
    clean: bool = False  # every non-blank cell read as spelled (present, ok, unchanged): nothing to keep


@dataclass
class NormaliseResult:
    """A typed batch, raw text where values changed (by raw column key), and the cells that failed."""

    batch: pa.RecordBatch
    raw: dict[str, Arr]
    issues: list[Issue] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)

    def with_raw(self) -> pa.RecordBatch:
        """The typed batch followed by its ``<name>__raw`` columns."""
        arrays = list(self.batch.columns) + list(self.raw.values())
        names = list(self.batch.schema.names) + [k + RAW_SUFFIX for k in self.raw]
        return pa.RecordBatch.from_arrays(arrays, names=names)


def raw_key(f: Field) -> str:
    """The raw column key of a field: split parts (範囲の開始/終了, 緯度/経度) share their source's key."""
    return f.name.rsplit("_", 1)[0] if f.part else f.name


def raw_columns(schema: TableSchema) -> list[str]:
    """Keys of the ``__raw`` columns every batch of this schema carries (see the module docstring)."""
    keys: list[str] = []
    for f in schema.fields:
        if (f.type != "string" or f.kind or f.missing or f.inference.get("text_changed")) and raw_key(
            f
        ) not in keys:
            keys.append(raw_key(f))
    return keys


def arrow_schema_with_raw(schema: TableSchema) -> pa.Schema:
    """The Arrow schema of :meth:`NormaliseResult.with_raw` batches (what the lake stores)."""
    base = schema_to_arrow(schema)
    return pa.schema(list(base) + [pa.field(k + RAW_SUFFIX, pa.string()) for k in raw_columns(schema)])


def by_distinct(values: Arr, fn: Callable[[str], Any], typ: pa.DataType) -> Arr:
    """Apply a scalar parser once per distinct non-null value; errors give null."""
    uniq = pc.drop_null(pc.unique(values))
    out = []
    for v in uniq.to_pylist():
        try:
            out.append(fn(v))
        except (ValueError, TypeError):
            out.append(None)
    return pc.take(pa.array(out, typ), pc.index_in(values, value_set=uniq))


def _false(n: int) -> Arr:
    return pa.repeat(False, n)


def _present(raw: Arr, t: Arr, f: Field) -> Arr:
    """Cells holding a value: not null/blank, not a jp missing marker (non-string), not a declared one."""
    nonblank = pc.fill_null(pc.not_equal(t, ""), False)
    if f.missing:
        nonblank = pc.and_(
            nonblank, pc.invert(pc.fill_null(pc.is_in(t, value_set=pa.array(list(f.missing))), False))
        )
    if f.type != "string":
        nonblank = pc.and_(nonblank, pc.is_null(jv.missing_reasons_normalised(t)))
    return nonblank


def _ne(a: Arr, b: Arr) -> Arr:
    return pc.fill_null(pc.not_equal(a, b), True)


def _yearmonth(s: str) -> str:
    m = __import__("re").match(_YEARMONTH, s)
    if m is None:
        raise ValueError(s)
    head = m["head"]
    if head.isdigit() and len(head) != 4:  # 12.3 is a number, not the year 12
        raise ValueError(s)
    d = parse_date(f"{head}年{m['m']}月1日") if not head.isdigit() else date(int(head), int(m["m"]), 1)
    return f"{d.year:04d}-{d.month:02d}"


def _time(s: str) -> time:
    return parse_time(s)


def _lg(s: str) -> str:
    if len(s) == 6 and not is_valid_lg_code(s):
        raise ValueError(s)
    if not s.isdigit() or len(s) not in (5, 6):
        raise ValueError(s)
    return s


def _parse_numbers(raw: Arr, t: Arr, f: Field, present: Arr) -> Parsed:
    if f.kind == "fiscal_year":
        fy = by_distinct(
            t, lambda s: int(s) if s.isdigit() and len(s) == 4 else parse_fiscal_year(s), pa.int64()
        )
        ok = pc.and_(present, pc.is_valid(fy))
        return Parsed(
            fy,
            present,
            ok,
            _ne(raw, pc.cast(fy, pa.string())),
            "年度（令和6年度、2024年度など）として読めません",
        )
    nc = jv.parse_numbers_normalised(t)
    unit_ok = pc.or_(pc.is_null(nc.unit), pc.fill_null(pc.equal(nc.unit, f.unit or ""), False))
    ok = pc.and_(pc.and_(present, nc.ok), unit_ok)
    message: Arr | str = pc.if_else(
        pc.and_(nc.ok, pc.invert(unit_ok)),
        pa.scalar(f"単位が項目定義（{f.unit or '単位なし'}）と違います"),
        pa.scalar(f"{TYPE_LABELS[f.type]}として読めません"),
    )
    value = nc.value
    if f.type in ("integer", "year"):
        integral = pc.fill_null(pc.equal(pc.floor(value), value), False)
        # Beyond the Arrow type's range a value cannot be stored (it used to stop the whole ingest).
        in_range = pc.fill_null(pc.less(pc.abs(value), float(2**63 if f.type == "integer" else 2**31)), False)
        ok = pc.and_(ok, pc.and_(integral, in_range))
        message = pc.if_else(
            pc.and_(nc.ok, pc.invert(integral)), pa.scalar("小数は整数の項目に入りません"), message
        )
        safe = pc.if_else(ok, value, pa.scalar(None, pa.float64()))
        typed = pc.cast(safe, pa.int64() if f.type == "integer" else pa.int32())
        changed = _ne(raw, pc.cast(typed, pa.string()))
    else:
        typed = pc.if_else(ok, value, pa.scalar(None, pa.float64()))
        changed = pc.invert(pc.fill_null(pc.match_substring_regex(raw, _PLAIN_NUMBER), False))
    if f.kind == "latlon":
        limit = 90 if f.part == "lat" or "緯" in f.title or "lat" in f.title.lower() else 180
        in_range = pc.fill_null(pc.less_equal(pc.abs(typed), limit), False)
        message = pc.if_else(pc.and_(ok, pc.invert(in_range)), pa.scalar(f"±{limit}の範囲外です"), message)
        ok = pc.and_(ok, in_range)
    return Parsed(typed, present, ok, changed, message)


def _parse_dates(raw: Arr, t: Arr, f: Field, present: Arr) -> Parsed:
    if f.part in ("start", "end"):
        idx = 0 if f.part == "start" else 1
        typed = by_distinct(t, lambda s: parse_date_range(s)[idx], pa.date32())
        ranged = by_distinct(t, lambda s: str(parse_date_range(s)), pa.string())
        ok = pc.and_(present, pc.is_valid(ranged))
        return Parsed(typed, present, ok, present, "期間（開始日〜終了日）として読めません")
    if f.type == "yearmonth":
        typed = by_distinct(t, _yearmonth, pa.string())
        return Parsed(
            typed, present, pc.and_(present, pc.is_valid(typed)), _ne(raw, typed), "年月として読めません"
        )
    if f.type == "time":
        s = pc.extract_regex(t, _FAST_TIME)
        hit = pc.fill_null(pc.is_valid(s), False)
        typed = by_distinct(pc.if_else(hit, _NULL_STR, t), _time, pa.time64("us"))
        if pc.any(hit).as_py():

            def num(name: str) -> Arr:
                v = pc.struct_field(s, name)
                return pc.cast(
                    pc.if_else(pc.and_(hit, pc.fill_null(pc.not_equal(v, ""), False)), v, "0"), pa.int64()
                )

            h, m, sec = num("H"), num("M"), num("S")
            good = pc.and_(
                hit, pc.and_(pc.less_equal(h, 23), pc.and_(pc.less_equal(m, 59), pc.less_equal(sec, 59)))
            )
            micros = pc.multiply(pc.add(pc.add(pc.multiply(h, 3600), pc.multiply(m, 60)), sec), 1_000_000)
            fast = pc.cast(pc.if_else(good, micros, pa.scalar(None, pa.int64())), pa.time64("us"))
            typed = pc.if_else(hit, fast, typed)
        canon = pc.strftime(
            pc.cast(pc.cast(pc.cast(typed, pa.int64()), pa.timestamp("us")), pa.timestamp("s"), safe=False),
            "%H:%M:%S",
        )
        changed = pc.and_(_ne(raw, canon), _ne(raw, pc.utf8_slice_codeunits(canon, 0, 5)))
        return Parsed(typed, present, pc.and_(present, pc.is_valid(typed)), changed, "時刻として読めません")
    order = slash_order(f)
    if f.type == "datetime":
        stamps = jv.parse_datetimes_normalised(raw, t, slash_order=order)
        canon = pc.strftime(pc.cast(stamps, pa.timestamp("s"), safe=False), "%Y-%m-%d %H:%M:%S")
        changed = pc.and_(_ne(raw, canon), _ne(raw, pc.replace_substring(canon, " ", "T")))
        return Parsed(stamps, present, pc.and_(present, pc.is_valid(stamps)), changed, "日時として読めません")
    dates = jv.parse_dates_normalised(raw, t, slash_order=order)
    # A date column may hold Excel date-times at midnight ("2024-04-01 00:00:00", "… 0時"): take the
    # date. Only a cell with a time (":" or 時) can be one, so most columns skip the datetime parser.
    if pc.any(pc.match_substring_regex(t, "[:時]")).as_py():
        stamps = jv.parse_datetimes_normalised(raw, t, slash_order=order)
        midnight = pc.fill_null(
            pc.equal(pc.cast(pc.cast(stamps, pa.date32()), pa.timestamp("us")), stamps), False
        )
        dates = pc.coalesce(
            dates, pc.if_else(midnight, pc.cast(stamps, pa.date32()), pa.scalar(None, pa.date32()))
        )
    changed = _ne(raw, pc.cast(dates, pa.string()))
    return Parsed(dates, present, pc.and_(present, pc.is_valid(dates)), changed, "日付として読めません")


def _parse_text(raw: Arr, t: Arr, f: Field, present: Arr) -> Parsed:
    typed = pc.if_else(present, t, _NULL_STR)
    ok, message = present, "読めません"
    if f.kind == "postal_code":
        hit = pc.fill_null(pc.match_substring_regex(t, POSTAL_PATTERN), False)
        typed = pc.if_else(hit, pc.replace_substring_regex(t, POSTAL_PATTERN, "\\1-\\2"), typed)
        ok, message = pc.and_(present, hit), "郵便番号（例: 860-8601）として読めません"
    elif f.kind == "phone":
        typed = pc.replace_substring_regex(typed, f"([0-9])[{HYPHENS[1:]}]([0-9])", "\\1-\\2")
        ok = pc.and_(present, pc.fill_null(pc.match_substring_regex(t, PHONE_PATTERN), False))
        message = "電話番号として読めません"
    elif f.kind == "lg_code":
        ok = pc.and_(present, pc.is_valid(by_distinct(t, _lg, pa.string())))
        message = "全国地方公共団体コード（5桁、または検査数字付き6桁）として正しくありません"
    elif f.kind == "latlon" and f.part:
        s = pc.extract_regex(t, LATLON_PATTERN)
        v = pc.cast(pc.struct_field(s, f.part), pa.float64())
        limit = 90 if f.part == "lat" else 180
        good = pc.fill_null(pc.less_equal(pc.abs(v), limit), False)
        return Parsed(pc.if_else(good, v, pa.scalar(None, pa.float64())), present, pc.and_(present, good),
                      present, "緯度・経度（例: 32.8031,130.7079）として読めません")  # fmt: skip
    return Parsed(typed, present, ok, _ne(raw, typed), message)


def _parse_bool(raw: Arr, t: Arr, f: Field, present: Arr) -> Parsed:
    low = pc.utf8_lower(t)
    trues = {w.lower() for w in f.true_values} | set(TRUE_WORDS)
    falses = {w.lower() for w in f.false_values} | set(FALSE_WORDS)
    is_true = pc.fill_null(pc.is_in(low, value_set=pa.array(sorted(trues))), False)
    is_false = pc.fill_null(pc.is_in(low, value_set=pa.array(sorted(falses))), False)
    typed = pc.if_else(is_true, True, pc.if_else(is_false, False, pa.scalar(None, pa.bool_())))
    declared = pa.array(sorted(set(f.true_values) | set(f.false_values)) or ["true", "false"])
    changed = pc.invert(pc.fill_null(pc.is_in(raw, value_set=declared), False))
    return Parsed(
        typed,
        present,
        pc.and_(present, pc.is_valid(typed)),
        changed,
        f"{TYPE_LABELS['boolean']}として読めません",
    )


def slash_order(f: Field) -> SlashOrder | None:
    """The month/day order of ``3/31/2023``-style dates in a date field (its ``format``), if decided."""
    return SLASH_FORMATS.get(f.format)


def _parse_text_column(raw: Arr, f: Field) -> Parsed:
    """The jp parsers over a whole column (no nulls): normalised once, then read as ``f``'s type."""
    t = jv.normalise_text(raw)
    present = _present(raw, t, f)
    if f.type in ("integer", "number", "year"):
        if f.kind == "latlon" and f.part:
            return _parse_text(raw, t, f, present)
        return _parse_numbers(raw, t, f, present)
    if f.type in ("date", "datetime", "time", "yearmonth"):
        return _parse_dates(raw, t, f, present)
    if f.type == "boolean":
        return _parse_bool(raw, t, f, present)
    return _parse_text(raw, t, f, present)


@dataclass
class _Seen:
    """Distinct raw values of one field already parsed, with their parsed columns (aligned)."""

    values: Arr
    columns: list[Arr]


@dataclass
class ParseCache:
    """Parsed distinct values per field, carried across the batches of one ingest (bounded)."""

    seen: dict[str, _Seen] = field(default_factory=dict)
    max_values: int = MAX_CACHED_VALUES


def _message_array(message: Arr | str, n: int) -> Arr:
    return pa.repeat(pa.scalar(message, pa.string()), n) if isinstance(message, str) else message


def _parse_distinct(raw: Arr, f: Field, cache: ParseCache | None) -> Parsed:
    """:func:`_parse_text_column`, run once per distinct value (and once per ingest with a cache)."""
    enc = pc.dictionary_encode(raw)
    uniq, indices = enc.dictionary, enc.indices
    seen = cache.seen.get(f.name) if cache is not None else None
    if seen is None and len(uniq) * 2 > len(raw):  # mostly distinct: a lookup would not pay
        return _parse_text_column(raw, f)
    known = pc.is_in(uniq, value_set=seen.values) if seen is not None else None
    new = uniq if known is None else pc.filter(uniq, pc.invert(known))
    table = seen
    if len(new):
        p = _parse_text_column(new, f)
        cols = [p.typed, p.present, p.ok, p.changed, _message_array(p.message, len(new))]
        if seen is None:
            table = _Seen(new, cols)
        else:
            table = _Seen(pa.concat_arrays([seen.values, new]),
                          [pa.concat_arrays([a, b]) for a, b in zip(seen.columns, cols, strict=True)])  # fmt: skip
        if cache is not None and len(table.values) <= cache.max_values:
            cache.seen[f.name] = table
    assert table is not None
    at = pc.index_in(uniq, value_set=table.values)
    typed, present, ok, changed, message = table.columns
    if _all_clean(uniq, pc.take(typed, at), pc.take(present, at), pc.take(ok, at), pc.take(changed, at)):
        # Every distinct value of this batch reads as spelled (or is blank): one take of the typed
        # values, and the masks follow from the blanks (what the takes below would give).
        nonblank = pc.not_equal(raw, "")
        return Parsed(
            pc.take(pc.take(typed, at), indices), nonblank, nonblank, _false(len(raw)), "", clean=True
        )
    rows = pc.take(at, indices)
    if not pc.any(pc.and_(pc.take(present, at), pc.invert(pc.take(ok, at)))).as_py():
        message = ""  # no cell of this batch failed: the messages are not needed
    else:
        message = pc.take(message, rows)
    return Parsed(
        pc.take(typed, rows), pc.take(present, rows), pc.take(ok, rows), pc.take(changed, rows), message
    )


def _all_clean(uniq: Arr, typed: Arr, present: Arr, ok: Arr, changed: Arr) -> bool:
    """Each distinct value is blank (not present, null) or read as spelled (present, read, unchanged)."""
    blank = pc.equal(uniq, "")
    spelled = pc.and_(pc.and_(present, ok), pc.invert(pc.fill_null(changed, True)))
    blank_ok = pc.and_(blank, pc.and_(pc.invert(present), pc.is_null(typed)))
    return bool(pc.all(pc.fill_null(pc.or_(blank_ok, pc.and_(pc.invert(blank), spelled)), False)).as_py())


def _canonical(raw: Arr, f: Field) -> tuple[Arr, Arr] | None:
    """Typed values and mask of the cells spelled exactly as stored (1234, 12.5, 2024-04-01), by one cast.

    Those cells read the same through the jp parsers (present, read, unchanged); ``None`` when no
    cell is such or the field's type has no such spelling. ``raw`` has no nulls.
    """
    if f.kind or f.part or f.type not in CANONICAL:
        return None
    pattern, typ = CANONICAL[f.type]
    # A failing cast costs as much as 30 successful ones, and a messy column fails at its first
    # cells: probe the head before casting the whole column.
    probe = raw.slice(0, PROBE_ROWS)
    if not pc.any(pc.match_substring_regex(probe, pattern)).as_py():
        return None
    nonblank = pc.not_equal(raw, "")
    try:  # a clean column casts whole: then only spellings Arrow reads but we do not are excluded
        if not pc.all(pc.or_(pc.equal(probe, ""), pc.match_substring_regex(probe, pattern))).as_py():
            raise pa.ArrowInvalid("the head has cells that are not canonical")
        typed = pc.cast(raw if pc.all(nonblank).as_py() else pc.if_else(nonblank, raw, _NULL_STR), typ)
        hit = pc.and_(nonblank, _arrow_only_spellings(raw, typed, f.type))
    except pa.ArrowInvalid:  # some cells are not canonical: find the rest by the pattern
        hit = pc.fill_null(pc.match_substring_regex(raw, pattern), False)
        if not pc.any(hit).as_py():
            return None
        try:
            typed = pc.cast(pc.if_else(hit, raw, _NULL_STR), typ)
        except pa.ArrowInvalid:  # e.g. 2023-02-30: leave the column to the jp parsers
            return None
    if f.type == "date":  # Arrow reads year 0, which the jp parser does not
        hit = pc.and_(hit, pc.fill_null(pc.greater_equal(pc.year(typed), 1), False))
    if f.missing:
        hit = pc.and_(hit, pc.invert(pc.is_in(raw, value_set=pa.array(list(f.missing)))))
    if f.type == "year":
        hit = pc.and_(hit, pc.fill_null(pc.less(pc.abs(typed), 2**31), False))
        typed = pc.cast(pc.if_else(hit, typed, pa.scalar(None, pa.int64())), pa.int32())
    if not pc.any(hit).as_py():
        return None
    return typed, hit


def _arrow_only_spellings(raw: Arr, typed: Arr, ftype: str) -> Arr:
    """False for the cells Arrow's cast read but that are not canonical (007, -0, 1e3, +5, .5, inf)."""
    if ftype == "date":  # Arrow reads exactly YYYY-MM-DD (year 0 is excluded by the caller)
        return pc.is_valid(typed)
    if ftype in ("integer", "year"):  # Arrow also reads leading zeros, -0 and 0x10
        zero = pc.and_(pc.starts_with(raw, "0"), pc.greater(pc.binary_length(raw), 1))
        bad = pc.or_(zero, pc.starts_with(raw, "-0"))
        return pc.and_(pc.invert(bad), pc.fill_null(pc.less(pc.abs(typed), 10**15), True))
    bad = pc.or_(pc.match_substring(raw, "e"), pc.match_substring(raw, "E"))  # 1e3, also "inf", "nan"
    for prefix in ("+", ".", "-."):
        bad = pc.or_(bad, pc.starts_with(raw, prefix))
    bad = pc.or_(bad, pc.ends_with(raw, "."))
    return pc.and_(pc.invert(bad), pc.fill_null(pc.is_finite(typed), True))


def parse_field(column: Arr, f: Field, cache: ParseCache | None = None) -> Parsed:
    """Parse one source column as field ``f`` (also used by inference to measure a candidate type).

    Cells already in canonical form are cast in one Arrow call; the rest go to the jp parsers once
    per distinct value (``cache`` carries parsed values from batch to batch of one ingest).
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if column.type != pa.string():  # typed input (Parquet): cast, nothing to normalise
        typed = pc.cast(column, f.arrow_type(), safe=False)
        valid = pc.is_valid(column)
        return Parsed(
            typed, valid, pc.and_(valid, pc.is_valid(typed)), _false(len(column)), "型を変換できません"
        )
    # A null cell reads exactly as a blank one (not present, nothing kept), so parse it as "".
    raw = pc.fill_null(column, "") if column.null_count else column
    canon = _canonical(raw, f)
    if canon is None:
        return _parse_distinct(raw, f, cache)
    typed, hit = canon
    rest = pc.and_(pc.not_equal(raw, ""), pc.invert(hit))
    if not pc.any(rest).as_py():
        return Parsed(typed, hit, hit, _false(len(raw)), "", clean=True)
    p = _parse_distinct(pc.filter(raw, rest), f, cache)
    return Parsed(
        pc.replace_with_mask(pc.cast(typed, p.typed.type), rest, p.typed),
        pc.replace_with_mask(hit, rest, p.present),
        pc.replace_with_mask(hit, rest, p.ok),
        pc.replace_with_mask(_false(len(raw)), rest, p.changed),
        pc.replace_with_mask(pa.nulls(len(raw), pa.string()), rest, _message_array(p.message, len(p.ok))),
    )


def _time_text(typed: Arr) -> Arr:
    """time64 values as the stored ``HH:MM:SS`` text, formatted once per distinct time (a day has 86,400)."""
    enc = pc.dictionary_encode(typed)
    text = pc.utf8_slice_codeunits(pc.cast(enc.dictionary, pa.string()), 0, 8)
    return pc.take(text, enc.indices)


def _blank_to_null(text: Arr) -> Arr:
    """``text`` with its empty cells as null; the column itself when it has none (no copy of its text).

    The CSV reader already gives null for an empty cell, so most text columns have no "" at all:
    the shortest cell's length (read from the offsets) says so without comparing any text.
    """
    shortest = pc.min(pc.binary_length(text)).as_py()
    if shortest is None or shortest > 0:
        return text
    return pc.if_else(pc.fill_null(pc.not_equal(text, ""), False), text, _NULL_STR)


def _row_numbers(batch: pa.RecordBatch, row_offset: int) -> Callable[[int], int]:
    if "__source_row" in batch.schema.names:  # readers that drop rows may say where each row was
        rows = batch.column("__source_row").to_pylist()
        return lambda i: int(rows[i])
    return lambda i: row_offset + i


def normalise_batch(
    batch: pa.RecordBatch,
    schema: TableSchema,
    *,
    row_offset: int = 1,
    max_issues_per_column: int = 1000,
    cache: ParseCache | None = None,
) -> NormaliseResult:
    """Type every field of ``batch`` (raw strings) per ``schema``; ``row_offset``: source row of row 0.

    Pass one :class:`ParseCache` to every batch of an ingest: values parsed once are looked up after.
    """
    row_of = _row_numbers(batch, row_offset)
    arrays: list[Arr] = []
    raw: dict[str, Arr] = {k: pa.nulls(batch.num_rows, pa.string()) for k in raw_columns(schema)}
    issues: list[Issue] = []
    failures: dict[str, int] = {}
    for f in schema.fields:
        source = batch.column(f.source_column)
        if f.type == "string" and f.name not in raw and not f.kind:
            text = source if source.type == pa.string() else pc.cast(source, pa.string())
            arrays.append(_blank_to_null(text))
            continue
        p = parse_field(source, f, cache)
        typed = p.typed if p.clean else pc.if_else(p.ok, p.typed, pa.scalar(None, p.typed.type))
        if f.type == "time":  # parsed as time64, stored as "HH:MM:SS" text (see schema.ARROW_TYPES)
            typed = _time_text(typed)
        arrays.append(pc.cast(typed, f.arrow_type()))
        if p.clean:  # nothing failed, nothing changed: no issue, no raw text to keep
            continue
        failed = pc.and_(p.present, pc.invert(p.ok))
        n_failed = pc.sum(pc.cast(failed, pa.int64())).as_py() or 0
        if n_failed:
            failures[f.name] = n_failed
            idx = pc.indices_nonzero(failed)[:max_issues_per_column].to_pylist()
            texts = source.take(idx).to_pylist()
            msgs = (
                p.message.take(idx).to_pylist() if not isinstance(p.message, str) else [p.message] * len(idx)
            )
            issues.extend(
                Issue(row=row_of(i), column=f.name, raw=str(v), message=m, kind="type")
                for i, v, m in zip(idx, texts, msgs, strict=True)
            )
        key = raw_key(f)
        if key in raw and source.type == pa.string():
            nonblank = pc.fill_null(pc.not_equal(source, ""), False)
            keep = pc.and_(
                nonblank, pc.or_(pc.invert(p.present), pc.or_(failed, pc.fill_null(p.changed, True)))
            )
            raw[key] = pc.if_else(pc.is_valid(raw[key]), raw[key], pc.if_else(keep, source, _NULL_STR))
    out = pa.RecordBatch.from_arrays(arrays, schema=schema_to_arrow(schema))
    return NormaliseResult(batch=out, raw=raw, issues=issues, failures=failures)
