"""The unread-notifications link in the page header."""

from __future__ import annotations

from typing import Any

from django import template

from machidata.notify.selectors import notification_unread_count

register = template.Library()


@register.inclusion_tag("notify/_header_link.html", takes_context=True)
def notification_link(context: template.Context) -> dict[str, Any]:
    """The link to お知らせ with the actor's unread count (one COUNT query per page)."""
    actor = context.get("actor")
    unread = notification_unread_count(actor=actor) if actor is not None and actor.is_authenticated else 0
    request = context.get("request")
    current = bool(request and getattr(request.resolver_match, "app_name", "") == "notify")
    return {"unread": unread, "current": current}
