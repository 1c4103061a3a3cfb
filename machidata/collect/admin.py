"""Admin of campaigns: read-only (they change on the campaign pages, with access checks and audit)."""

from __future__ import annotations

from django.contrib import admin

from machidata.catalog.admin import ReadOnlyAdmin
from machidata.collect.models import (
    Campaign,
    FreshnessReminder,
    ImportedFile,
    ImportSource,
    Recipient,
    Reminder,
    Submission,
    Watch,
)


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    """照会: started, closed and answered on the campaign pages."""

    list_display = ("title", "unit", "deadline", "status", "is_synthetic", "created_at")
    list_filter = ("status", "is_synthetic")
    search_fields = ("title",)


@admin.register(Recipient)
class RecipientAdmin(ReadOnlyAdmin):
    """Recipients and where they stand."""

    list_display = ("campaign", "name", "unit", "status", "rows", "answered_at")
    list_filter = ("status",)
    search_fields = ("name",)


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyAdmin):
    """Returns, accepted or rejected with their report."""

    list_display = ("recipient", "status", "rows", "replaced_rows", "submitted_at")
    list_filter = ("status",)


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    """Reminders sent (one per recipient and kind)."""

    list_display = ("recipient", "kind", "sent_at")


@admin.register(FreshnessReminder)
class FreshnessReminderAdmin(ReadOnlyAdmin):
    """Overdue notices sent (one per dataset and due date)."""

    list_display = ("dataset", "due", "sent_at")


@admin.register(ImportSource)
class ImportSourceAdmin(ReadOnlyAdmin):
    """Folder imports: set up on the 定期取り込み page (access checks, audit)."""

    list_display = ("folder", "pattern", "table", "mode", "active", "last_checked_at", "last_error")
    list_filter = ("active", "mode")


@admin.register(ImportedFile)
class ImportedFileAdmin(ReadOnlyAdmin):
    """Files seen by folder imports, with their outcome."""

    list_display = ("source", "name", "status", "rows", "created_at")
    list_filter = ("status",)


@admin.register(Watch)
class WatchAdmin(ReadOnlyAdmin):
    """Who watches which dataset (set on the dataset pages by each person)."""

    list_display = ("user", "dataset", "created_at")
