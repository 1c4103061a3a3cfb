"""A dashboard's shared filters as chosen in query parameters (the page, its exports and the API use the same)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from machidata.charts.models import Dashboard
from machidata.jp.fiscal import fiscal_year, format_fiscal_year

FISCAL_YEARS_SHOWN = 15  # the 年度 filter offers this year's and the 14 before


def _day(text: str) -> str:
    """An ISO date typed in a date field, or "" when it is not one."""
    try:
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        return ""


def fiscal_year_choices(today: dt.date | None = None) -> list[tuple[str, str]]:
    """The 年度 a dashboard filter offers: this fiscal year first, then the ones before (令和6年度（2024年度））."""
    current = fiscal_year(today or timezone.localdate())
    return [
        (str(y), f"{format_fiscal_year(y)}（{y}年度）")
        for y in range(current, current - FISCAL_YEARS_SHOWN, -1)
    ]


def chosen_filters(
    params: Mapping[str, str], dashboard: Dashboard
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The filter values the viewer chose (``f0``, ``f0_from``/``f0_to``) and the filter form's fields.

    The same query parameters drive the page, its exports and the API's exports, so all show the same rows.
    """
    chosen: dict[str, Any] = {}
    fields = []
    for i, f in enumerate(dashboard.filters):
        column, kind = str(f["column"]), str(f["kind"])
        if kind == "date_range":
            start, end = _day(params.get(f"f{i}_from", "")), _day(params.get(f"f{i}_to", ""))
            chosen[column] = (start or None, end or None)
            fields.append({"i": i, "column": column, "kind": kind, "start": start, "end": end})
        elif kind == "fiscal_year":
            text = params.get(f"f{i}", "")[:4]
            year = int(text) if text.isdigit() and 1900 <= int(text) <= 2200 else None
            chosen[column] = year
            fields.append({"i": i, "column": column, "kind": kind, "value": str(year or ""),
                           "choices": fiscal_year_choices()})  # fmt: skip
        else:
            value = params.get(f"f{i}", "")[:200]
            chosen[column] = value or None
            fields.append({"i": i, "column": column, "kind": kind, "value": value})
    return chosen, fields
