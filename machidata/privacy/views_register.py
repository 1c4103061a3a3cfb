"""個人情報ファイル簿 pages: the register (データ戦略課・個人情報保護担当), one entry with its checklist,
保存期間 and the versions already purged, the CSV/XLSX export, and the public list on the portal."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from machidata.access.policy import Actor
from machidata.core.errors import InvalidInput, PermissionDenied
from machidata.privacy import register, retention
from machidata.privacy.forms_register import PublishForm, RegisterEntryForm, RetentionForm
from machidata.privacy.records import REGISTER_THRESHOLD, RegisterEntry

STATES = {
    "": "すべて",
    "applicable": "対象（1,000人超・未判定）",
    "incomplete": "未記入の項目があるもの",
    "public": "公表中",
}


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


@require_GET
@login_required
def register_list_view(request: HttpRequest) -> HttpResponse:
    """The register: every personal-information dataset, whether it needs an entry, what is missing."""
    actor = _actor(request)
    if not register.may_view_register(actor):
        raise PermissionDenied("個人情報ファイル簿は、データ戦略課と個人情報保護担当が見られます。")
    state = request.GET.get("state", "")
    state = state if state in STATES else ""
    rows = register.register_list(actor=actor, state=state)
    page = Paginator(rows, settings.MACHIDATA_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "privacy/register_list.html", {
        "page_obj": page, "rows": page.object_list, "states": STATES.items(), "state": state,
        "threshold": REGISTER_THRESHOLD, "query_without_page": f"state={state}&",
    })  # fmt: skip


def _entry_page(request: HttpRequest, row: register.RegisterRow, *, bound: dict[str, Any] | None = None,
                status: int = 200) -> HttpResponse:  # fmt: skip
    actor = _actor(request)
    dataset = row.dataset
    editable = register.may_edit_entry(actor, dataset)
    rule = getattr(dataset, "retention_rule", None)
    ctx: dict[str, Any] = {
        "row": row, "dataset": dataset, "threshold": REGISTER_THRESHOLD,
        "form": RegisterEntryForm(instance=row.entry or RegisterEntry(dataset=dataset, name=dataset.title))
        if editable else None,
        "publish": register.may_publish(actor),
        "rule": rule,
        "retention_form": RetentionForm(initial={"years": rule.years, "clock": rule.clock, "basis": rule.basis}
                                        if rule else {}) if retention.may_set_retention(actor, dataset) else None,
        "tombstones": retention.tombstones(dataset=dataset),
        "cells": list(zip([label for _, label in register.COLUMNS], register.entry_cells(row, guard=False), strict=True)),
    }  # fmt: skip
    ctx.update(bound or {})
    return render(request, "privacy/register_entry.html", ctx, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def register_entry_view(request: HttpRequest, slug: str) -> HttpResponse:
    """One entry: the items as they will be published, the checklist, the form (for the owner)."""
    actor = _actor(request)
    row = register.entry_get(actor=actor, slug=slug)
    if request.method == "GET":
        return _entry_page(request, row)
    if not register.may_edit_entry(actor, row.dataset):
        raise PermissionDenied("この記載を変更する権限がありません。")
    form = RegisterEntryForm(request.POST, instance=RegisterEntry(dataset=row.dataset))
    if form.is_valid():
        data = {f: form.cleaned_data.get(f) for f in register.EDITABLE}
        try:
            register.entry_update(actor=actor, dataset=row.dataset, data=data)
        except InvalidInput as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "個人情報ファイル簿の記載を保存しました。")
            return redirect("privacy_register:entry", slug=slug)
    return _entry_page(request, row, bound={"form": form}, status=400)


@require_POST
@login_required
def register_publish_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Mark or unmark the entry for the portal (refused while items are missing)."""
    actor = _actor(request)
    row = register.entry_get(actor=actor, slug=slug)
    if not register.may_publish(actor):
        raise PermissionDenied("公表の登録は、データ戦略課と個人情報保護担当が行います。")
    form = PublishForm(request.POST)
    public = bool(form.is_valid() and form.cleaned_data["public"])
    try:
        register.entry_set_public(actor=actor, dataset=row.dataset, public=public)
    except InvalidInput as exc:
        messages.error(request, exc.message)
        return _entry_page(request, register.entry_get(actor=actor, slug=slug), status=400)
    messages.success(request, "ポータルで公表します。" if public else "ポータルでの公表をやめました。")
    return redirect("privacy_register:entry", slug=slug)


@require_POST
@login_required
def retention_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Set, change or clear the dataset's 保存期間."""
    actor = _actor(request)
    row = register.entry_get(actor=actor, slug=slug)
    if not retention.may_set_retention(actor, row.dataset):
        raise PermissionDenied("保存期間を設定できるのは、データの所管課の編集者と個人情報保護担当です。")
    form = RetentionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["clear"]:
                retention.retention_clear(actor=actor, dataset=row.dataset)
                messages.success(request, "保存期間の設定をやめました。すべての版を保存します。")
            else:
                retention.retention_set(
                    actor=actor,
                    dataset=row.dataset,
                    years=data["years"],
                    clock=data["clock"],
                    basis=data["basis"],
                )
                messages.success(request, "保存期間を保存しました。")
        except InvalidInput as exc:
            form.add_error("years" if "年" in exc.message else None, exc.message)
        else:
            return redirect("privacy_register:entry", slug=slug)
    row = register.entry_get(actor=actor, slug=slug)
    return _entry_page(request, row, bound={"retention_form": form}, status=400)


@require_GET
@login_required
def register_export_view(request: HttpRequest) -> HttpResponse:
    """The register as CSV (UTF-8 BOM) or XLSX, in the published form's columns."""
    actor = _actor(request)
    if not register.may_view_register(actor):
        raise PermissionDenied("個人情報ファイル簿は、データ戦略課と個人情報保護担当が見られます。")
    only_public = request.GET.get("only") == "public"
    stamp = timezone.localtime().strftime("%Y%m%d")
    if request.GET.get("format") == "xlsx":
        body = register.register_xlsx(actor=actor, only_public=only_public)
        response = HttpResponse(
            body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        filename = f"kojin_joho_file_bo_{stamp}.xlsx"
    else:
        body = register.register_csv(actor=actor, only_public=only_public)
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        filename = f"kojin_joho_file_bo_{stamp}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def register_public_view(request: HttpRequest) -> HttpResponse:
    """The public 個人情報ファイル簿: the entries marked for publication (items only, never data)."""
    rows = register.public_entries()
    page = Paginator(rows, settings.MACHIDATA_PAGE_SIZE).get_page(request.GET.get("page"))
    entries = [
        (
            row,
            list(
                zip(
                    [label for _, label in register.COLUMNS],
                    register.entry_cells(row, guard=False),
                    strict=True,
                )
            ),
        )
        for row in page.object_list
    ]
    return render(request, "privacy/register_public.html", {
        "page_obj": page, "entries": entries, "query_without_page": "", "city_name": settings.MACHIDATA_CITY_NAME,
    })  # fmt: skip
