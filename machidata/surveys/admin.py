"""Django admin for surveys: read-only for 管理 (changes go through the audited services and pages)."""

from __future__ import annotations

from django.contrib import admin

from machidata.catalog.admin import ReadOnlyAdmin
from machidata.surveys.models import Round, Survey


@admin.register(Survey)
class SurveyAdmin(ReadOnlyAdmin):
    """Surveys are registered on the survey pages."""

    list_display = ("title", "unit", "is_synthetic", "created_at")


@admin.register(Round)
class RoundAdmin(ReadOnlyAdmin):
    """Rounds are imported on the survey pages (answers are not shown here)."""

    list_display = ("survey", "label", "respondents", "status", "created_at")
    exclude = ("weight_targets",)
