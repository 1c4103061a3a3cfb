"""Django admin for the audit trail: read-only, and only for 管理 (decided by the access policy)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from machidata.access.policy import actor_for
from machidata.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Browse audit events; nothing can be added, changed or deleted here."""

    list_display = ("id", "created_at", "actor_label", "action", "object_type", "object_repr", "ip")
    list_filter = ("action", "object_type", "created_at")
    search_fields = ("actor_label", "object_repr", "object_id", "request_id")
    date_hierarchy = "created_at"
    ordering = ("-id",)
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
    list_per_page = 50

    def _is_admin(self, request: HttpRequest) -> bool:
        return actor_for(request.user).is_admin

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._is_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._is_admin(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
