"""Tags for the catalog's pages, so the catalog shows them without importing this room.

* ``{% watch_button dataset %}``: 「見守る」/「見守りをやめる」 for an entry the actor may discover;
* ``{% freshness_note dataset %}``: 「最終更新」 from the committed versions, and how far past its declared
  update it is;
* ``{% alert_link chart=chart %}`` / ``{% alert_link indicator=indicator %}``: a link to set an alert rule or a
  watch on a chart or an EBPM indicator.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from machidata.access.policy import Action, Actor, can
from machidata.catalog.models import Dataset
from machidata.collect.freshness import freshness
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


@register.simple_tag
def freshness_note(dataset: Dataset) -> str:
    """「最終更新 2025-04-01」, with 「（更新予定日 … を N 日過ぎています）」 when overdue; for the catalog's pages."""
    last, due, overdue = freshness(dataset)
    if last is None:
        return format_html("<span>{}</span>", "最終更新: まだデータがありません")
    text = f"最終更新: {timezone.localdate(last):%Y-%m-%d}"
    if due is not None and overdue > 0:
        return format_html(
            '<span>{}<strong class="overdue">（更新予定日 {} を{}日過ぎています）</strong></span>',
            text,
            f"{due:%Y-%m-%d}",
            overdue,
        )
    return format_html("<span>{}</span>", text)


@register.simple_tag(takes_context=True)
def alert_link(context: dict[str, Any], chart: Any = None, indicator: Any = None) -> str:
    """「アラート・見守り」: a link to a new alert rule on ``chart`` or ``indicator`` (signed-in staff only).

    For the charts' and EBPM pages (placed by those rooms); the rule is checked for access when made.
    """
    request = context.get("request")
    actor: Actor | None = getattr(request, "actor", None)
    if actor is None or not actor.is_authenticated or (chart is None) == (indicator is None):
        return ""
    query = f"chart={chart.uuid}" if chart is not None else f"indicator={indicator.pk}"
    return format_html(
        '<a class="button" href="{}?{}">アラート・見守りを設定する</a>', reverse("collect:alert_new"), query
    )
