"""Admin of publication: 課長・代決者 designations (the route reads them) and read-only records."""

from __future__ import annotations

from django.contrib import admin

from machidata.publish.models import AggregateSpec, ApproverDesignation, PublicationRequest, PublishedVersion


@admin.register(ApproverDesignation)
class ApproverDesignationAdmin(admin.ModelAdmin[ApproverDesignation]):
    """Who is 課長 / 代決者 of which unit (edited by データ戦略課)."""

    list_display = ("unit", "user", "kind", "valid_from", "valid_to")
    list_filter = ("kind",)
    autocomplete_fields = ()


@admin.register(AggregateSpec)
class AggregateSpecAdmin(admin.ModelAdmin[AggregateSpec]):
    """統計表 declarations."""

    list_display = ("table", "dimension", "total_column", "total_row_label", "threshold")


@admin.register(PublicationRequest)
class PublicationRequestAdmin(admin.ModelAdmin[PublicationRequest]):
    """Requests are changed only through the route (services); the admin reads them."""

    list_display = ("pk", "dataset", "kind", "status", "route_name", "created_at")
    list_filter = ("status", "kind")

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        """Read-only: decisions go through the route."""
        return False

    def has_add_permission(self, request: object) -> bool:
        """Filed from the dataset page or the API."""
        return False


@admin.register(PublishedVersion)
class PublishedVersionAdmin(admin.ModelAdmin[PublishedVersion]):
    """What is public (read-only)."""

    list_display = ("table", "version", "published_at", "withdrawn_at")

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        """Read-only: publication and withdrawal go through the route."""
        return False

    def has_add_permission(self, request: object) -> bool:
        """Only an approval publishes."""
        return False
