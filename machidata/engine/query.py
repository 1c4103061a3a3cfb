"""TableQuery: the one declarative query (fields, filters, sort, paging), validated against a table schema.

The BI issue (issue 7) extends this model with grouping, time buckets and measures. The extension
points are marked ``EXTENSION POINT (BI)`` here and in :mod:`machidata.engine.compile`: new fields go
on :class:`TableQuery`, their checks go in :meth:`TableQuery.validate_against`, and their compilation goes in
``compile.apply_aggregation``. Nothing in this module knows users, models or files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from machidata.engine.errors import EngineQueryError
from machidata.engine.types import KIND_LABELS, ORDERABLE_KINDS, Kind, SchemaLike, coerce_value, schema_kinds

FilterOp = Literal[
    "eq",
    "ne",
    "in",
    "not_in",
    "contains",
    "starts_with",
    "range",
    "gt",
    "ge",
    "lt",
    "le",
    "is_null",
    "not_null",
]

MAX_LIMIT = 1_000_000  # one page; exports stream without a limit
MAX_OFFSET = 10_000_000_000
MAX_IN_VALUES = 1_000  # a longer list is a join, not a filter
MAX_FILTERS = 100
MAX_TEXT_LENGTH = 1_000

OP_LABELS: dict[str, str] = {
    "eq": "等しい",
    "ne": "等しくない",
    "in": "いずれかに等しい",
    "not_in": "いずれにも等しくない",
    "contains": "含む",
    "starts_with": "で始まる",
    "range": "範囲",
    "gt": "より大きい",
    "ge": "以上",
    "lt": "より小さい",
    "le": "以下",
    "is_null": "空欄",
    "not_null": "空欄でない",
}

_SCALAR_OPS = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
_LIST_OPS = frozenset({"in", "not_in"})
_TEXT_OPS = frozenset({"contains", "starts_with"})
_NULL_OPS = frozenset({"is_null", "not_null"})
_ORDER_OPS = frozenset({"gt", "ge", "lt", "le", "range"})


class Filter(BaseModel):
    """One condition on one column; ``value`` for scalar ops, ``values`` for in/not_in, ``min``/``max`` for range."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    column: str
    op: FilterOp
    value: Any = None
    values: tuple[Any, ...] | None = None
    min: Any = None
    max: Any = None


class Sort(BaseModel):
    """One sort key: a column and a direction."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    column: str
    direction: Literal["asc", "desc"] = "asc"


class TableQuery(BaseModel):
    """A declarative query over one table: which columns, which rows, in what order, which page."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fields: tuple[str, ...] | None = None
    filters: tuple[Filter, ...] = ()
    sort: tuple[Sort, ...] = ()
    limit: int | None = None
    offset: int = 0
    # EXTENSION POINT (BI): group_by (columns with optional time buckets: day, week, month, quarter,
    # year, fiscal_year, weekday, hour) and measures (count, sum, avg, median, min, max,
    # count_distinct, share_of_total, ...) are added here by issue 7, checked in validate_against() and
    # compiled in compile.apply_aggregation().

    @field_validator("sort", mode="before")
    @classmethod
    def _sort_pairs(cls, v: Any) -> Any:
        """Accept ``("col", "desc")`` pairs as well as ``{"column": ..., "direction": ...}``."""
        if isinstance(v, list | tuple):
            return [
                {"column": s[0], "direction": s[1]} if isinstance(s, list | tuple) and len(s) == 2 else s
                for s in v
            ]
        return v

    @classmethod
    def from_dict(cls, data: Any) -> TableQuery:
        """Build a query from JSON-like data, turning shape errors into a Japanese :class:`EngineQueryError`."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise EngineQueryError(f"問い合わせの形式が正しくありません（{where}）。") from exc

    def validate_against(self, schema: SchemaLike) -> ValidatedQuery:
        """Check this query against a table schema and return it with every value coerced to its column's type."""
        kinds = schema_kinds(schema)
        fields = _check_fields(self.fields, kinds)
        if len(self.filters) > MAX_FILTERS:
            raise EngineQueryError(f"条件が多すぎます（最大{MAX_FILTERS}件）。")
        filters = tuple(_check_filter(f, kinds) for f in self.filters)
        sort = tuple(_check_sort(s, kinds) for s in self.sort)
        if self.limit is not None and not 1 <= self.limit <= MAX_LIMIT:
            raise EngineQueryError(f"表示件数は1から{MAX_LIMIT:,}までの数で指定してください。")
        if not 0 <= self.offset <= MAX_OFFSET:
            raise EngineQueryError("開始位置は0以上の数で指定してください。")
        return ValidatedQuery(fields=fields, filters=filters, sort=sort, limit=self.limit, offset=self.offset)


