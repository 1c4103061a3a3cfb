"""Words of the builder: time grains and measures, and the output names the builder writes as ``as``.

The names follow the engine's defaults (``件数``, ``合計（列）``, ``列（年度）``; a test compares them),
but the builder always writes them into the query as ``as``, so a saved chart never depends on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

GRAINS: Final[dict[str, str]] = {
    "fiscal_year": "年度（4月始まり）",
    "year": "年",
    "quarter": "四半期",
    "month": "月",
    "week": "週",
    "day": "日",
    "weekday": "曜日",
    "hour": "時（0〜23時）",
}
GRAIN_WORDS: Final[dict[str, str]] = {
    "day": "日", "week": "週", "month": "月", "quarter": "四半期", "year": "年", "fiscal_year": "年度",
    "weekday": "曜日", "hour": "時",
}  # fmt: skip
# The measures the builder offers (the API takes every engine measure).
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


def key_name(group: Mapping[str, Any]) -> str:
    """The output name of a group key: ``as``, else the column, else ``列（年度）``."""
    if group.get("as"):
        return str(group["as"])
    grain = group.get("grain")
    return f"{group['column']}（{GRAIN_WORDS[grain]}）" if grain else str(group["column"])


def measure_name(measure: Mapping[str, Any]) -> str:
    """The output name of a measure: ``as``, else ``件数`` / ``件数（列）`` / ``合計（列）`` / ``構成比（件数）``."""
    if measure.get("as"):
        return str(measure["as"])
    op, col = str(measure["op"]), measure.get("column")
    if op == "share_of_total":
        return f"構成比（{f'合計（{col}）' if col else '件数'}）"
    return f"{OPS[op]}（{col}）" if col else OPS[op]
