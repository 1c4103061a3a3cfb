"""Chart API (/api/v1/charts): list, create, get, spec, export. Signed-in callers only; hidden charts answer 404."""

# No ``from __future__ import annotations`` here: @paginate re-reads the list endpoint's parameter
# annotations in django-ninja's own namespace.
from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Router, Status
from ninja.pagination import paginate

from machidata.access.auth import api_staff
from machidata.charts import public, services, services_public
from machidata.charts.models import Chart
from machidata.charts.schemas import (
    ChartDetailOut,
    ChartIn,
    ChartOut,
    PublicStateOut,
    ShareRequestIn,
    ShareRequestOut,
    SpecOut,
)
from machidata.charts.selectors import chart_get, chart_list, chart_render
from machidata.core.pagination import Pages

router = Router(tags=["charts"])


@router.get("/", response=list[ChartOut], summary="グラフの一覧")
@paginate(Pages, page_size=settings.MACHIDATA_PAGE_SIZE)
def list_charts(request: HttpRequest, scope: str = "all") -> QuerySet[Chart]:
    """Charts the caller may see (shared with them and whose table they may read), newest change first."""
    return chart_list(actor=api_staff(request), scope=scope)


@router.post("/", response={201: ChartDetailOut}, summary="グラフを保存する")
def create_chart(request: HttpRequest, payload: ChartIn) -> Status:
    """Save a chart document (the caller must be able to read its table)."""
    actor = api_staff(request)
    chart = services.chart_create(actor=actor, **payload.dict())
    return Status(201, chart_get(actor=actor, uuid=chart.uuid))


@router.get("/{uuid:chart_uuid}", response=ChartDetailOut, summary="グラフの定義")
def get_chart(request: HttpRequest, chart_uuid: str) -> Chart:
    """One chart with its document."""
    return chart_get(actor=api_staff(request), uuid=chart_uuid)


@router.get("/{uuid:chart_uuid}/spec", response=SpecOut, summary="グラフの Vega-Lite 仕様（データ込み）")
def get_spec(request: HttpRequest, chart_uuid: str) -> dict[str, object]:
    """The Vega-Lite spec with inline data read now with the caller's access."""
    actor = api_staff(request)
    rendered = chart_render(actor=actor, chart=chart_get(actor=actor, uuid=chart_uuid))
    return {"spec": rendered.spec, "description": rendered.description}


@router.get("/{uuid:chart_uuid}/export/{fmt}", summary="グラフの書き出し（png, svg, pdf, csv, xlsx）")
def export_chart(request: HttpRequest, chart_uuid: str, fmt: str) -> HttpResponse:
    """The chart drawn on the server, or its data as a file (audited)."""
    actor = api_staff(request)
    content, content_type, ext = services.chart_export(
        actor=actor, chart=chart_get(actor=actor, uuid=chart_uuid), fmt=fmt
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename=chart-{chart_uuid}.{ext}"
    return response


@router.post(
    "/{uuid:chart_uuid}/public-requests", response={201: ShareRequestOut}, summary="グラフの公開申請"
)
def request_public(request: HttpRequest, chart_uuid: str, payload: ShareRequestIn) -> Status:
    """File a 公開申請 (owner, an 編集 of its 課, or 管理); refused with the reasons when a gate fails."""
    actor = api_staff(request)
    obj = chart_get(actor=actor, uuid=chart_uuid)
    return Status(201, services_public.share_request_create(actor=actor, obj=obj, reason=payload.reason))


@router.post("/{uuid:chart_uuid}/public-withdrawal", response=PublicStateOut, summary="グラフの公開をやめる")
def withdraw_public(request: HttpRequest, chart_uuid: str, payload: ShareRequestIn) -> dict[str, str]:
    """Stop publishing the chart at once (its owner or 管理)."""
    actor = api_staff(request)
    obj = chart_get(actor=actor, uuid=chart_uuid)
    services_public.public_withdraw(actor=actor, obj=obj, reason=payload.reason)
    return {"public": public.public_state(obj)}
