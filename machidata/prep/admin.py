"""Admin of code lists and the item dictionary (データ戦略課 keeps them: 管理, audited); recipes are read-only here."""

from __future__ import annotations

from django.contrib import admin

from machidata.catalog.admin import AuditedAdmin, ReadOnlyAdmin
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
class RecipeAdmin(ReadOnlyAdmin):
    """Recipes change on the recipe page (optimistic locking, access checks, audit); here they are read."""

    list_display = ("title", "unit", "dataset", "table_name", "status", "certified_at")
    list_filter = ("status",)