@dataclass(frozen=True, slots=True)
class CheckedFilter:
    """A filter whose values have been coerced to the column's Python type."""

    column: str
    op: FilterOp
    kind: Kind
    value: Any = None
    values: tuple[Any, ...] = ()
    min: Any = None
    max: Any = None


@dataclass(frozen=True, slots=True)
class ValidatedQuery:
    """A :class:`TableQuery` that passed validation; the only input the compiler accepts."""

    fields: tuple[str, ...] | None
    filters: tuple[CheckedFilter, ...]
    sort: tuple[Sort, ...]
    limit: int | None
    offset: int


def _unknown(column: str) -> EngineQueryError:
    """The error for a column the table does not have."""
    return EngineQueryError(f"列「{column}」はこの表にありません。")


def _check_fields(fields: tuple[str, ...] | None, kinds: dict[str, Kind]) -> tuple[str, ...] | None:
    """Check the selected columns exist and are not repeated."""
    if fields is None:
        return None
    if not fields:
        raise EngineQueryError("表示する列を1つ以上選んでください。")
    seen: set[str] = set()
    for name in fields:
        if name not in kinds:
            raise _unknown(name)
        if name in seen:
            raise EngineQueryError(f"列「{name}」が2回選ばれています。")
        seen.add(name)
    return fields


def _check_sort(sort: Sort, kinds: dict[str, Kind]) -> Sort:
    """Check a sort key names an orderable column."""
    if sort.column not in kinds:
        raise _unknown(sort.column)
    return sort


def _check_filter(f: Filter, kinds: dict[str, Kind]) -> CheckedFilter:  # noqa: PLR0912 — one shape per op family
    """Check one filter's shape and coerce its values to the column's type."""
    if f.column not in kinds:
        raise _unknown(f.column)
    kind = kinds[f.column]
    col, label = f.column, OP_LABELS[f.op]
    given = {
        "value": f.value is not None,
        "values": f.values is not None,
        "min": f.min is not None,
        "max": f.max is not None,
    }
    if f.op in _ORDER_OPS and kind not in ORDERABLE_KINDS:
        raise EngineQueryError(f"列「{col}」は{KIND_LABELS[kind]}の列なので「{label}」の条件は使えません。")
    if f.op in _TEXT_OPS and kind != "string":
        raise EngineQueryError(f"列「{col}」は文字列の列ではないので「{label}」の条件は使えません。")

    def only(*allowed: str) -> None:
        extra = [k for k, v in given.items() if v and k not in allowed]
        if extra:
            raise EngineQueryError(
                f"列「{col}」の「{label}」の条件に不要な指定（{'・'.join(extra)}）があります。"
            )

    if f.op in _NULL_OPS:
        only()
        return CheckedFilter(column=col, op=f.op, kind=kind)
    if f.op in _LIST_OPS:
        only("values")
        if not f.values:
            raise EngineQueryError(f"列「{col}」の「{label}」の条件に値を1つ以上指定してください。")
        if len(f.values) > MAX_IN_VALUES:
            raise EngineQueryError(f"列「{col}」の「{label}」の値が多すぎます（最大{MAX_IN_VALUES:,}件）。")
        values = tuple(coerce_value(v, kind, column=col) for v in f.values)
        return CheckedFilter(column=col, op=f.op, kind=kind, values=values)
    if f.op == "range":
        only("min", "max")
        if f.min is None and f.max is None:
            raise EngineQueryError(f"列「{col}」の範囲には下限か上限の少なくとも一方を指定してください。")
        lo = None if f.min is None else coerce_value(f.min, kind, column=col)
        hi = None if f.max is None else coerce_value(f.max, kind, column=col)
        if lo is not None and hi is not None and lo > hi:
            raise EngineQueryError(f"列「{col}」の範囲の下限が上限より大きくなっています。")
        return CheckedFilter(column=col, op=f.op, kind=kind, min=lo, max=hi)
    only("value")
    value = coerce_value(f.value, kind, column=col)
    if f.op in _TEXT_OPS:
        if value == "":
            raise EngineQueryError(f"列「{col}」の「{label}」の条件に文字を入力してください。")
        if len(value) > MAX_TEXT_LENGTH:
            raise EngineQueryError(f"列「{col}」の検索語が長すぎます（最大{MAX_TEXT_LENGTH:,}文字）。")
    return CheckedFilter(column=col, op=f.op, kind=kind, value=value)
