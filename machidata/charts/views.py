"""Chart pages: the list, the builder (with its htmx preview), one chart, delete and the exports."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from machidata.access.policy import Action, Actor
from machidata.catalog.table_selectors import table_fields, table_get, version_list
from machidata.charts import services
from machidata.charts.boundaries import MAX_BYTES as BOUNDARY_MAX_BYTES
from machidata.charts.forms import BoundaryForm, ChartForm, choices_from, default_choices, document_from
from machidata.charts.selectors import (
    SCOPES,
    boundary_sets,
    chart_get,
    chart_list,
    chart_render,
    click_target,
    document_render,
    may_edit,
)
from machidata.charts.views_share import share_context
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


@require_GET
@login_required
def chart_list_view(request: HttpRequest) -> HttpResponse:
    """The charts the actor may see (shared with them and whose table they may read), newest first."""
    actor = _actor(request)
    scope = str(request.GET.get("scope") or "all")
    scope = scope if scope in SCOPES else "all"
    page = Paginator(chart_list(actor=actor, scope=scope), settings.MACHIDATA_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "charts/chart_list.html",
        {"page_obj": page, "charts": page.object_list, "scopes": SCOPES, "scope": scope,
         "query_without_page": f"scope={scope}&"},
    )  # fmt: skip


def _builder(
    request: HttpRequest, data: Any, *, saved: dict[str, Any] | None = None
) -> tuple[ChartForm, Any, dict[str, str]]:
    """The builder form for the table named by ``table=slug/name`` (READ), with its columns and versions."""
    actor = _actor(request)
    ref = str(data.get("table") or "")
    slug, _, name = ref.partition("/")
    if not slug or not name:
        raise NotFound("グラフにする表が指定されていません。表のページの「グラフを作る」から始めてください。")
    table = table_get(actor=actor, slug=slug, name=name, action=Action.READ)
    fields = table_fields(table)
    versions = [v.number for v in version_list(actor=actor, table=table) if v.status == "committed"]
    columns = [(f.name, f"{f.name}（{f.type_label}）") for f in fields if f.kind != "geometry"]
    initial = saved if saved is not None else {"table": ref, **default_choices(fields)}
    boundaries = [(str(b.uuid), b.name) for b in boundary_sets()]
    form = ChartForm(data if "type" in data else None, initial=initial, columns=columns, versions=versions,
                     boundaries=boundaries)  # fmt: skip
    return form, table, {f.name: f.kind for f in fields}


def _preview(request: HttpRequest, form: ChartForm, kinds: dict[str, str]) -> dict[str, Any]:
    """The preview context: the rendered chart, or the Japanese reason it cannot be drawn."""
    data = form.cleaned_data if form.is_bound and form.is_valid() else None
    if data is None:
        if form.is_bound:
            return {"preview_error": "入力を確かめてください。"}
        data = {
            **form.initial,
            "y_op": "count",
            "sort": "key",
            "stack": "stacked",
            "era": "wareki",
            "week_start": "monday",
        }
    document = document_from(data, kinds)
    if not document["meta"]["title"]:
        document["meta"]["title"] = "（題名未設定）"
    try:
        rendered = document_render(actor=_actor(request), document=document)
    except InvalidInput as exc:
        return {"preview_error": exc.message}
    return {
        "rendered": rendered,
        "spec_json": json.dumps(rendered.spec, ensure_ascii=False),
        "document": document,
    }


@login_required
@require_http_methods(["GET", "POST"])
def chart_new_view(request: HttpRequest) -> HttpResponse:
    """The builder: choose a chart type and fields, see the preview, save."""
    source = request.POST if request.method == "POST" else request.GET
    form, table, kinds = _builder(request, source)
    status = 200
    if request.method == "POST" and "save" in request.POST and form.is_valid():
        data = form.cleaned_data
        try:
            chart = services.chart_create(
                actor=_actor(request), title=data["title"], document=document_from(data, kinds),
                description=data["description"], source=data["source"], sharing=data["sharing"],
            )  # fmt: skip
        except InvalidInput as exc:
            form.add_error(None, exc.message)
            status = 400
        else:
            messages.success(request, "グラフを保存しました。")
            return redirect("charts:detail", uuid=chart.uuid)
    context = {"form": form, "table": table, **_preview(request, form, kinds)}
    return render(request, "charts/chart_builder.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def chart_edit_view(request: HttpRequest, uuid: str) -> HttpResponse:
    """The builder for a saved chart (its owner or 管理); a stale edit answers 409 and says so."""
    actor = _actor(request)
    chart = chart_get(actor=actor, uuid=uuid)
    if not may_edit(actor, chart):
        raise PermissionDenied("グラフを変更できるのは作成者とデータ戦略課（管理）です。")
    saved = {**choices_from(chart.document), "title": chart.title, "description": chart.description,
             "source": chart.source, "sharing": chart.sharing, "lock_version": chart.lock_version}  # fmt: skip
    form, table, kinds = _builder(request, request.POST if request.method == "POST" else saved, saved=saved)
    status = 200
    if request.method == "POST" and "save" in request.POST and form.is_valid():
        data = form.cleaned_data
        try:
            services.chart_update(
                actor=actor, chart=chart, lock_version=data["lock_version"] or 0, title=data["title"],
                document=document_from(data, kinds), description=data["description"], source=data["source"],
                sharing=data["sharing"],
            )  # fmt: skip
        except InvalidInput as exc:
            form.add_error(None, exc.message)
            status = 400
        except Conflict as exc:
            form.add_error(None, exc.message)
            status = 409
        else:
            messages.success(request, "グラフを保存しました。")
            return redirect("charts:detail", uuid=chart.uuid)
    context = {"form": form, "table": table, "chart": chart, **_preview(request, form, kinds)}
    return render(request, "charts/chart_builder.html", context, status=status)


@require_GET
@login_required
def chart_preview_view(request: HttpRequest) -> HttpResponse:
    """The htmx partial: the preview for the builder's current choices."""
    form, _, kinds = _builder(request, request.GET)
    return render(request, "charts/_preview.html", _preview(request, form, kinds))


