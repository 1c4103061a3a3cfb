"""Help where staff work: links to the current guidebook, its checklist, and a dataset's questions."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from machidata.access.policy import ANONYMOUS
from machidata.support import selectors_help

register = template.Library()


@register.simple_tag
def guide_link(slug: str, label: str = "") -> SafeString | str:
    """A link to the current version of the guide ``slug``; nothing when there is no such guide."""
    found = selectors_help.guide_current(slug)
    if found is None:
        return ""
    guide, _ = found
    url = reverse("support:guide", args=[guide.slug])
    return format_html(
        '<p class="guide-link">参考: <a href="{}">ガイドブック「{}」</a></p>', url, label or guide.title
    )


@register.simple_tag
def guide_checklist(slug: str) -> SafeString | str:
    """The checklist of the guide ``slug`` for the step it concerns; nothing when it has none."""
    found = selectors_help.guide_current(slug)
    if found is None or not found[1].checklist:
        return ""
    guide, version = found
    items = format_html_join("", "<li>{}</li>", ((item,) for item in version.checklist))
    url = reverse("support:guide", args=[guide.slug])
    return format_html(
        '<aside class="checklist" aria-label="確認すること（{}）"><p><strong>確認すること</strong>'
        '（<a href="{}">{}</a>より）</p><ul>{}</ul></aside>',
        guide.title,
        url,
        guide.title,
        items,
    )


@register.simple_tag(takes_context=True)
def dataset_questions_link(context: dict[str, Any], dataset: Any) -> SafeString | str:
    """A link to the dataset's questions with their count, for staff who may discover it."""
    actor = getattr(context.get("request"), "actor", ANONYMOUS)
    if not actor.is_authenticated:
        return ""
    total, unanswered = selectors_help.question_count(actor=actor, dataset=dataset)
    url = reverse("support:dataset_questions", args=[dataset.slug])
    waiting = f"（うち未回答 {unanswered}件）" if unanswered else ""
    return format_html(
        '<section aria-labelledby="qa-h"><h2 id="qa-h">データへの質問</h2>'
        '<p><a href="{}">このデータについての質問と回答（{}件）</a>{}</p></section>',
        url,
        total,
        waiting,
    )
