"""Django admin for jobs: read-only, for looking into a failed run."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from machidata.jobs.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Jobs are written by the runner only; the admin shows them."""

    list_display = ("id", "title", "kind", "status", "created_by", "created_at", "finished_at")
    list_filter = ("status", "kind")
    search_fields = ("title", "kind")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
