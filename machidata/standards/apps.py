"""App config of the standard open-data sets (推奨データセット・自治体標準オープンデータセット)."""

from __future__ import annotations

from django.apps import AppConfig


class StandardsConfig(AppConfig):
    """A table declared to be one standard dataset: mapping, checks and the standard-format CSV."""

    name = "machidata.standards"
    label = "standards"
    verbose_name = "標準オープンデータセット"
    default_auto_field = "django.db.models.BigAutoField"