@require_GET
@login_required
def chart_detail_view(request: HttpRequest, uuid: str) -> HttpResponse:
    """One chart: drawn, its text alternative, "データを表で見る", the exports."""
    actor = _actor(request)
    chart = chart_get(actor=actor, uuid=uuid)
    try:
        rendered, error = chart_render(actor=actor, chart=chart), ""
    except InvalidInput as exc:
        rendered, error = None, exc.message
    field_name, column = click_target(chart.document)
    drill = ""
    if field_name and chart.table.current_version_id:
        base = reverse("catalog:table_detail", args=[chart.table.dataset.slug, chart.table.name])
        drill = f"{base}?filter={quote(column)}:eq:"
    return render(
        request,
        "charts/chart_detail.html",
        {"chart": chart, "rendered": rendered, "preview_error": error, "can_edit": may_edit(actor, chart),
         "spec_json": json.dumps(rendered.spec, ensure_ascii=False) if rendered else "",
         "click_field": field_name if drill else "", "drill_base": drill,
         "formats": [("png", "PNG画像"), ("svg", "SVG画像"), ("pdf", "PDF"), ("csv", "CSV（データ）"), ("xlsx", "Excel（データ）")],
         **share_context(actor, chart)},
    )  # fmt: skip


@require_POST
@login_required
def chart_delete_view(request: HttpRequest, uuid: str) -> HttpResponse:
    """Delete a chart (its owner or 管理)."""
    actor = _actor(request)
    chart = chart_get(actor=actor, uuid=uuid)
    services.chart_delete(actor=actor, chart=chart)
    messages.success(request, "グラフを削除しました。")
    return redirect("charts:list")


@require_GET
@login_required
def chart_export_view(request: HttpRequest, uuid: str, fmt: str) -> HttpResponse:
    """A chart as PNG/SVG/PDF, or its data as CSV/XLSX (audited)."""
    actor = _actor(request)
    chart = chart_get(actor=actor, uuid=uuid)
    content, content_type, ext = services.chart_export(actor=actor, chart=chart, fmt=fmt)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename=chart-{chart.uuid}.{ext}"
    return response


def _boundary_page(request: HttpRequest, form: BoundaryForm | None, status: int = 200) -> HttpResponse:
    page = Paginator(boundary_sets(), settings.MACHIDATA_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "charts/boundary_list.html", {"page_obj": page, "sets": page.object_list, "form": form},
        status=status,
    )  # fmt: skip


@require_GET
@login_required
def boundary_list_view(request: HttpRequest) -> HttpResponse:
    """The boundary sets (町丁・校区) every staff member can map with; 管理 sees the upload form."""
    return _boundary_page(request, BoundaryForm() if _actor(request).is_admin else None)


@require_POST
@login_required
def boundary_upload_view(request: HttpRequest) -> HttpResponse:
    """Upload a boundary file (データ戦略課（管理）); a bad file answers 400 with the reason, nothing stored."""
    actor = _actor(request)
    if not actor.is_admin:
        raise PermissionDenied("境界データを登録できるのはデータ戦略課（管理）です。")
    form = BoundaryForm(request.POST, request.FILES)
    if not form.is_valid():
        return _boundary_page(request, form, 400)
    data, upload = form.cleaned_data, form.cleaned_data["file"]
    try:
        if upload.size > BOUNDARY_MAX_BYTES:
            raise InvalidInput(f"ファイルが大きすぎます（上限{BOUNDARY_MAX_BYTES // 1024 // 1024}MB）。")
        version = services.boundary_upload(
            actor=actor, name=data["name"], data=upload.read(), attribution=data["attribution"],
            code_property=data["code_property"], name_property=data["name_property"],
            source_name=upload.name or "", description=data["description"],
        )  # fmt: skip
    except InvalidInput as exc:
        form.add_error(None, exc.message)
        return _boundary_page(request, form, 400)
    messages.success(
        request,
        f"「{version.boundary_set.name}」第{version.number}版を登録しました"
        f"（{len(version.features)}区域、頂点 {version.points_before:,} → {version.points_after:,}）。",
    )
    return redirect("charts:boundaries")
