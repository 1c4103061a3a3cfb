"""App config of data preparation (加工): connects the re-run hook to the lake's version commits."""

from __future__ import annotations

from django.apps import AppConfig


class PrepConfig(AppConfig):
    """Data preparation (加工): recipes that derive tables, code lists and the shared item dictionary."""

    name = "machidata.prep"
    label = "prep"
    verbose_name = "データの加工"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Re-run recipes when one of their sources gets a committed version (see ``services.recipes_rerun_for``)."""
        from machidata.lake.signals import version_committed
        from machidata.prep.services import on_version_committed

        version_committed.connect(on_version_committed, dispatch_uid="prep.rerun")
