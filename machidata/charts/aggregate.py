"""Grouping and measures over a chart's rows, in the TableQuery JSON shape, until the engine does it.

The engine's TableQuery is gaining ``group_by``/``measures``/``top_n`` (issue 7, branch s3-query);
until that is merged, a chart fetches its filtered rows through the catalog's table-query path (at
most ``MACHIDATA_ENGINE_MAX_ROWS``) and this module groups them with the same JSON shape, grains and
output names, so the chart documents stay valid when the engine takes over. Pure Python, no Django.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from machidata.jp.fiscal import fiscal_year

GRAINS: Final[dict[str, str]] = {
    "day": "日",
    "week": "週",
    "month": "月",
    "quarter": "四半期",
    "year": "年",
    "fiscal_year": "年度",
    "weekday": "曜日",
    "hour": "時",
}
OPS: Final[dict[str, str]] = {
    "count": "件数",
    "sum": "合計",
    "avg": "平均",
    "median": "中央値",
    "min": "最小",
    "max": "最大",
    "count_distinct": "種類数",
    "share_of_total": "構成比",
}
NUMERIC_OPS: Final = frozenset({"sum", "avg", "median"})
WEEKDAYS: Final = ("月", "火", "水", "木", "金", "土", "日")


class AggregateError(ValueError):
    """A grouping or measure that cannot be computed (the message is Japanese, naming the field)."""


def key_name(group: Mapping[str, Any]) -> str:
    """The output name of a group key: ``as``, else the column, else ``列（年度）``."""
    if group.get("as"):
        return str(group["as"])
    grain = group.get("grain")
    return f"{group['column']}（{GRAINS[grain]}）" if grain else str(group["column"])


def measure_name(measure: Mapping[str, Any]) -> str:
    """The output name of a measure: ``as``, else ``件数`` / ``合計（列）`` / ``構成比（件数）``."""
    if measure.get("as"):
        return str(measure["as"])
    op, col = str(measure["op"]), measure.get("column")
    if op == "share_of_total":
        return f"構成比（{f'合計（{col}）' if col else '件数'}）"
    return f"{OPS[op]}（{col}）" if col else OPS[op]


def _as_datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str) and value:
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def bucket(value: Any, grain: str | None) -> Any:  # noqa: PLR0911 - one branch per grain
    """The time bucket of one value, as the engine gives it (dates for day…quarter, ints for years and hours)."""
    if grain is None or value is None:
        return value
    moment = _as_datetime(value)
    if moment is None:
        raise AggregateError(
            f"「{value}」は日付ではないため、{GRAINS.get(grain, grain)}ごとにまとめられません。"
        )
    day = moment.date()
    if grain == "day":
        return day
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    if grain == "year":
        return day.year
    if grain == "fiscal_year":
        return fiscal_year(moment)  # naive wall-clock time (Asia/Tokyo), as stored
    if grain == "weekday":
        return WEEKDAYS[day.weekday()]
    if grain == "hour":
        return moment.hour
    raise AggregateError(f"時間のまとめ方「{grain}」は使えません。")


def _number(value: Any, column: str) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, Decimal):
        return float(value)
    raise AggregateError(f"列「{column}」は数値ではないため、合計や平均は計算できません。")


def _measure(op: str, column: str | None, rows: Sequence[Mapping[str, Any]]) -> Any:  # noqa: PLR0911 - one branch per op
    if op in {"count", "share_of_total"} and not column:
        return len(rows)
    if column is None:
        raise AggregateError(f"「{OPS.get(op, op)}」には列を選んでください。")
    values = [r.get(column) for r in rows]
    present = [v for v in values if v is not None and v != ""]
    if op == "count":
        return len(present)
    if op == "count_distinct":
        return len(set(present))
    if op in {"min", "max"}:
        return (min if op == "min" else max)(present) if present else None
    numbers = [n for n in (_number(v, column) for v in present) if n is not None]
    if op in {"sum", "share_of_total"}:
        return sum(numbers)
    if not numbers:
        return None
    if op == "avg":
        return sum(numbers) / len(numbers)
    if op == "median":
        return statistics.median(numbers)
    raise AggregateError(f"集計のしかた「{op}」は使えません。")


def _order(value: Any) -> tuple[int, Any]:
    if value is None:
        return (2, 0)
    if isinstance(value, str) and value in WEEKDAYS:
        return (0, WEEKDAYS.index(value))
    return (0, value) if not isinstance(value, str) else (1, value)


def aggregate(
    rows: Iterable[Mapping[str, Any]],
    *,
    group_by: Sequence[Mapping[str, Any]] = (),
    measures: Sequence[Mapping[str, Any]] = (),
    top_n: Mapping[str, Any] | None = None,
    sort: Sequence[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """One row per group with its measures (shares computed before ``top_n``), ordered like the engine."""
    measures = list(measures) or [{"op": "count"}]
    for m in measures:
        if m.get("op") not in OPS:
            raise AggregateError(f"集計のしかた「{m.get('op')}」は使えません。")
    for g in group_by:
        if g.get("grain") is not None and g["grain"] not in GRAINS:
            raise AggregateError(f"時間のまとめ方「{g['grain']}」は使えません。")
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for r in rows:
        key = tuple(bucket(r.get(g["column"]), g.get("grain")) for g in group_by)
        groups.setdefault(key, []).append(r)
    keys = [key_name(g) for g in group_by]
    out = []
    for key, members in groups.items():
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        for m in measures:
            row[measure_name(m)] = _measure(str(m["op"]), m.get("column"), members)
        out.append(row)
    for m in measures:
        if m["op"] == "share_of_total":
            name = measure_name(m)
            total = sum(r[name] or 0 for r in out)
            for r in out:
                r[name] = (r[name] / total) if total else None
    out.sort(key=lambda r: tuple(_order(r[k]) for k in keys))
    if top_n:
        by, n = str(top_n["by"]), int(top_n["n"])
        out.sort(key=lambda r: (r.get(by) is None, -(r.get(by) or 0)))
        out = out[:n]
    for s in reversed(list(sort)):
        col = str(s["column"])
        out.sort(key=lambda r: _order(r.get(col)), reverse=s.get("direction") == "desc")
    return out
