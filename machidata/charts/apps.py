"""App config of charts (グラフ)."""

from __future__ import annotations

from django.apps import AppConfig


class ChartsConfig(AppConfig):
    """Charts stored as data, their Vega-Lite specs, the builder and the exports."""

    name = "machidata.charts"
    label = "charts"
    verbose_name = "グラフ"
    default_auto_field = "django.db.models.BigAutoField"
