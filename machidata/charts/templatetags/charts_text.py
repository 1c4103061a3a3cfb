"""Template filters of the charts room: a dashboard text block's site paths (``/ebpm/strategy/``) as links."""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

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
