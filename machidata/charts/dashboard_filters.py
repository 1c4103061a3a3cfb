"""A dashboard's shared filters as chosen in query parameters (the page, its exports, the API and the public
dashboard page use the same)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.utils import timezone

from machidata.jp.fiscal import fiscal_year, format_fiscal_year

FISCAL_YEARS_SHOWN = 15  # the 年度 filter offers this year's and the 14 before


def _day(text: str) -> str:
    """An ISO date typed in a date field, or "" when it is not one."""
    try:
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        return ""


def _year(text: str) -> int | None:
    """A 年度 (1900–2200) typed or chosen, or None ("²" is a digit to ``str.isdigit`` but no number)."""
    try:
        year = int(text)
    except ValueError:
        return None
    return year if 1900 <= year <= 2200 else None


def fiscal_year_choices(today: dt.date | None = None) -> list[tuple[str, str]]:
    """The 年度 a dashboard filter offers: this fiscal year first, then the ones before (令和6年度（2024年度））."""
    current = fiscal_year(today or timezone.localdate())
    return [
        (str(y), f"{format_fiscal_year(y)}（{y}年度）")
        for y in range(current, current - FISCAL_YEARS_SHOWN, -1)
    ]


def chosen_filters(
    params: Mapping[str, str], filters: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The filter values the viewer chose (``f0``, ``f0_from``/``f0_to``) and the filter form's fields.

    ``filters``: the dashboard's filters (``Dashboard.filters``, or those frozen in a public dashboard's
    snapshot). The same query parameters drive the page, its exports, the API's exports and the public
    page, so all show the same rows. A value that is not one (a 年度 "abc", a date "2024-13-40") is
    taken as not chosen; a value is cut at 200 characters.
    """
    chosen: dict[str, Any] = {}
    fields = []
    for i, f in enumerate(filters):
        column, kind = str(f.get("column") or ""), str(f.get("kind") or "value")
        if not column:
            continue
        if kind == "date_range":
            start, end = _day(params.get(f"f{i}_from", "")), _day(params.get(f"f{i}_to", ""))
            chosen[column] = (start or None, end or None)
            fields.append({"i": i, "column": column, "kind": kind, "start": start, "end": end})
        elif kind == "fiscal_year":
            year = _year(params.get(f"f{i}", "")[:4])
            chosen[column] = year
            fields.append({"i": i, "column": column, "kind": kind, "value": str(year or ""),
                           "choices": fiscal_year_choices()})  # fmt: skip
        else:
            value = params.get(f"f{i}", "")[:200]
            chosen[column] = value or None
            fields.append({"i": i, "column": column, "kind": kind, "value": value})
    return chosen, fields
