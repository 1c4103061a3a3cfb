"""Infer a Table Schema from a sample of raw text columns (the reader's first ~10,000 rows).

For each column, candidate fields are tried in a fixed order and measured with the very parser
normalisation uses (:func:`machidata.ingest.normalise.parse_field`): a candidate wins when at least
``threshold`` (95 %) of the cells holding a value read as that type; the failing values are listed in
the field's ``inference`` note. Order, most specific first: identifiers kept as text (postal codes,
phone numbers, 団体コード, digit codes with leading zeros or over 15 digits), booleans, 年度, date
ranges in one cell (split into ``<name>_開始``/``<name>_終了``), dates, date-times, times, 年月,
packed coordinates (split into ``<name>_緯度``/``<name>_経度``), numbers (integer when all whole; the
unit moved to the schema), 区 names, and text. Missing markers (-, －, …, x, ***, 秘匿) become nulls
with a reason (``none``/``suppressed``/``unknown``), overridable per table for e-Stat-style symbols.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from machidata.ingest.normalise import (
    LATLON_PATTERN,
    SPLIT_SUFFIX,
    parse_field,
    slash_order,
)
from machidata.ingest.schema import (
    Constraints,
    Field,
    TableSchema,
    arrow_to_field_type,
    safe_name,
    unique_names,
)
from machidata.jp import vector as jv
from machidata.jp.codes import KUMAMOTO_WARDS
from machidata.jp.text import FALSE_WORDS, NONE_MARKER_PATTERN, TRUE_WORDS, UNIT_SET
from machidata.jp.wareki import SLASH_YEAR_LAST_PATTERN

Arr = Any
THRESHOLD = 0.95
MAX_FAILURES_LISTED = 5

_POSTAL_HINT = re.compile("郵便|〒|postal|zip", re.IGNORECASE)
_PHONE_HINT = re.compile("電話|TEL|FAX|携帯|ファクス|ファックス", re.IGNORECASE)
_CODE_HINT = re.compile("団体コード|市区町村コード|都道府県コード|地方公共団体コード|自治体コード")
_LAT_HINT = re.compile("緯度|^lat(itude)?$", re.IGNORECASE)
_LON_HINT = re.compile("経度|^(lon|lng|long|longitude)$", re.IGNORECASE)
_YEAR_HINT = re.compile("年$|西暦|^year$", re.IGNORECASE)
_HEADER_UNIT = re.compile("[(（](?:単位[:：]?)?([^()（）]{1,4})[)）]$")
_WAREKI = re.compile("令和|平成|昭和|大正|明治|^[MTSHR][0-9元]")
_RANGE_SEP = "[~〜～]|から"
_WARDS = [w.name for w in KUMAMOTO_WARDS] + [w.full_name for w in KUMAMOTO_WARDS]


def _count(mask: Arr, weights: Arr) -> int:
    """Cells where ``mask`` holds: the sum of the weights (cells per distinct value) it selects."""
    return int(pc.sum(pc.if_else(pc.fill_null(mask, False), weights, 0)).as_py() or 0)


def _share(ok: Arr, present: Arr, weights: Arr) -> tuple[float, int]:
    n = _count(present, weights)
    good = _count(pc.and_(ok, present), weights)
    return (good / n if n else 0.0), n


def _failures(column: Arr, ok: Arr, present: Arr) -> list[str]:
    bad = pc.filter(column, pc.and_(present, pc.invert(ok)))
    return [str(v) for v in pc.unique(bad)[:MAX_FAILURES_LISTED].to_pylist()]


def _mostly_weighted(values: Arr, pattern: str, threshold: float, weights: Arr) -> bool:
    """At least ``threshold`` of the cells match (``values`` distinct, ``weights`` their cell counts)."""
    total = int(pc.sum(weights).as_py() or 0) if len(values) else 0
    if total == 0:
        return False
    return _count(pc.match_substring_regex(values, pattern), weights) / total >= threshold


def _header_unit(title: str) -> str | None:
    m = _HEADER_UNIT.search(jv.normalise_text(pa.array([title])).to_pylist()[0] or "")
    return m.group(1) if m and m.group(1) in UNIT_SET else None


def _candidates(title: str, values: Arr, threshold: float, weights: Arr) -> list[Field]:
    """Candidate fields for a column, most specific first (``values``: normalised, present, distinct)."""
    c: list[Field] = []

    def _mostly(v: Arr, pattern: str, threshold: float) -> bool:
        return _mostly_weighted(v, pattern, threshold, weights)

    digits = _mostly(values, "^[0-9]+$", threshold)
    phone_hint = bool(_PHONE_HINT.search(title))  # 382-3222 (no area code) also looks like a postal code
    if not phone_hint and (
        _POSTAL_HINT.search(title) or _mostly(values, "^〒|^[0-9]{3}[-ー−][0-9]{4}$", threshold)
    ):
        c.append(Field(name="", type="string", kind="postal_code"))
    if phone_hint or _mostly(values, "^0[0-9]{1,4}[-(][0-9]{1,4}[-)][0-9]{3,4}$", threshold):
        c.append(Field(name="", type="string", kind="phone"))
    if _CODE_HINT.search(title) and _mostly(values, "^[0-9]{5,6}$", threshold):
        c.append(Field(name="", type="string", kind="lg_code"))
    if digits and (_mostly(values, "^0[0-9]", 0.0001) or _mostly(values, "^[0-9]{16,}$", 0.0001)):
        return [*c, Field(name="", type="string", inference={"kept_as_text": "leading_zeros_or_long"})]
    words = pc.utf8_lower(values)
    # Every value must be a yes/no word: ○/△ columns carry a third meaning and stay text.
    if _mostly(words, "^(" + "|".join(re.escape(w) for w in TRUE_WORDS | FALSE_WORDS) + ")$", 1.0):
        seen = set(pc.unique(values).to_pylist())
        c.append(Field(name="", type="boolean", true_values=sorted(w for w in seen if w.lower() in TRUE_WORDS),
                       false_values=sorted(w for w in seen if w.lower() in FALSE_WORDS)))  # fmt: skip
    if _mostly(values, "年度", threshold):
        c.append(Field(name="", type="integer", format="fiscal_year", kind="fiscal_year"))
    if _mostly(values, _RANGE_SEP, threshold):
        c.append(Field(name="", type="date", part="start"))
    # Only cells of a date shape can read as dates: skip the date parsers for other columns.
    if _mostly(values, jv.DATE_SHAPE_PATTERN, threshold):
        fmt = _slash_format(values)
        c += [Field(name="", type="date", format=fmt), Field(name="", type="datetime", format=fmt)]
    if _mostly(values, "^(午前|午後)? ?[0-9]{1,2}(:[0-9]{2}|時)", threshold):
        c.append(Field(name="", type="time"))
    # The year part is four digits or starts with an era (令和6, R6, H31): 1.5 and 12.25 are numbers.
    if _mostly(values, "^([0-9]{4}|[^0-9].{0,7})(年|[./-]) ?[0-9]{1,2} ?月?$", threshold) and not digits:
        c.append(Field(name="", type="yearmonth"))
    if _mostly(values, LATLON_PATTERN, threshold) and not _mostly(values, "^[0-9]+[,、][0-9]{3}$", 0.5):
        c.append(Field(name="", type="number", kind="latlon", part="lat"))
    c.append(Field(name="", type="number"))
    if _mostly(values, "^(" + "|".join(_WARDS) + ")$", threshold):
        c.append(Field(name="", type="string", kind="ward"))
    return c


def _slash_format(values: Arr) -> str:
    """The column's order of ``3/31/2023``-style dates, as a date ``format`` (``default`` if none).

    A first part over 12 somewhere means day first, a second part over 12 month first; when every
    such cell is ambiguous (3/1/2023), month first — the way US-locale spreadsheets export dates,
    where these come from in Japanese files. Both seen: no order (ambiguous cells then fail).
    """
    s = pc.extract_regex(values, SLASH_YEAR_LAST_PATTERN)
    s = pc.drop_null(s)
    if not len(s):
        return "default"
    day_first = pc.any(pc.greater(pc.cast(pc.struct_field(s, "a"), pa.int64()), 12)).as_py()
    month_first = pc.any(pc.greater(pc.cast(pc.struct_field(s, "b"), pa.int64()), 12)).as_py()
    if day_first and month_first:
        return "default"
    return "%d/%m/%Y" if day_first else "%m/%d/%Y"


def _refine_number(f: Field, t: Arr, present: Arr, title: str, weights: Arr) -> Field:
    """Pick the unit (the commonest in cells, else the header's) and integer/year/lat/lon."""
    nc = jv.parse_numbers_normalised(t)
    keep = pc.and_(present, nc.ok)
    units: Counter[str] = Counter()
    for u, w in zip(pc.filter(nc.unit, keep).to_pylist(), pc.filter(weights, keep).to_pylist(), strict=True):
        if u:
            units[u] += w
    f.unit = units.most_common(1)[0][0] if units else _header_unit(title)
    whole = pc.filter(nc.value, pc.and_(present, nc.ok))
    if len(whole) and pc.all(pc.equal(pc.floor(whole), whole)).as_py():
        lo, hi = pc.min(whole).as_py(), pc.max(whole).as_py()
        if abs(lo) < 2**53 and abs(hi) < 2**53:
            f.type = "integer"
            if _YEAR_HINT.search(title) and f.unit in (None, "年") and lo >= 1868 and hi <= 2100:
                f.type, f.unit = "year", None
    if _LAT_HINT.search(title) or _LON_HINT.search(title):
        f.kind, f.type = "latlon", "number"
        limit = 90 if _LAT_HINT.search(title) else 180
        f.constraints = Constraints(minimum=-limit, maximum=limit)
    return f


def _missing_markers(t: Arr, reasons: Arr, ftype: str, overrides: dict[str, str]) -> dict[str, str]:
    """Markers seen in the column and their reasons; text columns only treat dashes (and overrides)."""
    seen: dict[str, str] = {}
    for marker, reason in zip(t.to_pylist(), reasons.to_pylist(), strict=True):
        if marker and marker in overrides:
            seen[marker] = overrides[marker]
        elif (marker and reason and reason != "empty" and marker not in seen
              and (ftype != "string" or re.match(NONE_MARKER_PATTERN, marker))):  # fmt: skip
            seen[marker] = reason
    return seen


def _infer_column(title: str, column: Arr, threshold: float, overrides: dict[str, str]) -> list[Field]:
    if column.type != pa.string():
        return [Field(name="", title=title, type=arrow_to_field_type(column.type), source=title)]
    # Every test below is per cell, so it runs on the distinct values weighted by their counts: a
    # 10,000-row sample of a ward, date or amount column holds far fewer distinct values than cells.
    # value_counts keeps the order of first appearance, so the failures listed are the same.
    counted = pc.value_counts(column)
    column, weights = counted.field("values"), counted.field("counts")
    t = jv.normalise_text(column)
    reasons = jv.missing_reasons_normalised(t)
    marker_set = pa.array(list(overrides) or [""], pa.string())
    is_marker = pc.or_(pc.is_valid(reasons), pc.fill_null(pc.is_in(t, value_set=marker_set), False))
    present = pc.and_(pc.is_valid(t), pc.invert(is_marker))
    values = pc.filter(t, present)
    value_weights = pc.filter(weights, present)
    uniq = pc.unique(pc.drop_null(pc.filter(t, is_marker)))
    uniq_reasons = jv.missing_reasons_normalised(uniq)
    text_changed = bool(pc.any(pc.fill_null(pc.not_equal(t, column), False)).as_py())
    chosen = Field(name="", type="string")
    share, failures = 1.0, []
    for cand in _candidates(title, values, threshold, value_weights) if len(values) else []:
        cand.title, cand.source = title, title
        cand.missing = _missing_markers(uniq, uniq_reasons, cand.type, overrides)
        if cand.type == "number" and not cand.kind:
            _refine_number(cand, t, present, title, weights)
        p = parse_field(column, cand)
        s, n = _share(p.ok, p.present, weights)
        if n and s >= threshold:
            chosen, share, failures = cand, s, _failures(column, p.ok, p.present)
            break
    chosen.title, chosen.source = title, title
    chosen.missing = _missing_markers(uniq, uniq_reasons, chosen.type, overrides)
    if (
        chosen.type in ("date", "datetime")
        and chosen.format == "default"
        and _mostly_weighted(values, _WAREKI.pattern, 0.0001, value_weights)
    ):
        chosen.format = "wareki"  # told to the readability report: dates written as 和暦 text
    if chosen.type == "datetime":
        stamps = pc.drop_null(jv.parse_datetimes(column, slash_order=slash_order(chosen)))
        if (
            len(stamps)
            and pc.all(pc.equal(pc.cast(pc.cast(stamps, pa.date32()), pa.timestamp("us")), stamps)).as_py()
        ):
            chosen.type = "date"  # Excel date cells read as midnight date-times
    n_values = int(pc.sum(value_weights).as_py() or 0) if len(values) else 0
    chosen.inference = {**chosen.inference, "share": round(share, 4), "values": n_values}
    if failures:
        chosen.inference["failures"] = failures
    if text_changed:
        chosen.inference["text_changed"] = True
    if chosen.part == "start":
        end = Field(**{**chosen.__dict__, "part": "end", "inference": dict(chosen.inference)})
        return [chosen, end]
    if chosen.part == "lat":
        lon = Field(**{**chosen.__dict__, "part": "lon", "inference": dict(chosen.inference)})
        return [chosen, lon]
    return [chosen]


def infer_schema(
    sample: pa.Table,
    *,
    detection: dict[str, Any] | None = None,
    threshold: float = THRESHOLD,
    missing_overrides: dict[str, dict[str, str]] | None = None,
    field_overrides: dict[str, dict[str, Any]] | None = None,
) -> TableSchema:
    """Infer the Table Schema of a sample of raw string columns.

    ``missing_overrides``: per column title (or ``"*"`` for all) a map marker -> reason, e.g. the
    e-Stat symbols of one table (``{"*": {"…": "unknown", "x": "suppressed"}}``).
    ``field_overrides``: per column title, field properties that replace the inferred ones
    (``{"郵便番号": {"type": "string"}}``); a ``type`` override skips inference for that column.
    ``detection``: the reader's detection dict (unused for typing; kept for the caller's record).
    """
    del detection  # typing reads the values; the readability report reads the detection
    fields: list[Field] = []
    overrides = missing_overrides or {}
    for position, title in enumerate(sample.column_names):
        column = sample.column(title).combine_chunks()
        markers = {**overrides.get("*", {}), **overrides.get(title, {})}
        forced = (field_overrides or {}).get(title)
        if forced and "type" in forced:
            got = [Field(name="", title=title, source=title, type=forced["type"])]
        else:
            got = _infer_column(title, column, threshold, markers)
        base = safe_name(title, position)
        for f in got:
            f.name = f"{base}_{SPLIT_SUFFIX[f.part]}" if f.part else base
            for key, value in (forced or {}).items():
                setattr(f, key, value)
        fields.extend(got)
    for f, name in zip(fields, unique_names([f.name for f in fields]), strict=True):
        f.name = name
    return TableSchema(fields=fields, missing_values=[""])
