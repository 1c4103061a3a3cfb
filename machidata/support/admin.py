"""Django admin for the question bank, courses, sessions and headcounts (データ戦略課 edits them here)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest

from machidata.audit.services import audit_record
from machidata.catalog.admin import AuditedAdmin, admin_actor
from machidata.support.models import Choice, Course, ForumTopic, Headcount, Question, Session


class SupportAdmin(AuditedAdmin):
    """管理 only; saves, deletes and inline rows (choices, sessions) are audited."""

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_formset(request, form, formset, change)
            rows = [*formset.new_objects, *(o for o, _ in formset.changed_objects), *formset.deleted_objects]
            if rows:
                audit_record(
                    actor=admin_actor(request),
                    action=f"{self._audit_name()}.update",
                    obj=form.instance,
                    changes={
                        "inline": formset.model._meta.model_name,
                        "created": len(formset.new_objects),
                        "changed": len(formset.changed_objects),
                        "deleted": len(formset.deleted_objects),
                    },
                )


class PolicyInline(admin.TabularInline):
    """Inline rows follow the policy too (管理), not Django's per-model permissions."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin_actor(request).is_admin

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin_actor(request).is_admin

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin_actor(request).is_admin

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin_actor(request).is_admin


class ChoiceInline(PolicyInline):
    """The choices of a question; mark exactly one as correct."""

    model = Choice
    extra = 4


@admin.register(Question)
class QuestionAdmin(SupportAdmin):
    """A question of a course's comprehension test, with its choices."""

    list_display = ("text", "course", "order")
    list_filter = ("course",)
    inlines = [ChoiceInline]


class SessionInline(PolicyInline):
    """The dates a course is held."""

    model = Session
    extra = 1


@admin.register(Course)
class CourseAdmin(SupportAdmin):
    """A course of the curriculum and its sessions."""

    list_display = ("title", "rank", "pass_mark", "order", "is_active", "is_synthetic")
    list_filter = ("rank", "is_active")
    inlines = [SessionInline]


@admin.register(Session)
class SessionAdmin(SupportAdmin):
    """One date a course is held."""

    list_display = ("course", "on_date", "place", "online", "capacity")
    list_filter = ("course", "online")
    date_hierarchy = "on_date"


@admin.register(Headcount)
class HeadcountAdmin(SupportAdmin):
    """Staff numbers per 課: the denominator of training coverage."""

    list_display = ("unit", "staff", "as_of")


@admin.register(ForumTopic)
class ForumTopicAdmin(SupportAdmin):
    """The topics of the staff forum (guides, questions and cases are edited on their own pages)."""

    list_display = ("name", "slug", "order")
    prepopulated_fields = {"slug": ("name",)}
