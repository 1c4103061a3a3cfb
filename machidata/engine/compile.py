"""Compile a validated TableQuery into an Ibis expression (and, for review, into SQL text).

User input reaches DuckDB only as Ibis literals typed like their column; column names are checked
against the schema before they get here, and Ibis quotes them. Nothing is ever formatted into SQL.

Japanese text search: ``contains`` and ``starts_with`` compare the NFKC-normalised, lower-cased forms
of the cell and of the search word, so "ABC" finds "ＡＢＣ", "abc" finds "ABC" and half-width "ｶﾅ"
finds "カナ". The cell side is the scalar function ``machidata_nfkc_lower`` that
:mod:`machidata.engine.sandbox` registers on each connection (vectorised with
``pyarrow.compute.utf8_normalize``); the search word goes through the same pyarrow functions here,
so both sides use one normalisation. Another backend (Spark, Trino) must provide the same function.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from machidata.engine.query import CheckedFilter, TableQuery, ValidatedQuery
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


def filtered(table: ir.Table, q: ValidatedQuery) -> ir.Table:
    """The rows that match every filter (the basis of both the page and the total count)."""
    if not q.filters:
        return table
    return table.filter([predicate(table, f) for f in q.filters])


def apply_aggregation(expr: ir.Table, q: ValidatedQuery) -> ir.Table:
    """EXTENSION POINT (BI): group_by, time buckets and measures compile here (issue 7); rows pass through now."""
    return expr


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
    return ordered_page(apply_aggregation(filtered(table, q), q), q, limit=limit)


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
