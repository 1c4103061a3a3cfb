"""Column kinds and value coercion: the engine's small vocabulary over Frictionless, Arrow and DuckDB type names."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeAlias

import pyarrow as pa

from machidata.engine.errors import EngineQueryError

Kind = Literal["string", "integer", "number", "boolean", "date", "datetime", "time", "other"]
SchemaLike: TypeAlias = Mapping[str, str] | pa.Schema

ORDERABLE_KINDS: frozenset[Kind] = frozenset({"string", "integer", "number", "date", "datetime", "time"})
NUMERIC_KINDS: frozenset[Kind] = frozenset({"integer", "number"})
TEMPORAL_KINDS: frozenset[Kind] = frozenset({"date", "datetime"})

KIND_LABELS: dict[Kind, str] = {
    "string": "文字列",
    "integer": "整数",
    "number": "数値",
    "boolean": "真偽値",
    "date": "日付",
    "datetime": "日時",
    "time": "時刻",
    "other": "その他",
}

# Prefixes checked in order; the first match wins. Names are lower-cased first, so "BIGINT",
# "int64", "Int32" and Frictionless "integer" all land on the same kind.
_PREFIXES: tuple[tuple[str, Kind], ...] = (
    ("timestamp", "datetime"),
    ("datetime", "datetime"),
    ("date", "date"),  # date32[day], date64[ms], date
    ("time", "time"),  # time64[us], time
    ("bool", "boolean"),
    ("decimal", "number"),
    ("numeric", "number"),
    ("number", "number"),
    ("float", "number"),
    ("double", "number"),
    ("halffloat", "number"),
    ("real", "number"),
    ("int", "integer"),  # int8..int64, integer, interval is caught below
    ("uint", "integer"),
    ("bigint", "integer"),
    ("smallint", "integer"),
    ("tinyint", "integer"),
    ("hugeint", "integer"),
    ("ubigint", "integer"),
    ("usmallint", "integer"),
    ("utinyint", "integer"),
    ("year", "integer"),
    ("string", "string"),
    ("large_string", "string"),
    ("utf8", "string"),
    ("large_utf8", "string"),
    ("varchar", "string"),
    ("text", "string"),
)


def kind_of(type_name: str | pa.DataType) -> Kind:
    """Return the kind of a column type given as a Frictionless, Arrow or DuckDB type name."""
    if isinstance(type_name, pa.DataType):
        type_name = str(type_name)
    name = type_name.strip().lower()
    if name.startswith("interval"):
        return "other"
    for prefix, kind in _PREFIXES:
        if name.startswith(prefix):
            return kind
    return "other"


def schema_kinds(schema: SchemaLike) -> dict[str, Kind]:
    """Return ``{column: kind}`` for a plain ``{column: type}`` mapping or a ``pyarrow.Schema``."""
    if isinstance(schema, pa.Schema):
        return {f.name: kind_of(f.type) for f in schema}
    return {name: kind_of(t) for name, t in schema.items()}


_INT_RE = re.compile(r"^[+-]?\d+$")


def coerce_value(value: Any, kind: Kind, *, column: str) -> Any:
    """Turn a filter value (Python object or text from a query string) into the column's Python type.

    Raises :class:`EngineQueryError` naming the column when the value cannot be of that kind.
    """
    if value is None:
        raise EngineQueryError(
            f"列「{column}」の条件に値がありません。空欄を探すときは「空欄」の条件を使ってください。"
        )
    try:
        result = _coerce(value, kind)
    except (ValueError, TypeError, InvalidOperation, OverflowError):
        result = None
    if result is None:
        raise EngineQueryError(
            f"列「{column}」は{KIND_LABELS[kind]}の列です。値「{value}」は{KIND_LABELS[kind]}として読めません。"
        )
    return result


def _coerce(value: Any, kind: Kind) -> Any:  # noqa: PLR0911, PLR0912 — one branch per kind reads best
    """Coerce one value or return ``None`` when it does not fit."""
    text = value.strip() if isinstance(value, str) else None
    if kind == "string":
        if isinstance(value, bool | dict | list | tuple | set):
            return None
        return value if isinstance(value, str) else str(value)
    if kind == "integer":
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, float | Decimal) and value == int(value):
            return int(value)
        return int(text) if text is not None and _INT_RE.match(text) else None
    if kind == "number":
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float | Decimal):
            number = float(value)
        elif text is not None:
            number = float(Decimal(text))
        else:
            return None
        return number if math.isfinite(number) else None
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        lowered = text.lower() if text is not None else None
        return {"true": True, "false": False, "1": True, "0": False}.get(lowered or "")
    if kind == "date":
        if isinstance(value, dt.datetime):
            return None  # a date column compared with a moment is almost always a mistake
        if isinstance(value, dt.date):
            return value
        return dt.date.fromisoformat(text) if text is not None else None
    if kind == "datetime":
        if isinstance(value, dt.datetime):
            parsed = value
        elif isinstance(value, dt.date):
            parsed = dt.datetime.combine(value, dt.time())
        elif text is not None:
            parsed = dt.datetime.fromisoformat(text)
        else:
            return None
        # Data files hold naive Japanese wall-clock time (design guide §5); aware inputs are refused
        # rather than silently shifted by a session time zone.
        return parsed if parsed.tzinfo is None else None
    if kind == "time":
        if isinstance(value, dt.time):
            return value
        return dt.time.fromisoformat(text) if text is not None else None
    return None
