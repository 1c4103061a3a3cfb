"""Watching a dataset (見守り): any member of staff who may discover an entry is told when it gets a new version.

The lake sends ``version_committed`` once a version is durably committed; :func:`on_version_committed`
(connected in ``CollectConfig.ready``) notifies the dataset's watchers — except the person who wrote the
version, and anyone who may no longer discover the entry (access is checked again at each version).
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse

from machidata.access.policy import Action, Actor, access_dataset, actor_for, can, restrict
from machidata.audit.services import audit_record
from machidata.catalog.models import Dataset, TableVersion
from machidata.collect.models import Watch
from machidata.core.errors import PermissionDenied
from machidata.notify.services import notify

logger = logging.getLogger("machidata.collect")


def watch_set(*, actor: Actor, slug: str, on: bool) -> bool:
    """Start (``on``) or stop watching the dataset ``slug``; returns whether the actor now watches it."""
    dataset = access_dataset(actor, Action.DISCOVER, slug=slug)
    if (
        actor.user_id is None
    ):  # access_dataset lets the public discover 公開 entries; watching needs an account
        raise PermissionDenied("見守るにはログインしてください。")
    user_id: int = actor.user_id
    with transaction.atomic():
        if on:
            _, created = Watch.objects.get_or_create(user_id=user_id, dataset=dataset)
            changed = created
        else:
            changed = Watch.objects.filter(user_id=user_id, dataset=dataset).delete()[0] > 0
        if changed:
            audit_record(actor=actor, action="collect.watch" if on else "collect.unwatch", obj=dataset)
    return on


def watched(*, actor: Actor) -> QuerySet[Watch]:
    """The actor's watches on entries they may still discover, newest first."""
    if actor.user_id is None:
        return Watch.objects.none()
    visible = restrict(Dataset.objects.all(), actor, Action.DISCOVER).values("pk")
    return Watch.objects.filter(user_id=actor.user_id, dataset__in=visible).select_related("dataset__owner")


def is_watching(*, actor: Actor, dataset: Dataset) -> bool:
    """Whether the actor watches the dataset."""
    if actor.user_id is None:
        return False
    return Watch.objects.filter(user_id=actor.user_id, dataset=dataset).exists()


def on_version_committed(sender: Any, version: TableVersion, **kwargs: Any) -> None:
    """Tell the watchers of the version's dataset (receiver of ``lake.signals.version_committed``)."""
    table = version.table
    dataset = table.dataset
    users = get_user_model().objects.filter(
        pk__in=Watch.objects.filter(dataset=dataset).values("user_id"), is_active=True
    )
    allowed = [
        u.pk for u in users if u.pk != version.created_by_id and can(actor_for(u), Action.DISCOVER, dataset)
    ]
    if not allowed:
        return
    notify(
        users=allowed,
        message=f"見守り中の「{dataset.title}」の表「{table.title}」に新しい版（第{version.number}版、{version.rows or 0:,}行）ができました。",
        link=reverse("catalog:detail", args=[dataset.slug]),
    )
