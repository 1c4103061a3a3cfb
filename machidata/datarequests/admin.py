"""Django admin for data requests: read-only (every change goes through the audited services)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from machidata.datarequests.models import DataRequest, DataRequestEvent


class EventInline(admin.TabularInline[DataRequestEvent, DataRequest]):
    """The timeline of a request."""

    model = DataRequestEvent
    extra = 0
    fields = ("created_at", "kind", "actor_label", "status_from", "status_to", "unit", "body")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DataRequest)
class DataRequestAdmin(admin.ModelAdmin[DataRequest]):
    """Requests are changed through the request pages, which audit and notify."""

    list_display = ("id", "title", "status", "requested_by", "routed_unit", "answer_kind", "created_at")
    list_filter = ("status", "answer_kind")
    search_fields = ("title", "description", "search_query")
    date_hierarchy = "created_at"
    inlines = [EventInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
