"""Django admin for the catalog: for 管理 (データ戦略課) only, through the same policy and services.

Admin pages are a back office, not a way around the rules: who may see or change what is decided by
``access.policy``; datasets are saved by the catalog services (validation, optimistic locking, audit)
and retired instead of deleted; every change to a vocabulary or a grant is written to the audit log.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from machidata.access.models import Unit
from machidata.access.policy import Action, Actor, actor_for, can, restrict, restrict_related
from machidata.audit.services import audit_record
from machidata.catalog.models import Category, DataFormat, Dataset, DatasetGrant, InventoryTemplate, Licence
from machidata.catalog.services import EDITABLE_FIELDS, dataset_create, dataset_retire, dataset_update
from machidata.core.errors import Conflict, MachidataError


def admin_actor(request: HttpRequest) -> Actor:
    """The actor of an admin request (resolved once by the middleware, else from the user)."""
    actor = getattr(request, "actor", None)
    if isinstance(actor, Actor) and actor.user_id == getattr(request.user, "pk", None):
        return actor
    return actor_for(request.user)


class _DryRun(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised to roll back a service call made only to learn whether it would succeed."""


# ---- datasets ------------------------------------------------------------------------------------


class DatasetAdminForm(forms.ModelForm):
    """Edit form whose validation is the catalog service itself (run and rolled back, then run by save)."""

    actor: Actor | None = None  # set per request by DatasetAdmin.get_form

    class Meta:
        model = Dataset
        fields = ("identifier", "slug", *EDITABLE_FIELDS, "formats", "lock_version")
        widgets = {"lock_version": forms.HiddenInput()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("identifier", "slug"):
            if name in self.fields:
                # Left blank on a new entry, the service numbers it (LG code + serial) and derives the URL名.
                self.fields[name].required = False
        if "owner" in self.fields:
            self.fields["owner"].queryset = Unit.objects.active_on().select_related("parent")  # type: ignore[attr-defined]

    def service_data(self) -> dict[str, Any]:
        """The cleaned form as the catalog services take it."""
        names = [n for n in (*EDITABLE_FIELDS, "formats") if n in self.cleaned_data]
        data = {n: self.cleaned_data[n] for n in names}
        if self.instance.pk is None:
            for name in ("identifier", "slug"):
                if self.cleaned_data.get(name):
                    data[name] = self.cleaned_data[name]
        return data

    def run_service(self, actor: Actor) -> Dataset:
        """Create or update through the services (raises their Japanese errors)."""
        if self.instance.pk is None:
            return dataset_create(actor=actor, data=self.service_data())
        current = Dataset.objects.get(pk=self.instance.pk)
        return dataset_update(
            actor=actor,
            dataset=current,
            data=self.service_data(),
            lock_version=int(self.cleaned_data.get("lock_version") or 0),
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors or self.actor is None:
            return cleaned
        # Admin's save_model cannot refuse with a message, so the service is tried here inside a
        # savepoint that is always rolled back: its errors become form errors, nothing is kept.
        try:
            with transaction.atomic():
                self.run_service(self.actor)
                raise _DryRun
        except _DryRun:
            pass
        except Conflict as exc:
            raise ValidationError(exc.message) from exc
        except MachidataError as exc:
            details = exc.details if isinstance(exc.details, dict) else {}
            fields = {k: v for k, v in details.items() if k in self.fields and k != "lock_version"}
            if not fields:
                raise ValidationError(exc.message) from exc
            for name, problem in fields.items():
                self.add_error(name, problem if isinstance(problem, list) else exc.message)
        return cleaned


class RetireActionForm(ActionForm):
    """The action bar with a reason, which retiring requires."""

    reason = forms.CharField(label="廃止の理由", required=False, max_length=500)


class RetiredFilter(admin.SimpleListFilter):
    """廃止済みかどうか."""

    title = "廃止"
    parameter_name = "retired"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", "使用中"), ("yes", "廃止済み")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "no":
            return queryset.filter(retired_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(retired_at__isnull=False)
        return queryset


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    """Catalog entries: viewed and changed by 管理 through the policy; saved by the services; never deleted."""

    form = DatasetAdminForm
    action_form = RetireActionForm
    actions = ["retire_selected"]
    list_display = (
        "title",
        "identifier",
        "owner",
        "classification",
        "personal_data",
        "updated_at",
        "retired_at",
    )
    list_filter = ("classification", "personal_data", RetiredFilter, "category")
    list_select_related = ("owner", "owner__parent", "category")
    search_fields = ("title", "identifier", "slug", "owner__name")
    readonly_fields = ("created_at", "updated_at", "created_by", "retired_at", "retired_reason")
    filter_horizontal = ("formats",)
    save_as = False

    # -- who may do what (the policy, not Django's model permissions) --

    def has_module_permission(self, request: HttpRequest) -> bool:
        return admin_actor(request).is_admin

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        actor = admin_actor(request)
        return actor.is_admin and (obj is None or can(actor, Action.ADMINISTER, obj))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return admin_actor(request).is_admin

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # entries are retired (kept for the record), never deleted

    def get_queryset(self, request: HttpRequest) -> QuerySet[Dataset]:
        return restrict(super().get_queryset(request), admin_actor(request), Action.ADMINISTER)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fixed = ("identifier", "slug") if obj is not None else ()
        return (*fixed, *self.readonly_fields)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = admin_actor(request)  # type: ignore[attr-defined]  # declared on DatasetAdminForm
        return form

    # -- saving through the services --

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        saved = form.run_service(admin_actor(request))
        # Make the admin's object the saved row, so the admin's log entry and redirect point at it.
        obj.pk = saved.pk
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # formats were set (and audited) by the service; only inline formsets would remain, and there are none.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    # -- retiring instead of deleting --

    @admin.action(description="選択したデータセットを廃止する（理由を入力）")
    def retire_selected(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> None:
        """Retire every selected entry with the reason given, all or none."""
        actor = admin_actor(request)
        reason = request.POST.get("reason", "")
        current: Dataset | None = None
        try:
            with transaction.atomic():
                for current in queryset:
                    dataset_retire(actor=actor, dataset=current, reason=reason)
        except MachidataError as exc:
            where = f"「{current.title}」: " if current is not None else ""
            self.message_user(request, f"{where}{exc.message}（どれも廃止していません）", messages.ERROR)
            return
        self.message_user(request, f"{queryset.count()}件のデータセットを廃止しました。", messages.SUCCESS)


# ---- vocabularies, grants and templates: 管理 only, every change audited --------------------------


def _changes(obj: models.Model, form: Any, *, change: bool) -> dict[str, Any]:
    if not change:
        return {"after": {f.name: getattr(obj, f.attname) for f in obj._meta.concrete_fields}}
    changed = list(getattr(form, "changed_data", []) or [])
    initial = getattr(form, "initial", {}) or {}
    return {name: {"before": initial.get(name), "after": form.cleaned_data.get(name)} for name in changed}


class AuditedAdmin(admin.ModelAdmin):
    """管理 only; each save and delete is one transaction with its audit event."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return admin_actor(request).is_admin

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin_actor(request).is_admin

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin_actor(request).is_admin

    def has_add_permission(self, request: HttpRequest) -> bool:
        return admin_actor(request).is_admin

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin_actor(request).is_admin

    def _audit_name(self) -> str:
        return self.model._meta.model_name or "object"

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit_record(
                actor=admin_actor(request),
                action=f"{self._audit_name()}.{'update' if change else 'create'}",
                obj=obj,
                changes=_changes(obj, form, change=change),
            )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            audit_record(actor=admin_actor(request), action=f"{self._audit_name()}.delete", obj=obj)
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        with transaction.atomic():
            actor = admin_actor(request)
            for obj in queryset:
                audit_record(actor=actor, action=f"{self._audit_name()}.delete", obj=obj)
            super().delete_queryset(request, queryset)


class ReadOnlyAdmin(admin.ModelAdmin):
    """管理 may look; changes go through the rooms' services and pages (which check and audit)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return admin_actor(request).is_admin

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin_actor(request).is_admin

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Category)
class CategoryAdmin(AuditedAdmin):
    """分野."""

    list_display = ("name", "code", "order")
    list_editable = ("order",)
    search_fields = ("name", "code")


@admin.register(Licence)
class LicenceAdmin(AuditedAdmin):
    """ライセンス."""

    list_display = ("name", "code", "is_open", "url")
    list_filter = ("is_open",)
    # A URL typed without a scheme means https (Django 6's default; explicit now, found by the
    # authorization matrix opening every admin add page).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    search_fields = ("name", "code")


@admin.register(DataFormat)
class DataFormatAdmin(AuditedAdmin):
    """形式."""

    list_display = ("name", "code")
    search_fields = ("name", "code")


@admin.register(InventoryTemplate)
class InventoryTemplateAdmin(AuditedAdmin):
    """棚卸表テンプレート."""

    list_display = ("name", "sheet", "header_row", "updated_at")
    search_fields = ("name",)
    readonly_fields = ("created_by", "updated_at")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(DatasetGrant)
class DatasetGrantAdmin(AuditedAdmin):
    """個別の利用許可: only on datasets the 管理 actor administers (the policy decides)."""

    list_display = ("dataset", "user", "unit", "level", "expires_on", "created_at")
    list_filter = ("level",)
    list_select_related = ("dataset", "user", "unit")
    search_fields = ("dataset__title", "dataset__identifier", "user__username", "unit__name")
    raw_id_fields = ("dataset", "user")

    def _audit_name(self) -> str:
        return "dataset.grant"

    def get_queryset(self, request: HttpRequest) -> QuerySet[DatasetGrant]:
        qs = super().get_queryset(request)
        return restrict_related(qs, admin_actor(request), Action.ADMINISTER, via="dataset")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        actor = admin_actor(request)
        return actor.is_admin and (obj is None or can(actor, Action.ADMINISTER, obj.dataset))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_change_permission(request, obj)
