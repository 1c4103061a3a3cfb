"""Dashboard API (/api/v1/dashboards): list and get. Signed-in callers only; hidden dashboards answer 404.

A dashboard's charts are fetched through /api/v1/charts/{uuid}/spec, each with the caller's access.
"""

# No ``from __future__ import annotations`` here: @paginate re-reads the endpoint's annotations.
from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from machidata.access.auth import api_staff
from machidata.charts.models import Dashboard
from machidata.charts.schemas import DashboardOut
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
