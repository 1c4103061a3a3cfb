"""Admin of publication: 課長・代決者 designations (edited here by 管理, audited) and read-only records.

Requests, decisions, published versions and 統計表 settings change only through the audited services.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from machidata.catalog.admin import AuditedAdmin, admin_actor
from machidata.publish.models import AggregateSpec, ApproverDesignation, PublicationRequest, PublishedVersion


@admin.register(ApproverDesignation)
class ApproverDesignationAdmin(AuditedAdmin):
    """Who is 課長 / 代決者 of which unit (管理 only; each save and delete audited)."""

    list_display = ("unit", "user", "kind", "valid_from", "valid_to")
    list_filter = ("kind",)


class _ReadOnly(admin.ModelAdmin[Any]):
    """管理 may look; changes go through the services (which audit)."""

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


@admin.register(PublicationRequest)
class PublicationRequestAdmin(_ReadOnly):
    """Requests (decided through the route)."""

    list_display = ("pk", "dataset", "kind", "status", "route_name", "created_at")
    list_filter = ("status", "kind")


@admin.register(PublishedVersion)
class PublishedVersionAdmin(_ReadOnly):
    """What is public."""

    list_display = ("table", "version", "published_at", "withdrawn_at")


@admin.register(AggregateSpec)
class AggregateSpecAdmin(_ReadOnly):
    """統計表 declarations (set on the table's 統計表 page)."""

    list_display = ("table", "dimension", "total_column", "total_row_label", "threshold")
