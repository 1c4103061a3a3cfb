"""App config of collection (照会 campaigns) and freshness (更新の遅れ)."""

from __future__ import annotations

from django.apps import AppConfig


class CollectConfig(AppConfig):
    """Collection campaigns (照会), scheduled folder imports, freshness, and watching datasets (見守り)."""

    name = "machidata.collect"
    label = "collect"
    verbose_name = "照会と更新の確認"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Tell watchers about new versions (``watches.on_version_committed``); register the system table."""
        from machidata.catalog.system_datasets import register_system_table
        from machidata.collect.system_table import SYSTEM_TABLE
        from machidata.collect.watches import on_version_committed
        from machidata.lake.signals import version_committed

        version_committed.connect(on_version_committed, dispatch_uid="collect.watch")
        register_system_table(SYSTEM_TABLE)
