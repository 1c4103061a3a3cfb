"""Words of the builder: time grains and measures, and the output names the builder writes as ``as``.

The names are the engine's defaults (``件数``, ``合計（列）``, ``列（年度）``), asked of the catalog's
query selectors so there is one naming rule; the builder writes them into the query as ``as``, so a
saved chart never depends on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from machidata.catalog.query_selectors import default_group_name, default_measure_name

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
    return default_group_name(str(group["column"]), group.get("grain") or None)


def measure_name(measure: Mapping[str, Any]) -> str:
    """The output name of a measure: ``as``, else ``件数`` / ``件数（列）`` / ``合計（列）`` / ``構成比（件数）``."""
    if measure.get("as"):
        return str(measure["as"])
    return default_measure_name(dict(measure))
