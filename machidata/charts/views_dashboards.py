"""Dashboard pages: the list, a new dashboard, one dashboard (grid, shared filters) and its item forms."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from machidata.access.policy import Actor
from machidata.charts import services
from machidata.charts.dashboard_filters import chosen_filters
from machidata.charts.forms import AddChartForm, AddTextForm, DashboardEditForm, DashboardForm
from machidata.charts.selectors import (
    chart_list,
    dashboard_get,
    dashboard_list,
    dashboard_render,
    may_edit_dashboard,
)
from machidata.charts.views_share import share_context
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied


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
        try:
            dashboard = services.dashboard_create(
                actor=_actor(request), title=data["title"], description=data["description"], sharing=data["sharing"],
                filters=form.filters(),
            )  # fmt: skip
        except InvalidInput as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "ダッシュボードを作りました。グラフを追加してください。")
            return redirect("charts:dashboard", uuid=dashboard.uuid)
    return render(
        request, "charts/dashboard_form.html", {"form": form}, status=400 if request.method == "POST" else 200
    )


@require_GET
@login_required
def dashboard_detail_view(request: HttpRequest, uuid: str) -> HttpResponse:
    """One dashboard: its charts on a grid, each read with the viewer's access, the shared filters applied."""
    actor = _actor(request)
    dashboard = dashboard_get(actor=actor, uuid=uuid)
    chosen, filter_fields = chosen_filters(request.GET, dashboard.filters)
    panels = dashboard_render(actor=actor, dashboard=dashboard, chosen=chosen)
    services.dashboard_view_record(actor=actor, dashboard=dashboard)
    can_edit = may_edit_dashboard(actor, dashboard)
    context: dict[str, Any] = {
        "dashboard": dashboard,
        "panels": panels,
        "filter_fields": filter_fields,
        "can_edit": can_edit,
        # the exports carry the filters on screen
        "export_query": f"?{request.GET.urlencode()}" if request.GET else "",
        "moves": services.ITEM_MOVES,
    }
    if can_edit:
        charts = [(str(c.uuid), c.title) for c in chart_list(actor=actor)[:200]]
        context["add_chart"] = AddChartForm(initial={"lock_version": dashboard.lock_version}, charts=charts)
        context["add_text"] = AddTextForm(initial={"lock_version": dashboard.lock_version})
    context.update(share_context(actor, dashboard))
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


@login_required
@require_http_methods(["GET", "POST"])
def dashboard_edit_view(request: HttpRequest, uuid: str) -> HttpResponse:
    """Change a dashboard's title, description, sharing and filters (its owner or 管理)."""
    actor = _actor(request)
    dashboard = dashboard_get(actor=actor, uuid=uuid)
    if not may_edit_dashboard(actor, dashboard):
        raise PermissionDenied("ダッシュボードを変更できるのは作成者とデータ戦略課（管理）です。")
    form = DashboardEditForm(request.POST or None, initial=DashboardEditForm.initial_for(dashboard))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.dashboard_update(
                    actor=actor, dashboard=dashboard, lock_version=data["lock_version"], title=data["title"],
                    description=data["description"], sharing=data["sharing"], filters=form.filters(),
                )  # fmt: skip
            except InvalidInput as exc:
                form.add_error(None, exc.message)
            except Conflict as exc:
                form.add_error(None, exc.message)
                status = 409
            else:
                messages.success(request, "ダッシュボードの設定を保存しました。")
                return redirect("charts:dashboard", uuid=dashboard.uuid)
    return render(
        request, "charts/dashboard_form.html", {"form": form, "dashboard": dashboard}, status=status
    )


@require_POST
@login_required
def dashboard_item_view(request: HttpRequest, uuid: str, index: int, move: str) -> HttpResponse:
    """Move an item one place earlier or later, or make it wider or narrower (buttons that work by keyboard)."""
    actor = _actor(request)
    dashboard = dashboard_get(actor=actor, uuid=uuid)
    if move not in services.ITEM_MOVES:
        raise NotFound("その操作はできません。")
    try:
        board = services.dashboard_move_item(
            actor=actor, dashboard=dashboard, lock_version=_lock(request), index=index, move=move
        )
    except (InvalidInput, Conflict) as exc:
        messages.error(request, exc.message)
        return redirect("charts:dashboard", uuid=dashboard.uuid)
    target = {"up": index - 1, "down": index + 1}.get(move, index)
    target = max(0, min(target, len(board.items) - 1))
    messages.success(request, f"{services.ITEM_MOVES[move]}しました。")
    # back to the item moved, with the focus on the same button (so a keyboard user can press it again)
    return redirect(f"{reverse('charts:dashboard', args=[dashboard.uuid])}#moved-{target}-{move}")


@require_GET
@login_required
def dashboard_export_view(request: HttpRequest, uuid: str, fmt: str) -> HttpResponse:
    """The dashboard as A4 PDF or PPTX, with the filters on screen (audited)."""
    actor = _actor(request)
    dashboard = dashboard_get(actor=actor, uuid=uuid)
    chosen, _ = chosen_filters(request.GET, dashboard.filters)
    content, content_type, ext = services.dashboard_export(
        actor=actor, dashboard=dashboard, fmt=fmt, chosen=chosen
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename=dashboard-{dashboard.uuid}.{ext}"
    return response
