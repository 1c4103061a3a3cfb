"""App config of operations (backup, restore, upgrade)."""

from __future__ import annotations

from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Backup, restore and upgrade of a machidata home (commands only: no models, no pages)."""

    name = "machidata.ops"
    label = "ops"
    verbose_name = "運用（バックアップ・復元）"
