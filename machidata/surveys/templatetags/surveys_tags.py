"""Template filters of the survey pages."""

from __future__ import annotations

from django import template

from machidata.surveys.tables import percent

register = template.Library()


@register.filter
def pct(value: float | None) -> str:
    """0.356 → 35.6%."""
    return percent(value)
