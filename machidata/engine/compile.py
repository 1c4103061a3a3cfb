"""Compile a validated TableQuery into an Ibis expression (and, for review, into SQL text).

User input reaches DuckDB only as Ibis literals typed like their column; column names are checked
against the schema before they get here, and Ibis quotes them. Nothing is ever formatted into SQL.

Japanese text search: ``contains`` and ``starts_with`` compare the NFKC-normalised, lower-cased forms
of the cell and of the search word, so "ABC" finds "ＡＢＣ", "abc" finds "ABC" and half-width "ｶﾅ"
finds "カナ". The cell side is the scalar function ``machidata_nfkc_lower`` that
:mod:`machidata.engine.sandbox` registers on each connection (vectorised with
``pyarrow.compute.utf8_normalize``); the search word goes through the same pyarrow functions here,
so both sides use one normalisation. Another backend (Spark, Trino) must provide the same function.

Aggregation (group_by, measures, top_n) compiles to one GROUP BY with window functions on top for
shares, rates and the previous period. Columns carry internal names (``__g0``, ``__m0``, ``__b0``)
until the last projection renames them to their output names, so a user's name never collides with
a helper column. Subtotals and totals (``totals``) are one table per grouping set, the keys left out typed blanks,
joined by UNION ALL with the set's bitmask as ``__t`` (Ibis has no GROUPING SETS; the sets are few:
(rows+1) × (columns+1)). When every measure rolls up (count, sum, min, max, avg) the rows are
grouped once into the detail groups and every other set is grouped from those (an average carried
as sum and count); a median or count distinct makes each set group the filtered rows again. Time buckets use only field extraction and truncation on naive timestamps, which
do not depend on the session time zone (Ibis sets DuckDB's to UTC).
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from machidata.engine.mesh import LAT_RANGE, LAT_STEPS, LON_RANGE, LON_STEPS, MESH_GRAINS
from machidata.engine.query import (
    DERIVED_OPS,
    WEEKDAY_LABELS,
    CheckedFilter,
    CheckedGroup,
    CheckedMeasure,
    TableQuery,
    ValidatedQuery,
)
from machidata.engine.types import SchemaLike, kind_of

NFKC_FUNCTION = "machidata_nfkc_lower"


@ibis.udf.scalar.builtin(name=NFKC_FUNCTION)  # type: ignore[untyped-decorator, unused-ignore]  # untyped in Ibis; used only under --strict
def _nfkc_lower(s: str) -> str:  # type: ignore[empty-body]  # body lives in the backend
    """NFKC-normalise and lower-case a string (registered on the connection by the sandbox)."""


def nfkc_lower_arrow(values: pa.Array) -> pa.Array:
    """Vectorised NFKC + lower-case, the implementation behind ``machidata_nfkc_lower``."""
    return pc.utf8_lower(pc.utf8_normalize(values, form="NFKC"))


def nfkc_lower(text: str) -> str:
    """The same normalisation for one Python string (used for the search word)."""
    return str(nfkc_lower_arrow(pa.array([text], pa.string()))[0].as_py())


def _lit(col: ir.Column, value: Any) -> ir.Scalar:
    """A literal typed like its column, so DuckDB never has to guess (and never sees text it parses as SQL)."""
    return ibis.literal(value, type=col.type())


def predicate(table: ir.Table, f: CheckedFilter) -> ir.BooleanValue:  # noqa: PLR0911, PLR0912 — one branch per op
    """The boolean expression for one checked filter."""
    col = table[f.column]
    if f.op == "eq":
        return col == _lit(col, f.value)
    if f.op == "ne":
        # "not equal to X" keeps blank cells, as a spreadsheet filter does (SQL's <> would drop them).
        return (col != _lit(col, f.value)) | col.isnull()
    if f.op == "in":
        return col.isin([_lit(col, v) for v in f.values])
    if f.op == "not_in":
        return col.notin([_lit(col, v) for v in f.values]) | col.isnull()
    if f.op == "contains":
        return _nfkc_lower(col).contains(ibis.literal(nfkc_lower(f.value), type="string"))
    if f.op == "starts_with":
        return _nfkc_lower(col).startswith(ibis.literal(nfkc_lower(f.value), type="string"))
    if f.op == "range":
        bounds = []
        if f.min is not None:
            bounds.append(col >= _lit(col, f.min))
        if f.max is not None:
            bounds.append(col <= _lit(col, f.max))
        return ibis.and_(*bounds)
    if f.op == "gt":
        return col > _lit(col, f.value)
    if f.op == "ge":
        return col >= _lit(col, f.value)
    if f.op == "lt":
        return col < _lit(col, f.value)
    if f.op == "le":
        return col <= _lit(col, f.value)
    if f.op == "is_null":
        return col.isnull()
    if f.op == "not_null":
        return col.notnull()
    raise AssertionError(f"unhandled filter op {f.op}")  # pragma: no cover — Literal type covers every op


def _search_predicates(table: ir.Table, q: ValidatedQuery) -> list[ir.BooleanValue]:
    """One condition per search word: the word is in at least one text column (none: no row)."""
    if q.search is None:
        return []
    out = []
    for word in q.search.words:
        needle = ibis.literal(nfkc_lower(word), type="string")
        hits = [_nfkc_lower(table[c]).contains(needle).fill_null(False) for c in q.search.columns]
        out.append(ibis.or_(*hits) if hits else ibis.literal(False))
    return out


def filtered(table: ir.Table, q: ValidatedQuery) -> ir.Table:
    """The rows that match every filter and search word (the basis of both the page and the total count)."""
    conditions = [predicate(table, f) for f in q.filters] + _search_predicates(table, q)
    if not conditions:
        return table
    return table.filter(conditions)


def _gkey(i: int) -> str:
    return f"__g{i}"


def _mkey(i: int) -> str:
    return f"__m{i}"


def _bucket(col: ir.Value, g: CheckedGroup) -> ir.Value:  # noqa: PLR0911 — one branch per grain
    """The group key expression for one column and grain (weekday as its Monday-first index 0–6)."""
    if g.grain is None:
        return col
    if g.grain in MESH_GRAINS:
        raise AssertionError("a mesh key needs its table: use _key")  # pragma: no cover
    if g.grain == "hour":
        return col.hour()
    if g.grain == "weekday":
        return col.day_of_week.index()
    if g.grain == "year":
        return col.year()
    if g.grain == "fiscal_year":
        # April start: January–March belong to the fiscal year that began the previous April.
        return col.year() - (col.month() < 4).cast("int32")
    unit = {"day": "D", "week": "W", "month": "M", "quarter": "Q"}[g.grain]
    if g.kind == "date":
        if g.grain == "day":
            return col
        col = col.cast("timestamp")  # DuckDB truncates a DATE to a TIMESTAMP; make the date cast explicit
    return col.truncate(unit).cast("date")


def _mesh(lat: ir.NumericValue, lon: ir.NumericValue, grain: str) -> ir.IntegerValue:
    """The 地域メッシュ code of each row (:mod:`machidata.engine.mesh`'s formula); blank outside the grid's area."""
    iy = (lat.cast("float64") * LAT_STEPS).floor().cast("int64")
    ix = ((lon.cast("float64") - 100) * LON_STEPS).floor().cast("int64")
    code = (iy // 320) * 100 + ix // 320
    if grain != "mesh1":
        code = code * 100 + ((iy % 320) // 40) * 10 + (ix % 320) // 40
    if grain not in {"mesh1", "mesh2"}:
        code = code * 100 + ((iy % 40) // 4) * 10 + (ix % 40) // 4
    if grain in {"mesh_half", "mesh_quarter"}:
        code = code * 10 + ((iy % 4) // 2) * 2 + (ix % 4) // 2 + 1
    if grain == "mesh_quarter":
        code = code * 10 + (iy % 2) * 2 + ix % 2 + 1
    inside = (lat >= LAT_RANGE[0]) & (lat < LAT_RANGE[1]) & (lon >= LON_RANGE[0]) & (lon < LON_RANGE[1])
    return ibis.ifelse(inside, code.cast("int64"), ibis.null("int64"))


def _key(t: ir.Table, g: CheckedGroup) -> ir.Value:
    """The group key expression of ``g`` over ``t`` (a mesh key reads its latitude and longitude columns)."""
    if g.grain in MESH_GRAINS:
        assert g.lon is not None
        return _mesh(t[g.column], t[g.lon], g.grain)
    return _bucket(t[g.column], g)


_PREVIOUS_STEP: dict[str, Any] = {
    "day": ibis.interval(days=1),
    "week": ibis.interval(days=7),
    "month": ibis.interval(months=1),
    "quarter": ibis.interval(months=3),
}


def _base(t: ir.Table, m: CheckedMeasure) -> ir.Scalar:
    """The per-group base of a derived measure: the row count, or the sum of its column."""
    return t.count() if m.column is None else t[m.column].sum()


def _aggregate(t: ir.Table, m: CheckedMeasure) -> ir.Scalar:  # noqa: PLR0911 — one branch per op
    """The reduction of one plain measure."""
    if m.op == "count":
        return t.count() if m.column is None else t[m.column].count()
    col = t[m.column]
    if m.op == "sum":
        return col.sum()
    if m.op == "avg":
        return col.mean()
    if m.op == "median":
        return col.median()
    if m.op == "min":
        return col.min()
    if m.op == "max":
        return col.max()
    if m.op == "count_distinct":
        return col.nunique()
    raise AssertionError(f"unhandled measure op {m.op}")  # pragma: no cover


def _reductions(t: ir.Table, q: ValidatedQuery) -> dict[str, ir.Scalar]:
    """Every reduction of the GROUP BY: plain measures, bases of derived ones, and rate denominators."""
    out: dict[str, ir.Scalar] = {}
    for i, m in enumerate(q.measures):
        if m.op == "rate_per":
            den = t[m.denominator]
            out[f"__d{i}"] = den.sum() if m.denominator_agg == "sum" else den.max()
        out[f"__b{i}" if m.op in DERIVED_OPS else _mkey(i)] = (
            _base(t, m) if m.op in DERIVED_OPS else _aggregate(t, m)
        )
    return out


def _derived(g: ir.Table, q: ValidatedQuery, i: int, m: CheckedMeasure) -> ir.Value:
    """One derived measure over the grouped table ``g`` (window functions over groups)."""
    base = g[f"__b{i}"].cast("float64")
    if m.op == "share_of_total":
        return base / base.sum().over(ibis.window()).nullif(0)
    if m.op in {"share_of_row", "share_of_column"}:
        by = g[_gkey(0 if m.op == "share_of_row" else 1)]
        return base / base.sum().over(ibis.window(group_by=[by])).nullif(0)
    if m.op == "rate_per":
        return base / g[f"__d{i}"].cast("float64").nullif(0) * m.per
    if m.op == "target_ratio":
        return base / ibis.literal(float(m.target or 0), type="float64")
    along = m.along
    assert along is not None
    key_index = q.groups.index(along)
    key = g[_gkey(key_index)]
    others = [g[_gkey(j)] for j in range(len(q.groups)) if j != key_index]
    w = ibis.window(group_by=others, order_by=[key])
    ratio = base / base.lag().over(w).nullif(0)
    if along.grain is None:
        return ratio
    previous = key.lag().over(w)
    expected = key - 1 if along.grain in {"year", "fiscal_year"} else key - _PREVIOUS_STEP[along.grain]
    return ibis.ifelse(previous == expected, ratio, ibis.null("float64"))


TOTALS_KEY = "__t"


# Plain measures whose subtotals can be rolled up from the detail groups (avg as sum ÷ count);
# median and count distinct cannot, and make the whole query group every set from the rows again.
ROLLUP_OPS = frozenset({"count", "sum", "min", "max", "avg"})


def _rescanned_sets(expr: ir.Table, q: ValidatedQuery, reductions: dict[str, ir.Scalar]) -> ir.Table:
    """Every grouping set grouped from the filtered rows again (one scan per set)."""
    assert q.totals is not None
    keys = {_gkey(i): _key(expr, g) for i, g in enumerate(q.groups)}
    types = {k: v.type() for k, v in keys.items()}
    parts = []
    for kept in q.totals.grouping_sets(len(q.groups)):
        mine = {_gkey(i): keys[_gkey(i)] for i in kept}
        part = expr.group_by(**mine).aggregate(**reductions) if mine else expr.aggregate(**reductions)
        mask = sum(1 << i for i in range(len(q.groups)) if i not in kept)
        part = part.mutate(
            **{k: ibis.null(types[k]) for k in keys if k not in mine},
            **{TOTALS_KEY: ibis.literal(mask, type="int32")},
        )
        parts.append(part.select(*keys, *reductions, TOTALS_KEY))
    return parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]


def _rolled_up_sets(expr: ir.Table, q: ValidatedQuery) -> ir.Table:
    """The detail groups scanned once; every subtotal and the total rolled up from them.

    Counts and sums add up, minima and maxima take the least and greatest, averages are carried as
    (sum, count) and divided at the end, so each set is exact and the rows are read once.
    """
    assert q.totals is not None
    keys = {_gkey(i): _key(expr, g) for i, g in enumerate(q.groups)}
    parts_of: dict[str, ir.Scalar] = {}
    for i, m in enumerate(q.measures):
        if m.op == "avg":
            parts_of[f"__s{i}"] = expr[m.column].sum().cast("float64")
            parts_of[f"__c{i}"] = expr[m.column].count()
        else:
            parts_of[_mkey(i)] = _aggregate(expr, m)
    detail = expr.group_by(**keys).aggregate(**parts_of)
    types = {k: detail[k].type() for k in [*keys, *parts_of]}

    def roll(t: ir.Table, name: str) -> ir.Scalar:
        op = next(m.op for i, m in enumerate(q.measures) if name in {_mkey(i), f"__s{i}", f"__c{i}"})
        col = t[name]
        reduced = col.min() if op == "min" else col.max() if op == "max" else col.sum()
        return reduced.cast(types[name])

    def finish(part: ir.Table) -> ir.Table:
        averages = {
            _mkey(i): (part[f"__s{i}"] / part[f"__c{i}"].cast("float64").nullif(0))
            for i, m in enumerate(q.measures)
            if m.op == "avg"
        }
        return part.mutate(**averages) if averages else part

    outputs = [_mkey(i) for i in range(len(q.measures))]
    parts = []
    for kept in q.totals.grouping_sets(len(q.groups)):
        mine = [_gkey(i) for i in kept]
        mask = sum(1 << i for i in range(len(q.groups)) if i not in kept)
        if len(mine) == len(keys):
            part = detail
        else:
            rolled = {name: roll(detail, name) for name in parts_of}
            part = detail.group_by(*mine).aggregate(**rolled) if mine else detail.aggregate(**rolled)
        part = finish(part).mutate(
            **{k: ibis.null(types[k]) for k in keys if k not in mine},
            **{TOTALS_KEY: ibis.literal(mask, type="int32")},
        )
        parts.append(part.select(*keys, *outputs, TOTALS_KEY))
    return parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]


def _grouping_sets(expr: ir.Table, q: ValidatedQuery, reductions: dict[str, ir.Scalar]) -> ir.Table:
    """Every grouping set of ``totals`` as one table: keys left out are typed blanks, ``__t`` their bitmask."""
    if all(m.op in ROLLUP_OPS for m in q.measures):
        return _rolled_up_sets(expr, q)
    return _rescanned_sets(expr, q, reductions)


def _output(g: ir.Table, q: ValidatedQuery) -> dict[str, ir.Value]:
    """Internal columns renamed to output names (weekday indexes become 月〜日)."""
    out: dict[str, ir.Value] = {}
    for i, grp in enumerate(q.groups):
        col = g[_gkey(i)]
        if grp.grain == "weekday":
            col = col.cases(*list(enumerate(WEEKDAY_LABELS)))
        out[grp.name] = col
    for i, m in enumerate(q.measures):
        out[m.name] = g[_mkey(i)]
    if q.totals is not None:
        out[q.totals.name] = g[TOTALS_KEY]
    return out


def _internal(name: str, q: ValidatedQuery) -> str:
    """The internal column of an output name (sort keys name outputs)."""
    for i, grp in enumerate(q.groups):
        if grp.name == name:
            return _gkey(i)
    for i, m in enumerate(q.measures):
        if m.name == name:
            return _mkey(i)
    if q.totals is not None and q.totals.name == name:
        return TOTALS_KEY
    raise AssertionError(f"unknown output {name}")  # pragma: no cover — validation checks sort keys


def apply_aggregation(expr: ir.Table, q: ValidatedQuery) -> ir.Table:
    """Group the filtered rows and compute measures, shares and top N; columns keep internal names.

    The result is unordered; :func:`aggregated_page` sorts, names and pages it.
    """
    if not q.is_aggregate:
        return expr
    keys = {_gkey(i): _key(expr, g) for i, g in enumerate(q.groups)}
    reductions = _reductions(expr, q)
    if q.totals is not None:
        return _grouping_sets(expr, q, reductions)  # plain measures only, no top N (checked)
    if not reductions:
        g = expr.select(**keys).distinct()
    elif keys:
        g = expr.group_by(**keys).aggregate(**reductions)
    else:
        g = expr.aggregate(**reductions)
    derived = {_mkey(i): _derived(g, q, i, m) for i, m in enumerate(q.measures) if m.op in DERIVED_OPS}
    if derived:
        g = g.mutate(**derived)
    if q.top_n is not None:
        # ORDER BY … LIMIT n (DuckDB's top-N operator) rather than a rank window: the same n groups,
        # since the group keys break every tie.
        by = g[_internal(q.top_n.by, q)]
        order = [ibis.desc(by), *(ibis.asc(g[_gkey(i)]) for i in range(len(q.groups)))]
        g = g.order_by(order).limit(q.top_n.n)
    return g


def aggregated_order(g: ir.Table, q: ValidatedQuery) -> list[Any]:
    """Sort keys of an aggregate: the asked ones, else top-N's measure descending; group keys break ties."""
    keys: list[Any] = [
        ibis.desc(_internal(s.column, q)) if s.direction == "desc" else ibis.asc(_internal(s.column, q))
        for s in q.sort
    ]
    if not keys and q.top_n is not None:
        keys.append(ibis.desc(_internal(q.top_n.by, q)))
    named = {s.column for s in q.sort}
    keys += [ibis.asc(_gkey(i)) for i, grp in enumerate(q.groups) if grp.name not in named]
    if q.totals is not None and q.totals.name not in named:
        keys.append(ibis.asc(TOTALS_KEY))  # a blank key's detail before the total it sits beside
    return keys


def aggregated_page(
    g: ir.Table, q: ValidatedQuery, *, limit: int | None, carry: tuple[str, ...] = ()
) -> ir.Table:
    """Sort, rename to output names, select ``fields`` (plus internal ``carry`` columns) and cut the page."""
    order = aggregated_order(g, q)
    if order:
        g = g.order_by(order)
    out = _output(g, q)
    names = q.fields if q.fields is not None else tuple(out)
    g = g.select(**{n: out[n] for n in names}, **{c: g[c] for c in carry})
    if limit is not None or q.offset:
        g = g.limit(limit, offset=q.offset)
    return g


def ordered_page(expr: ir.Table, q: ValidatedQuery, *, limit: int | None) -> ir.Table:
    """Sort (by any column, shown or not), select the fields, and cut the page ``[offset, offset + limit)``."""
    if q.sort:
        expr = expr.order_by(
            [ibis.desc(s.column) if s.direction == "desc" else ibis.asc(s.column) for s in q.sort]
        )
    if q.fields is not None:
        expr = expr.select(*q.fields)
    if limit is not None or q.offset:
        expr = expr.limit(limit, offset=q.offset)
    return expr


def compile_query(table: ir.Table, q: ValidatedQuery, *, limit: int | None) -> ir.Table:
    """The whole query as one Ibis expression; ``limit`` is the effective row limit after caps."""
    if q.is_aggregate:
        return aggregated_page(apply_aggregation(filtered(table, q), q), q, limit=limit)
    return ordered_page(filtered(table, q), q, limit=limit)


def compile_sql(query: TableQuery, schema: SchemaLike, *, table_name: str = "t") -> str:
    """The DuckDB SQL a query compiles to over a table named ``table_name`` (for snapshots and for showing staff)."""
    if isinstance(schema, pa.Schema):
        ibis_schema = ibis.Schema.from_pyarrow(schema)
    else:
        ibis_schema = ibis.schema({name: _ibis_type_name(t) for name, t in schema.items()})
    q = query.validate_against(schema)
    expr = compile_query(ibis.table(ibis_schema, name=table_name), q, limit=q.limit)
    return str(ibis.to_sql(expr, dialect="duckdb")).strip() + "\n"


_IBIS_TYPE_FOR_KIND = {
    "string": "string",
    "integer": "int64",
    "number": "float64",
    "boolean": "boolean",
    "date": "date",
    "datetime": "timestamp",
    "time": "time",
    "other": "string",
}


def _ibis_type_name(type_name: str) -> str:
    """An Ibis type for a plain schema type name, via its kind (int32 and int64 compile alike)."""
    return _IBIS_TYPE_FOR_KIND[kind_of(type_name)]
