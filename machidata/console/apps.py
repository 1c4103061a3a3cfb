"""App config of the SQL console."""

from __future__ import annotations

from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """Read-only SQL for staff over the current versions of the tables they may read; no models."""

    name = "machidata.console"
    label = "console"
    verbose_name = "SQLコンソール"
