"""App config of data requests: registers the 「データの要望」 system table with the catalog."""

from __future__ import annotations

from django.apps import AppConfig


class DataRequestsConfig(AppConfig):
    """Data requests (データの要望): asked by staff, routed by 管理, answered by a 課."""

    name = "machidata.datarequests"
    label = "datarequests"
    verbose_name = "データの要望"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the system table (catalog sits lower in the layering and must not import this app)."""
        from machidata.catalog.system_datasets import register_system_table
        from machidata.datarequests.system_table import SYSTEM_TABLE

        register_system_table(SYSTEM_TABLE)
