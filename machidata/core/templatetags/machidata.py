"""Template helpers: safe Markdown and query strings that keep filters while paging."""

from __future__ import annotations

from django import template
from django.http import QueryDict
from django.utils.safestring import SafeString, mark_safe

from machidata.core.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    """Render Markdown to sanitised HTML."""
    return mark_safe(render_markdown(text))  # noqa: S308 - output of nh3.clean, sanitised


@register.simple_tag
def query_with(query: QueryDict, key: str, value: object) -> str:
    """The current query string with ``key`` set to ``value`` (and the page reset)."""
    q = query.copy()
    q[key] = str(value)
    q.pop("page", None)
    return q.urlencode()


@register.simple_tag
def query_without(query: QueryDict, key: str, value: object = None) -> str:
    """The current query string without ``key`` (or without one of its values)."""
    q = query.copy()
    if value is None:
        q.pop(key, None)
    else:
        q.setlist(key, [v for v in q.getlist(key) if v != str(value)])
    q.pop("page", None)
    return q.urlencode()
