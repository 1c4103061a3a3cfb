"""Template filters of the charts room: a dashboard text block's site paths (``/ebpm/strategy/``) as links,
and a table view's rows as HTML in one pass."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeData, SafeString, mark_safe

register = template.Library()

# A path on this server written in a text block: starts and ends with "/", letters, digits, - and _ only.
SITE_PATH = re.compile(r"(?<![\w/.:])(/[a-z0-9][a-z0-9_/-]*/)")


@register.filter
def link_site_paths(text: str) -> SafeString:
    """The text escaped, with each path on this server made a link (no other host is ever linked)."""
    parts = SITE_PATH.split(escape(str(text)))
    out = [
        part if i % 2 == 0 else format_html('<a href="{}">{}</a>', part, part) for i, part in enumerate(parts)
    ]
    return mark_safe("".join(out))  # noqa: S308 - every part is escaped above or built by format_html


def _cell(value: Any) -> str:
    return str(value) if isinstance(value, SafeData) else html.escape(str(value))


@register.filter
def table_rows(body: Iterable[Iterable[Any]]) -> SafeString:
    """``<tr><td>…</td>…</tr>`` for every row, each cell escaped as ``{{ cell }}`` would be.

    A dashboard's "データを表で見る" tables hold thousands of cells (monthly counts over years); the
    template's nested for loops took about half of a cached dashboard's render, one join takes a few ms.
    """
    return mark_safe(  # noqa: S308 - every cell is escaped by _cell
        "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in line) + "</tr>" for line in body)
    )
