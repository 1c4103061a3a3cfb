"""Django admin for notifications: read-only, for looking into what was sent to whom."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from machidata.notify.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Notifications are written by services only."""

    list_display = ("id", "recipient", "message", "created_at", "read_at")
    search_fields = ("message", "recipient__username")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
