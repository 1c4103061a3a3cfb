"""``{% watch_button dataset %}``: 「見守る」/「見守りをやめる」 for an entry the actor may discover.

A template tag, so the catalog's dataset page can show the button without the catalog importing this room.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import format_html

from machidata.access.policy import Action, Actor, can
from machidata.catalog.models import Dataset
from machidata.collect.watches import is_watching

register = template.Library()


@register.simple_tag(takes_context=True)
def watch_button(context: dict[str, Any], dataset: Dataset) -> str:
    """The form with one button, or "" for the public and for entries the actor may not discover."""
    request = context.get("request")
    actor: Actor | None = getattr(request, "actor", None)
    if (
        request is None
        or actor is None
        or not actor.is_authenticated
        or not can(actor, Action.DISCOVER, dataset)
    ):
        return ""
    on = is_watching(actor=actor, dataset=dataset)
    return format_html(
        '<form method="post" action="{}" class="inline-form"><input type="hidden" name="csrfmiddlewaretoken" value="{}">'
        '<input type="hidden" name="on" value="{}"><input type="hidden" name="next" value="{}">'
        '<button type="submit" class="button">{}</button></form>',
        reverse("collect:watch", args=[dataset.slug]),
        get_token(request),
        "0" if on else "1",
        request.get_full_path(),
        "見守りをやめる" if on else "見守る（新しい版を知らせる）",
    )
