"""``{% access_request_link dataset %}``: 「利用を申請する」 for an entry the actor may discover but not read.

A template tag, so the catalog's dataset page and search hits show the link without the catalog
importing this room. Shows nothing to the public, to those who may already read, and to those who
may not discover the entry.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from machidata.access.policy import Action, Actor, can
from machidata.catalog.models import Dataset

register = template.Library()


@register.simple_tag(takes_context=True)
def access_request_link(context: dict[str, Any], dataset: Dataset, readable: bool | None = None) -> str:
    """The link, or "".

    ``readable``: pass it when the page already knows (the dataset page and search hits do, and show
    only entries the actor may discover); then the tag asks the policy nothing (no query per hit).
    """
    request = context.get("request")
    actor: Actor | None = getattr(request, "actor", None)
    if actor is None or not actor.is_authenticated or dataset.is_retired:
        return ""
    if readable is None:  # a caller that does not know: ask the policy (two checks)
        if can(actor, Action.READ, dataset) or not can(actor, Action.DISCOVER, dataset):
            return ""
    elif readable:
        return ""
    url = reverse("privacy:new", args=[dataset.slug])
    return format_html('<a class="button" href="{}">利用を申請する</a>', url)


@register.simple_tag(takes_context=True)
def privacy_links(context: dict[str, Any], dataset: Dataset) -> str:
    """Links from a dataset page to its 個人情報ファイル簿 entry, its approved uses and its contract terms, or "".

    The entry link is shown to whoever may open the entry (the keepers and the data owner); the
    approved uses to whoever sees them (the keepers, and the 課 and people they name); the contract
    terms to whoever may set them (the owning 課's editors and 管理).
    """
    from machidata.privacy import contracts, uses
    from machidata.privacy import register as file_register

    request = context.get("request")
    actor: Actor | None = getattr(request, "actor", None)
    if actor is None or not actor.is_authenticated or actor.is_partner:
        return ""
    links: list[tuple[str, str]] = []
    if dataset.personal_data in file_register.REGISTER_CLASSES and (
        file_register.may_view_register(actor) or file_register.may_edit_entry(actor, dataset)
    ):
        links.append((reverse("privacy_register:entry", args=[dataset.slug]), "個人情報ファイル簿の記載"))
    for use in uses.uses_of_dataset(actor=actor, dataset=dataset)[:5]:
        links.append((reverse("privacy_uses:detail", args=[use.pk]), f"承認された利用 #{use.pk}"))
    if contracts.may_set_contract(actor, dataset):
        links.append(
            (reverse("privacy_contracts:edit", args=[dataset.slug]), "契約条件（有償データ・委託成果物）")
        )
    if not links:
        return ""
    return format_html("（{}）", format_html_join("・", '<a href="{}">{}</a>', links))
