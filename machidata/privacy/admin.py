"""Admin of 利用申請: read-only for 管理 (requests change only through the audited services)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from machidata.catalog.admin import admin_actor
from machidata.privacy.models import AccessRequest


@admin.register(AccessRequest)
class AccessRequestAdmin(admin.ModelAdmin[Any]):
    """管理 may look; filing, decisions, renewal and revocation go through the services."""

    list_display = (
        "id",
        "dataset",
        "requested_by",
        "status",
        "starts_on",
        "ends_on",
        "created_at",
        "decided_at",
    )
    list_filter = ("status", "legal_basis")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return admin_actor(request).is_admin

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin_actor(request).is_admin

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
