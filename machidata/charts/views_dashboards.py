"""Dashboard pages: the list, a new dashboard, one dashboard (grid, shared filters) and its item forms."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from machidata.access.policy import Actor
from machidata.charts import services
from machidata.charts.forms import AddChartForm, AddTextForm, DashboardForm
from machidata.charts.models import Dashboard
from machidata.charts.selectors import (
    chart_list,
    dashboard_get,
    dashboard_list,
    dashboard_render,
    may_edit_dashboard,
)
from machidata.core.errors import Conflict, InvalidInput


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


@require_GET
@login_required
def dashboard_list_view(request: HttpRequest) -> HttpResponse:
    """The dashboards shared with the actor."""
    page = Paginator(dashboard_list(actor=_actor(request)), settings.MACHIDATA_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "charts/dashboard_list.html",
        {"page_obj": page, "dashboards": page.object_list, "query_without_page": ""},
    )


@login_required
@require_http_methods(["GET", "POST"])
def dashboard_new_view(request: HttpRequest) -> HttpResponse:
    """Make an empty dashboard, then add charts to it on its page."""
    form = DashboardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        filters = [
            {"column": data["value_filter"], "kind": "value"},
            {"column": data["date_filter"], "kind": "date_range"},
        ]
        try:
            dashboard = services.dashboard_create(
                actor=_actor(request), title=data["title"], description=data["description"], sharing=data["sharing"],
                filters=[f for f in filters if f["column"]],
            )  # fmt: skip
        except InvalidInput as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "ダッシュボードを作りました。グラフを追加してください。")
            return redirect("charts:dashboard", uuid=dashboard.uuid)
    return render(
        request, "charts/dashboard_form.html", {"form": form}, status=400 if request.method == "POST" else 200
    )


def _chosen(request: HttpRequest, dashboard: Dashboard) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The filter values the viewer chose (``f0``, ``f0_from``/``f0_to``) and the filter form's fields."""
    chosen: dict[str, Any] = {}
    fields = []
    for i, f in enumerate(dashboard.filters):
        column, kind = str(f["column"]), str(f["kind"])
        if kind == "date_range":
            start, end = request.GET.get(f"f{i}_from", "")[:10], request.GET.get(f"f{i}_to", "")[:10]
            chosen[column] = (start or None, end or None)
            fields.append({"i": i, "column": column, "kind": kind, "start": start, "end": end})
        else:
            value = request.GET.get(f"f{i}", "")[:200]
            chosen[column] = value or None
            fields.append({"i": i, "column": column, "kind": kind, "value": value})
    return chosen, fields


@require_GET
@login_required
def dashboard_detail_view(request: HttpRequest, uuid: str) -> HttpResponse:
    """One dashboard: its charts on a grid, each read with the viewer's access, the shared filters applied."""
    actor = _actor(request)
    dashboard = dashboard_get(actor=actor, uuid=uuid)
    chosen, filter_fields = _chosen(request, dashboard)
    panels = dashboard_render(actor=actor, dashboard=dashboard, chosen=chosen)
    can_edit = may_edit_dashboard(actor, dashboard)
    context: dict[str, Any] = {
        "dashboard": dashboard,
        "panels": panels,
        "filter_fields": filter_fields,
        "can_edit": can_edit,
    }
    if can_edit:
        charts = [(str(c.uuid), c.title) for c in chart_list(actor=actor)[:200]]
        context["add_chart"] = AddChartForm(initial={"lock_version": dashboard.lock_version}, charts=charts)
        context["add_text"] = AddTextForm(initial={"lock_version": dashboard.lock_version})
    return render(request, "charts/dashboard_detail.html", context)


def _edit(request: HttpRequest, uuid: str, action: Any, done: str) -> HttpResponse:
    actor = _actor(request)
    dashboard = dashboard_get(actor=actor, uuid=uuid)
    try:
        action(actor, dashboard)
    except (InvalidInput, Conflict) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("charts:dashboard", uuid=dashboard.uuid)


def _lock(request: HttpRequest) -> int:
    try:
        return int(request.POST.get("lock_version", "0"))
    except ValueError:
        return 0


@require_POST
@login_required
def dashboard_add_chart_view(request: HttpRequest, uuid: str) -> HttpResponse:
    """Add a chart to the grid."""
    width = int(request.POST.get("width") or 6) if str(request.POST.get("width") or "6").isdigit() else 6
    return _edit(request, uuid, lambda a, d: services.dashboard_add_chart(
        actor=a, dashboard=d, lock_version=_lock(request), chart_uuid=request.POST.get("chart", ""), width=width), "グラフを追加しました。")  # fmt: skip


@require_POST
@login_required
def dashboard_add_text_view(request: HttpRequest, uuid: str) -> HttpResponse:
    """Add a text block to the grid."""
    width = int(request.POST.get("width") or 12) if str(request.POST.get("width") or "12").isdigit() else 12
    return _edit(request, uuid, lambda a, d: services.dashboard_add_text(
        actor=a, dashboard=d, lock_version=_lock(request), text=request.POST.get("text", ""), width=width), "文章を追加しました。")  # fmt: skip


@require_POST
@login_required
def dashboard_remove_view(request: HttpRequest, uuid: str, index: int) -> HttpResponse:
    """Take an item off the grid."""
    return _edit(request, uuid, lambda a, d: services.dashboard_remove_item(
        actor=a, dashboard=d, lock_version=_lock(request), index=index), "外しました。")  # fmt: skip


@require_GET
@login_required
def dashboard_export_view(request: HttpRequest, uuid: str, fmt: str) -> HttpResponse:
    """The dashboard as A4 PDF or PPTX, with the filters on screen (audited)."""
    actor = _actor(request)
    dashboard = dashboard_get(actor=actor, uuid=uuid)
    chosen, _ = _chosen(request, dashboard)
    content, content_type, ext = services.dashboard_export(
        actor=actor, dashboard=dashboard, fmt=fmt, chosen=chosen
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename=dashboard-{dashboard.uuid}.{ext}"
    return response
