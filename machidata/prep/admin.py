"""Admin of code lists and the item dictionary (データ戦略課 keeps them: 管理, audited); recipes are read-only here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from machidata.catalog.admin import AuditedAdmin, admin_actor
from machidata.prep.models import CodeEntry, CodeList, ItemDefinition, Recipe


class CodeEntryInline(admin.TabularInline[CodeEntry, CodeList]):
    """The codes of a code list."""

    model = CodeEntry
    extra = 1


@admin.register(CodeList)
class CodeListAdmin(AuditedAdmin):
    """Code lists (コード表): 管理 only, each save one transaction with its audit event."""

    list_display = ("slug", "title", "unit")
    search_fields = ("slug", "title")
    inlines = [CodeEntryInline]


@admin.register(ItemDefinition)
class ItemDefinitionAdmin(AuditedAdmin):
    """Shared item definitions (共通項目): 管理 only, audited."""

    list_display = ("slug", "title", "type", "codelist")
    search_fields = ("slug", "title")


@admin.register(Recipe)
class RecipeAdmin(admin.ModelAdmin[Recipe]):
    """Recipes change on the recipe page (optimistic locking, access checks, audit); here they are read."""

    list_display = ("title", "unit", "dataset", "table_name", "status", "certified_at")
    list_filter = ("status",)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return admin_actor(request).is_admin

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin_actor(request).is_admin

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
