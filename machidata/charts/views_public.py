"""Public pages of charts and dashboards (no sign-in) under /open/: the list, each chart, each dashboard
(with its filters and cross-filter), and a public chart's PNG/SVG/CSV.

Every visitor sees the same thing, signed in or not: only what an approved 公開申請 published, drawn as the
anonymous public from the published version of each source table (:mod:`machidata.charts.public`); a chart
whose table is no longer published is 404 here and leaves the list.
"""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from machidata.charts import public
from machidata.charts.services_public import PUBLIC_EXPORTS, public_chart_export
from machidata.core.errors import NotFound

EXPORT_LABELS = {"png": "PNG画像", "svg": "SVG画像", "csv": "CSV（データ）"}


@require_GET
def public_list_view(request: HttpRequest) -> HttpResponse:
    """公開グラフ・ダッシュボード: every published chart and dashboard whose tables are published now."""
    page = Paginator(public.public_list(), settings.MACHIDATA_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "charts/public/list.html", {"page": page})


@require_GET
def public_chart_view(request: HttpRequest, uuid: str) -> HttpResponse:
    """One public chart: drawn, its text alternative, the data as a table, 出典 and licence, the exports."""
    try:
        share, chart = public.public_chart(uuid)
    except NotFound:
        raise Http404("公開されているグラフが見つかりません。") from None
    exports = [(code, EXPORT_LABELS[code]) for code in PUBLIC_EXPORTS]
    return render(request, "charts/public/chart.html", {"share": share, "chart": chart, "exports": exports})


@require_GET
def public_chart_export_view(request: HttpRequest, uuid: str, fmt: str) -> HttpResponse:
    """A public chart as PNG or SVG, or its data as CSV (from the published version; audited)."""
    try:
        content, content_type, ext, _ = public_chart_export(uuid=uuid, fmt=fmt)
    except NotFound:
        raise Http404("公開されているグラフが見つかりません。") from None
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename=chart-{uuid}.{ext}"
    return response


@require_GET
def public_dashboard_view(request: HttpRequest, uuid: str) -> HttpResponse:
    """One public dashboard: its charts and text blocks on the grid, each with its 出典 and licence; the
    dashboard's filters (``f0``, ``f0_from``/``f0_to`` … as on the staff page) narrow every chart with the column."""
    try:
        board = public.public_dashboard(uuid, request.GET)
    except NotFound:
        raise Http404("公開されているダッシュボードが見つかりません。") from None
    return render(request, "charts/public/dashboard.html", {
        "share": board.share, "panels": board.panels, "filter_fields": board.filter_fields,
        "filtering": board.filtering,
    })  # fmt: skip
