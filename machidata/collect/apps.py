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
        """Tell watchers about new versions, evaluate alert rules on new data; register the system tables."""
        from django.db.models.signals import post_delete, post_save

        from machidata.catalog.system_datasets import register_system_table
        from machidata.collect import alerts
        from machidata.collect.system_table import SYSTEM_TABLES
        from machidata.collect.watches import on_version_committed
        from machidata.lake.signals import version_committed

        version_committed.connect(on_version_committed, dispatch_uid="collect.watch")
        version_committed.connect(alerts.on_version_committed, dispatch_uid="collect.alerts")
        for uid, signal in (("save", post_save), ("delete", post_delete)):
            signal.connect(
                alerts.on_actual_changed, sender="ebpm.IndicatorActual", dispatch_uid=f"collect.alerts.{uid}"
            )
        for spec in SYSTEM_TABLES:
            register_system_table(spec)
