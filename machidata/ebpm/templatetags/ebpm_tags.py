"""Template filters of the EBPM pages: 年度 in 和暦 with the western year, yen and numbers with commas, rates."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from machidata.jp.fiscal import format_fiscal_year

register = template.Library()


@register.filter
def nendo(value: Any) -> str:
    """2024 → 令和6年度（2024）."""
    if value in (None, ""):
        return "—"
    return f"{format_fiscal_year(int(value))}（{int(value)}）"


@register.filter
def yen(value: Any) -> str:
    """1234567 → 1,234,567円."""
    return "—" if value in (None, "") else f"{int(value):,}円"


@register.filter
def num(value: Any) -> str:
    """A Decimal without trailing zeros, with thousands separators (None → 目標未設定 is the caller's choice: —)."""
    if value is None or value == "":
        return "—"
    d = Decimal(value).normalize()
    return f"{d:,f}"


@register.filter
def percent(value: Any) -> str:
    """0.853 → 85.3%."""
    return "—" if value is None else f"{Decimal(value) * 100:.1f}%"
