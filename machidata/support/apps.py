"""App config of the support room: consultation desk (相談・伴走支援) and training (研修)."""

from __future__ import annotations

from django.apps import AppConfig


class SupportConfig(AppConfig):
    """相談・研修: the consultation desk, the training curriculum, tests and the コア人材 register."""

    name = "machidata.support"
    verbose_name = "相談・研修"

    def ready(self) -> None:
        """Register the 相談 and 研修 system tables (catalog sits lower and must not import this app)."""
        from machidata.catalog.system_datasets import register_system_table
        from machidata.support.system_tables import TABLES

        for spec in TABLES:
            register_system_table(spec)
