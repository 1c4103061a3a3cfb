"""Column profiles (type, nulls, distinct values, min/max, top values, histogram) in three queries.

1. one aggregate over every column (row count, nulls, distinct, min, max);
2. one UNION ALL of per-column top-N value counts (values travel as text, then are cast back to
   the column's Arrow type, so a date's top value is a ``datetime.date`` again);
3. one UNION ALL of per-column bin counts for numeric, date and datetime columns, with bin edges
   computed here from step 1's min/max (dates and datetimes are binned on their epoch days/seconds).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from machidata.engine.sandbox import DEFAULT_MEMORY_LIMIT, DEFAULT_THREADS, open_sandbox
from machidata.engine.types import NUMERIC_KINDS, ORDERABLE_KINDS, TEMPORAL_KINDS, Kind, SchemaLike, kind_of

DEFAULT_BINS = 20
DEFAULT_TOP = 10
_EPOCH_DATE = dt.date(1970, 1, 1)
_EPOCH = dt.datetime(1970, 1, 1)  # naive: data files hold naive Japanese wall-clock time


@dataclass(frozen=True, slots=True)
class HistogramBin:
    """One bin ``[start, end)`` (the last bin includes ``end``) and how many values fall in it."""

    start: Any
    end: Any
    count: int


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    """What a column holds, computed over one version's files."""

    name: str
    type: str
    kind: Kind
    rows: int
    nulls: int
    distinct: int | None
    min: Any = None
    max: Any = None
    top: list[tuple[Any, int]] = field(default_factory=list)
    histogram: list[HistogramBin] | None = None
    distinct_exact: bool = (
        True  # False: DuckDB's HyperLogLog estimate (a few % off), clamped to the values present
    )


def profile_columns(
    files: Sequence[str],
    schema: SchemaLike | None = None,
    *,
    top_n: int = DEFAULT_TOP,
    bins: int = DEFAULT_BINS,
    exact_distinct: bool = False,
    timeout_s: float = 60,
    threads: int = DEFAULT_THREADS,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
) -> dict[str, ColumnProfile]:
    """Profile the columns of ``files`` (only those named in ``schema`` when given), in file order.

    ``exact_distinct``: count distinct values exactly (a hash of every value) instead of DuckDB's
    approximate count; either way the count never exceeds the non-null values of the column.
    """
    with open_sandbox(files, threads=threads, memory_limit=memory_limit, timeout_s=timeout_s) as sb:
        t = sb.table
        arrow_schema = t.schema().to_pyarrow()
        wanted = (
            set(schema.names if isinstance(schema, pa.Schema) else schema) if schema is not None else None
        )
        columns = [f for f in arrow_schema if wanted is None or f.name in wanted]
        kinds = {f.name: kind_of(f.type) for f in columns}
        stats = _aggregate(t, columns, kinds, exact_distinct=exact_distinct)
        top = _top_values(t, columns, kinds, top_n=top_n)
        edges = {f.name: e for f in columns if (e := _edges(kinds[f.name], stats[f.name], f.type, bins))}
        counts = _bin_counts(t, columns, kinds, edges)
    result: dict[str, ColumnProfile] = {}
    for i, f in enumerate(columns):
        s, kind = stats[f.name], kinds[f.name]
        hist = None
        if f.name in edges:
            lo, width, n, to_value = edges[f.name]
            hist = [
                HistogramBin(to_value(lo + b * width), to_value(lo + (b + 1) * width), counts.get((i, b), 0))
                for b in range(n)
            ]
        result[f.name] = ColumnProfile(
            name=f.name,
            type=str(f.type),
            kind=kind,
            rows=s["rows"],
            nulls=s["nulls"],
            distinct=s["distinct"],
            min=s["min"],
            max=s["max"],
            top=top.get(i, []),
            histogram=hist,
            distinct_exact=exact_distinct,
        )
    return result


def _aggregate(
    t: ir.Table, columns: list[pa.Field], kinds: dict[str, Kind], *, exact_distinct: bool
) -> dict[str, dict[str, Any]]:
    """Row count, nulls, distinct, min and max of every column in one query."""
    metrics: dict[str, ir.Scalar] = {"rows": t.count()}
    for i, f in enumerate(columns):
        col, kind = t[f.name], kinds[f.name]
        metrics[f"n{i}"] = col.isnull().sum()
        if kind != "other":
            metrics[f"d{i}"] = col.nunique() if exact_distinct else col.approx_nunique()
        if kind in ORDERABLE_KINDS or kind == "boolean":
            metrics[f"lo{i}"] = col.min()
            metrics[f"hi{i}"] = col.max()
    row = t.aggregate(**metrics).to_pyarrow().to_pylist()[0]
    rows = int(row["rows"])
    out = {}
    for i, f in enumerate(columns):
        nulls = int(row[f"n{i}"] or 0)
        # HyperLogLog can overshoot: 1,000 unique ids may count as 1,013; more than the values is impossible.
        distinct = None if row.get(f"d{i}") is None else min(int(row[f"d{i}"]), rows - nulls)
        out[f.name] = {
            "rows": rows,
            "nulls": nulls,
            "distinct": distinct,
            "min": row.get(f"lo{i}"),
            "max": row.get(f"hi{i}"),
        }
    return out


