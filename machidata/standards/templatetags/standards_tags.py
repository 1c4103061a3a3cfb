"""``{% standard_badge table %}``: the table's standard dataset, for the catalog's table page.

A template tag, so the catalog shows it without importing this room.
"""

from __future__ import annotations

from typing import Any

from django import template

from machidata.catalog.models import Table
from machidata.standards import definitions
from machidata.standards.models import StandardDeclaration

register = template.Library()


@register.inclusion_tag("standards/_badge.html")
def standard_badge(table: Table) -> dict[str, Any]:
    """The declared standard (or a link to declare one)."""
    decl = StandardDeclaration.objects.filter(table=table).first()
    return {"table": table, "standard": definitions.by_code(decl.standard) if decl else None}
