"""Admin of 利用申請: read-only for 管理 (requests change only through the audited services)."""

from __future__ import annotations

from django.contrib import admin

from machidata.catalog.admin import ReadOnlyAdmin
from machidata.privacy.models import AccessRequest


@admin.register(AccessRequest)
class AccessRequestAdmin(ReadOnlyAdmin):
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
