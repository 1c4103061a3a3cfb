"""``{% publication_badge dataset can_edit %}``: the dataset's publication state and its actions.

A template tag, so the catalog's pages show the state without the catalog importing this room.
"""

from __future__ import annotations

from typing import Any

from django import template

from machidata.catalog.models import Dataset, Table, TableVersion
from machidata.publish import selectors
from machidata.publish.models import PublicationRequest, RequestStatus

register = template.Library()


@register.inclusion_tag("publish/_badge.html")
def publication_badge(dataset: Dataset, can_edit: bool = False) -> dict[str, Any]:
    """State badge (未申請 / 申請中 / 公開中 / 非公開化), the open request and the links the editor may use."""
    state = selectors.publication_state(dataset)
    open_request = PublicationRequest.objects.filter(dataset=dataset, status=RequestStatus.PENDING).first()
    return {"dataset": dataset, "state": state, "open_request": open_request, "can_edit": can_edit,
            "is_public": state == selectors.STATE_PUBLIC}  # fmt: skip


@register.simple_tag
def version_publication(table: Table, number: int) -> str:
    """「公開中」「非公開化」「申請中」 for a version that entered publication, else ""."""
    version = TableVersion.objects.filter(table=table, number=number).only("pk").first()
    if version is None:
        return ""
    return selectors.version_states(table.dataset).get(version.pk, "")
