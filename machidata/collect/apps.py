"""App config of collection (照会 campaigns) and freshness (更新の遅れ)."""

from __future__ import annotations

from django.apps import AppConfig


class CollectConfig(AppConfig):
    """Collection campaigns (照会) with schema-bound Excel templates, and the freshness watch."""

    name = "machidata.collect"
    label = "collect"
    verbose_name = "照会と更新の確認"
    default_auto_field = "django.db.models.BigAutoField"
