"""Admin of publication: read-only records (課長・代決者 designations are edited in ``access``'s admin).

Requests, decisions, published versions and 統計表 settings change only through the audited services.
"""

from __future__ import annotations

from django.contrib import admin

from machidata.catalog.admin import ReadOnlyAdmin
from machidata.publish.models import AggregateSpec, PublicationRequest, PublishedVersion


@admin.register(PublicationRequest)
class PublicationRequestAdmin(ReadOnlyAdmin):
    """Requests (decided through the route)."""

    list_display = ("pk", "dataset", "kind", "status", "route_name", "created_at")
    list_filter = ("status", "kind")


@admin.register(PublishedVersion)
class PublishedVersionAdmin(ReadOnlyAdmin):
    """What is public."""

    list_display = ("table", "version", "published_at", "withdrawn_at")


@admin.register(AggregateSpec)
class AggregateSpecAdmin(ReadOnlyAdmin):
    """統計表 declarations (set on the table's 統計表 page)."""

    list_display = ("table", "dimension", "total_column", "total_row_label", "threshold")
