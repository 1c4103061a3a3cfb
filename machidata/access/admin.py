"""Django admin for the organisation, going through the access policy: only 管理 sees it."""

from __future__ import annotations

from typing import Any

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.db.models import Model
from django.forms import ModelForm
from django.http import HttpRequest

from machidata.access.models import ApiToken, ApproverDesignation, Membership, Unit
from machidata.access.policy import actor_for
from machidata.audit.services import audit_record


class PolicyAdmin(admin.ModelAdmin):
    """Every permission comes from the policy (管理, i.e. ``Actor.is_admin``), and every save is audited."""

    audit_name = ""

    def _is_admin(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and actor_for(user).is_admin)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._is_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._is_admin(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._is_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._is_admin(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._is_admin(request)

    def save_model(self, request: HttpRequest, obj: Model, form: ModelForm, change: bool) -> None:
        # The admin's change view already runs in a transaction, so the audit row commits with the edit.
        super().save_model(request, obj, form, change)
        changed = {name: str(form.cleaned_data.get(name)) for name in form.changed_data}
        audit_record(
            actor=actor_for(request.user),
            action=f"{self.audit_name}.{'update' if change else 'create'}",
            obj=obj,
            changes={"via": "admin", **changed},
        )

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        audit_record(
            actor=actor_for(request.user),
            action=f"{self.audit_name}.delete",
            obj=obj,
            changes={"via": "admin"},
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(Unit)
class UnitAdmin(PolicyAdmin):
    """所属: effective-dated units."""

    audit_name = "unit"
    list_display = ["code", "name", "kind", "parent", "valid_from", "valid_to", "successor"]
    list_filter = ["kind", "valid_to"]
    search_fields = ["code", "name"]
    raw_id_fields = ["parent", "successor"]
    ordering = ["code", "valid_from"]


@admin.register(Membership)
class MembershipAdmin(PolicyAdmin):
    """所属・役割 of staff."""

    audit_name = "membership"
    list_display = ["user", "unit", "role", "rank", "valid_from", "valid_to"]
    list_filter = ["role", "rank"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "unit__code", "unit__name"]
    raw_id_fields = ["user", "unit"]


@admin.register(ApproverDesignation)
class ApproverDesignationAdmin(PolicyAdmin):
    """Who is 課長 / 代決者 of which unit, read by the approval routes (管理 only; each save and delete audited)."""

    audit_name = "approverdesignation"
    list_display = ["unit", "user", "kind", "valid_from", "valid_to"]
    list_filter = ["kind"]


@admin.register(ApiToken)
class ApiTokenAdmin(PolicyAdmin):
    """Personal API tokens: listed for 管理 to find and revoke; the hash is never shown and tokens are not made here."""

    audit_name = "token"
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    search_fields = ["name", "user__username", "prefix"]
    fields = ["user", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["user", "name", "prefix", "created_at", "last_used_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tokens are created by their owner on /org/tokens/, where the value is shown once


@admin.register(AccessAttempt)
class LockoutAdmin(PolicyAdmin, AccessAttemptAdmin):
    """Failed sign-ins counted by django-axes: 管理 sees who is locked out and unlocks by deleting the row."""

    audit_name = "lockout"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the counts are the lockout's own; the only edit is to delete (unlock)
