"""Catalog changes → index outbox rows (same transaction) → an index-update job after commit.

Signals rather than calls in each service, because datasets and tables are also written by the
admin, the inventory import, the demo loader and tests; every path goes through ``save()``.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from machidata.access.models import Unit
from machidata.catalog.models import Category, Dataset, Licence, Table
from machidata.search.services import index_kick, index_mark


def _mark(ids: list[int]) -> None:
    if not ids:
        return
    index_mark(ids)
    transaction.on_commit(index_kick)


def _dataset_changed(sender: Any, instance: Dataset, **kwargs: Any) -> None:
    if kwargs.get("raw"):  # fixtures loaded with loaddata: reindex afterwards
        return
    _mark([instance.pk])


def _table_changed(sender: Any, instance: Table, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return
    _mark([instance.dataset_id])


def _formats_changed(sender: Any, instance: Any, action: str, **kwargs: Any) -> None:
    if action in {"post_add", "post_remove", "post_clear"} and isinstance(instance, Dataset):
        _mark([instance.pk])


def _vocabulary_changed(field: str) -> Any:
    # A renamed 分野, licence or unit changes the indexed text of every entry that uses it.
    def handler(sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
        if created or kwargs.get("raw"):
            return
        ids = list(Dataset.objects.filter(**{field: instance.pk}).values_list("pk", flat=True))
        if field == "owner_id":
            ids += list(Dataset.objects.filter(owner__parent_id=instance.pk).values_list("pk", flat=True))
        _mark(ids)

    return handler


_handlers: list[Any] = []


def connect() -> None:
    """Connect the handlers (once)."""
    if _handlers:
        return
    _handlers.extend(
        [
            _vocabulary_changed("category_id"),
            _vocabulary_changed("licence_id"),
            _vocabulary_changed("owner_id"),
        ]
    )
    post_save.connect(_dataset_changed, sender=Dataset, dispatch_uid="search.dataset_saved")
    post_delete.connect(_dataset_changed, sender=Dataset, dispatch_uid="search.dataset_deleted")
    post_save.connect(_table_changed, sender=Table, dispatch_uid="search.table_saved")
    post_delete.connect(_table_changed, sender=Table, dispatch_uid="search.table_deleted")
    m2m_changed.connect(_formats_changed, sender=Dataset.formats.through, dispatch_uid="search.formats")
    post_save.connect(_handlers[0], sender=Category, dispatch_uid="search.category_saved")
    post_save.connect(_handlers[1], sender=Licence, dispatch_uid="search.licence_saved")
    post_save.connect(_handlers[2], sender=Unit, dispatch_uid="search.unit_saved")