def _top_values(
    t: ir.Table, columns: list[pa.Field], kinds: dict[str, Kind], *, top_n: int
) -> dict[int, list[tuple[Any, int]]]:
    """The ``top_n`` most frequent non-null values per column (ties by value), in one UNION ALL query."""
    parts = []
    for i, f in enumerate(columns):
        if kinds[f.name] == "other":
            continue
        col = t[f.name]
        counted = t.filter(col.notnull()).group_by(v=col).aggregate(n=ibis._.count())
        best = counted.order_by([ibis.desc("n"), ibis.asc("v")]).limit(top_n)
        parts.append(best.select(c=ibis.literal(i, type="int32"), v=best.v.cast("string"), n=best.n))
    if not parts:
        return {}
    rows = ibis.union(*parts).to_pyarrow()
    out: dict[int, list[tuple[Any, int]]] = {}
    for i, f in enumerate(columns):
        mine = rows.filter(pc.equal(rows["c"], i))
        if mine.num_rows == 0:
            continue
        pairs = zip(_cast_back(mine["v"], f.type), mine["n"].to_pylist(), strict=True)
        out[i] = sorted(((v, int(n)) for v, n in pairs), key=lambda p: (-p[1], p[0]))
    return out


def _cast_back(text: pa.ChunkedArray, typ: pa.DataType) -> list[Any]:
    """Top values were counted as text; give them back their column's type where Arrow can parse it."""
    try:
        return list(pc.cast(text, typ).to_pylist())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return list(text.to_pylist())


def _edges(
    kind: Kind, s: dict[str, Any], typ: pa.DataType, bins: int
) -> tuple[float, float, int, Any] | None:
    """``(low, width, bins, to_value)`` for a histogram, or ``None`` when the column gets none."""
    if kind not in NUMERIC_KINDS and kind not in TEMPORAL_KINDS:
        return None
    lo, hi = s["min"], s["max"]
    if lo is None or hi is None:
        return None
    to_value: Any
    if kind == "date":
        lo_f, hi_f = float((lo - _EPOCH_DATE).days), float((hi - _EPOCH_DATE).days)
        to_value = lambda x: _EPOCH_DATE + dt.timedelta(days=x)  # noqa: E731 — tiny converters read best inline
    elif kind == "datetime":
        lo_f, hi_f = (lo - _EPOCH).total_seconds(), (hi - _EPOCH).total_seconds()
        to_value = lambda x: _EPOCH + dt.timedelta(seconds=x)  # noqa: E731
    elif kind == "integer":
        lo_f, hi_f = float(lo), float(hi)
        to_value = round  # integer bins have whole edges: 1001, not 1001.0
    else:
        lo_f, hi_f = float(lo), float(hi)
        to_value = float
    if not (math.isfinite(lo_f) and math.isfinite(hi_f)) or lo_f == hi_f:
        return None
    if kind in ("integer", "date"):
        # Whole-number widths, so a bin never splits a day or an integer: 1..5 gets five bins of
        # one, a fiscal year of dates gets 19 bins of 20 days.
        values = int(hi_f - lo_f) + 1
        width = math.ceil(values / bins)
        return lo_f, float(width), math.ceil(values / width), to_value
    return lo_f, (hi_f - lo_f) / bins, bins, to_value


def _numeric(col: ir.Value, kind: Kind) -> ir.NumericValue:
    """The column as a float for binning: epoch days for dates, epoch seconds for datetimes."""
    if kind == "date":
        return col.epoch_days().cast("float64")
    if kind == "datetime":
        return col.epoch_seconds().cast("float64")
    return col.cast("float64")


def _bin_counts(
    t: ir.Table,
    columns: list[pa.Field],
    kinds: dict[str, Kind],
    edges: dict[str, tuple[float, float, int, Any]],
) -> dict[tuple[int, int], int]:
    """Values per bin for every column with edges, in one UNION ALL query."""
    parts = []
    for i, f in enumerate(columns):
        if f.name not in edges:
            continue
        lo, width, n, _ = edges[f.name]
        x = _numeric(t[f.name], kinds[f.name])
        b = ((x - lo) / width).floor().cast("int64")
        b = ibis.greatest(ibis.least(b, n - 1), 0)
        binned = t.filter(x.notnull() & ~x.isnan() & ~x.isinf()).select(c=ibis.literal(i, type="int32"), b=b)
        parts.append(binned.group_by("c", "b").aggregate(n=ibis._.count()))
    if not parts:
        return {}
    rows = ibis.union(*parts).to_pyarrow().to_pylist()
    return {(int(r["c"]), int(r["b"])): int(r["n"]) for r in rows}


def as_jsonable(value: Any) -> Any:
    """A profile value as JSON-friendly data (dates as ISO text, decimals as strings) for caching."""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
