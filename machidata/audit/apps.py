"""App configuration of the audit trail: connects the sign-in signals."""

from __future__ import annotations

from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The append-only audit trail (監査ログ)."""

    name = "machidata.audit"
    verbose_name = "監査ログ"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Connect login/logout/failed-login receivers (imported here so models are loaded first)."""
        from machidata.audit import signals

        signals.connect()
