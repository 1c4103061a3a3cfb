"""App config of publication (公開申請・決裁・公開ゲート・秘匿処理)."""

from __future__ import annotations

from django.apps import AppConfig


class PublishConfig(AppConfig):
    """Publication: requests, approval routes, gates, suppression, and what is public."""

    name = "machidata.publish"
    label = "publish"
    verbose_name = "公開申請"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the guard that keeps a published dataset's classification until 非公開化."""
        from machidata.catalog.services import CLASSIFICATION_GUARDS
        from machidata.publish.selectors import classification_locked

        if classification_locked not in CLASSIFICATION_GUARDS:
            CLASSIFICATION_GUARDS.append(classification_locked)
