"""Dashboard API (/api/v1/dashboards): list, get and export. Signed-in callers only; hidden dashboards answer 404.

A dashboard's charts are fetched through /api/v1/charts/{uuid}/spec, each with the caller's access.
"""

# No ``from __future__ import annotations`` here: @paginate re-reads the endpoint's annotations.
from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Router, Status
from ninja.pagination import paginate

from machidata.access.auth import api_staff
from machidata.charts import public, services, services_public
from machidata.charts.dashboard_filters import chosen_filters
from machidata.charts.models import Dashboard
from machidata.charts.schemas import DashboardOut, PublicStateOut, ShareRequestIn, ShareRequestOut
from machidata.charts.selectors import dashboard_get, dashboard_list
from machidata.core.pagination import Pages

router = Router(tags=["dashboards"])


@router.get("/", response=list[DashboardOut], summary="ダッシュボードの一覧")
@paginate(Pages, page_size=settings.MACHIDATA_PAGE_SIZE)
def list_dashboards(request: HttpRequest) -> QuerySet[Dashboard]:
    """Dashboards shared with the caller, newest change first."""
    return dashboard_list(actor=api_staff(request))


@router.get("/{uuid:dashboard_uuid}", response=DashboardOut, summary="ダッシュボードの定義")
def get_dashboard(request: HttpRequest, dashboard_uuid: str) -> Dashboard:
    """One dashboard's grid and filters."""
    return dashboard_get(actor=api_staff(request), uuid=dashboard_uuid)


@router.get("/{uuid:dashboard_uuid}/export/{fmt}", summary="ダッシュボードの書き出し（pdf, pptx）")
def export_dashboard(request: HttpRequest, dashboard_uuid: str, fmt: str) -> HttpResponse:
    """The dashboard as an A4 PDF or a PPTX (one slide per chart), exactly as its page's export (audited).

    The shared filters are the page's query parameters (``f0``, ``f0_from``/``f0_to`` …); each chart is read
    with the caller's access and suppressed as on the page; charts the caller may not read are left out.
    """
    actor = api_staff(request)
    dashboard = dashboard_get(actor=actor, uuid=dashboard_uuid)
    chosen, _ = chosen_filters(request.GET, dashboard.filters)
    content, content_type, ext = services.dashboard_export(
        actor=actor, dashboard=dashboard, fmt=fmt, chosen=chosen
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename=dashboard-{dashboard.uuid}.{ext}"
    return response


@router.post(
    "/{uuid:dashboard_uuid}/public-requests",
    response={201: ShareRequestOut},
    summary="ダッシュボードの公開申請",
)
def request_public(request: HttpRequest, dashboard_uuid: str, payload: ShareRequestIn) -> Status:
    """File a 公開申請 of the dashboard and every chart on it; refused with the reasons when a gate fails."""
    actor = api_staff(request)
    obj = dashboard_get(actor=actor, uuid=dashboard_uuid)
    return Status(201, services_public.share_request_create(actor=actor, obj=obj, reason=payload.reason))


@router.post(
    "/{uuid:dashboard_uuid}/public-withdrawal",
    response=PublicStateOut,
    summary="ダッシュボードの公開をやめる",
)
def withdraw_public(request: HttpRequest, dashboard_uuid: str, payload: ShareRequestIn) -> dict[str, str]:
    """Stop publishing the dashboard at once (its owner or 管理)."""
    actor = api_staff(request)
    obj = dashboard_get(actor=actor, uuid=dashboard_uuid)
    services_public.public_withdraw(actor=actor, obj=obj, reason=payload.reason)
    return {"public": public.public_state(obj)}
