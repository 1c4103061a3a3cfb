"""Saved analyses are read-only in the admin (made and re-run only on the analysis page, audited there)."""

from __future__ import annotations

from django.contrib import admin

from machidata.analysis.models import Analysis
from machidata.catalog.admin import ReadOnlyAdmin


@admin.register(Analysis)
class AnalysisAdmin(ReadOnlyAdmin):
    """Analyses: 管理 may look."""

    list_display = ("title", "design", "table", "owner", "status", "created_at")
    list_filter = ("design", "status")
    search_fields = ("title",)
