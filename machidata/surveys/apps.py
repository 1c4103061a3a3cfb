"""App config of survey analysis (アンケート集計)."""

from __future__ import annotations

from django.apps import AppConfig


class SurveysConfig(AppConfig):
    """Survey analysis: Microsoft Forms exports, tables, crosstabs, weights, free text, rounds."""

    name = "machidata.surveys"
    label = "surveys"
    verbose_name = "アンケート集計"
    default_auto_field = "django.db.models.BigAutoField"
