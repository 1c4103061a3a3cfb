"""Template tags of the public portal: the link to the same page in the other language."""

from __future__ import annotations

from django import template
from django.http import HttpRequest
from django.urls import translate_url
from django.utils.translation import get_language

register = template.Library()


@register.simple_tag(takes_context=True)
def other_language_url(context: template.Context) -> str:
    """The current page's URL in the other portal language (/open/… ↔ /en/open/…), query string kept."""
    request: HttpRequest = context["request"]
    target = "ja" if get_language() == "en" else "en"
    return translate_url(request.get_full_path(), target)
