"""App config of privacy (利用申請): registers the 「利用申請」 system table with the catalog."""

from __future__ import annotations

from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    """Access requests (利用申請) for data staff may discover but not read."""

    name = "machidata.privacy"
    label = "privacy"
    verbose_name = "利用申請"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the system table (catalog sits lower in the layering and must not import this app)."""
        from machidata.catalog.system_datasets import register_system_table
        from machidata.privacy.system_table import SYSTEM_TABLE

        register_system_table(SYSTEM_TABLE)
        from machidata.privacy import checks  # noqa: F401  (registers the --deploy check)
