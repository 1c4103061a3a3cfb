"""Admin of code lists and the item dictionary (audited like the services); recipes are read-only here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from machidata.access.policy import actor_for
from machidata.audit.services import audit_record
from machidata.prep.models import CodeEntry, CodeList, ItemDefinition, Recipe


class CodeEntryInline(admin.TabularInline[CodeEntry, CodeList]):
    """The codes of a code list."""

    model = CodeEntry
    extra = 1


@admin.register(CodeList)
class CodeListAdmin(admin.ModelAdmin[CodeList]):
    """Code lists (コード表); the admin's own transaction holds the audit row."""

    list_display = ("slug", "title", "unit")
    search_fields = ("slug", "title")
    inlines = [CodeEntryInline]

    def save_model(self, request: HttpRequest, obj: CodeList, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit_record(actor=actor_for(request.user), action="prep.codelist.admin_save", obj=obj)


@admin.register(ItemDefinition)
class ItemDefinitionAdmin(admin.ModelAdmin[ItemDefinition]):
    """Shared item definitions (共通項目)."""

    list_display = ("slug", "title", "type", "codelist")
    search_fields = ("slug", "title")

    def save_model(self, request: HttpRequest, obj: ItemDefinition, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit_record(actor=actor_for(request.user), action="prep.item.admin_save", obj=obj)


@admin.register(Recipe)
class RecipeAdmin(admin.ModelAdmin[Recipe]):
    """Recipes change on the recipe page (optimistic locking, access checks, audit); here they are read."""

    list_display = ("title", "unit", "dataset", "table_name", "status", "certified_at")
    list_filter = ("status",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
