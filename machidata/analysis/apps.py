"""App config of the analysis workbench (分析)."""

from __future__ import annotations

from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    """Effect verification (効果検証), demand forecasting and sample-size planning on catalog tables."""

    name = "machidata.analysis"
    label = "analysis"
    verbose_name = "分析"
    default_auto_field = "django.db.models.BigAutoField"
