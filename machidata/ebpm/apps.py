"""App config of EBPM: recomputes query indicators when a table they read gets a new version."""

from __future__ import annotations

from django.apps import AppConfig


class EbpmConfig(AppConfig):
    """EBPM: 政策・施策・事業, logic models and indicators (検証指標)."""

    name = "machidata.ebpm"
    label = "ebpm"
    verbose_name = "EBPM（事業とロジックモデル）"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Listen to the lake's commits (the lake must not import this room)."""
        from machidata.ebpm.services_indicators import on_version_committed
        from machidata.lake.signals import version_committed

        version_committed.connect(on_version_committed, dispatch_uid="ebpm.recompute")
