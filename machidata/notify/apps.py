"""App config of in-app notifications (お知らせ)."""

from __future__ import annotations

from django.apps import AppConfig


class NotifyConfig(AppConfig):
    """Notifications to members of staff, shown in the page header and optionally e-mailed."""

    name = "machidata.notify"
    verbose_name = "お知らせ"
    default_auto_field = "django.db.models.BigAutoField"
