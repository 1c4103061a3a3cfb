"""Charts in the Django admin (read through the same policy as everywhere else: 管理 only)."""

from __future__ import annotations

from django.contrib import admin

from machidata.charts.models import Chart, Dashboard


@admin.register(Chart)
class ChartAdmin(admin.ModelAdmin[Chart]):
    """Charts, for 管理 to find and fix sharing."""

    list_display = ("title", "owner", "unit", "sharing", "updated_at")
    list_filter = ("sharing",)
    search_fields = ("title", "description")
    readonly_fields = ("uuid", "document", "created_at", "updated_at")


@admin.register(Dashboard)
class DashboardAdmin(admin.ModelAdmin[Dashboard]):
    """Dashboards, for 管理 to find and fix sharing."""

    list_display = ("title", "owner", "unit", "sharing", "updated_at")
    list_filter = ("sharing",)
    search_fields = ("title", "description")
    readonly_fields = ("uuid", "items", "filters", "created_at", "updated_at")
