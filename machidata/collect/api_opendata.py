"""Open-data import API (/api/v1/opendata): read a CKAN portal into a preview, start the import, see the outcome.

データ戦略課 (管理) only: other signed-in staff get 403, anonymous callers 401. The list file (CSV/Excel)
is read on the page (``/collect/opendata/``); the API takes a CKAN portal, which scripts can repeat.
"""

# No ``from __future__ import annotations`` here: @paginate re-reads the list endpoints' parameter
# annotations in django-ninja's own namespace.
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from machidata.access.auth import api_staff
from machidata.access.models import Unit
from machidata.access.policy import Actor
from machidata.collect import selectors
from machidata.collect.models import OpenDataOrigin, OpenDataRun
from machidata.collect.opendata import opendata_preview, opendata_start
from machidata.collect.schemas import OpenDataCkanIn, OpenDataRunOut
from machidata.core.errors import InvalidInput, PermissionDenied
from machidata.core.pagination import Pages

router = Router(tags=["opendata"])
MAX_LISTED = 1000


def _admin(request: HttpRequest) -> Actor:
    actor = api_staff(request)
    if not actor.is_admin:
        raise PermissionDenied("オープンデータの取り込みは、データ戦略課（管理）だけが行えます。")
    return actor


def _out(run: OpenDataRun) -> dict[str, Any]:
    done = run.finished_at is not None
    shown = (run.result if done else run.preview) or {}
    return {
        "id": run.pk,
        "origin": run.origin,
        "source": run.source,
        "scope": run.scope,
        "owner": run.owner.code,
        "fetch_files": run.fetch_files,
        "schedule": run.schedule,
        "datasets": len(run.listed or []),
        "state": "done" if done else ("running" if run.job_id else "previewed"),
        "job": run.job_id,
        "counts": shown.get("counts") or {},
        "plans": shown.get("plans") or [],
        "created_at": run.created_at,
        "finished_at": run.finished_at,
    }


@router.get("/", response=list[OpenDataRunOut], summary="オープンデータの取り込みの一覧")
@paginate(Pages, page_size=settings.MACHIDATA_PAGE_SIZE)
def list_runs(request: HttpRequest) -> list[dict[str, Any]]:
    """Open-data imports, newest first (管理 only; the plans are on each run's own operation)."""
    runs = selectors.opendata_runs(actor=_admin(request))[:MAX_LISTED]
    return [{**_out(run), "plans": []} for run in runs]


@router.post(
    "/ckan", response={201: OpenDataRunOut}, summary="CKANポータルを読み込んで確認する（取り込みも）"
)
def create_ckan_run(request: HttpRequest, payload: OpenDataCkanIn) -> Status:
    """Read the portal's packages and plan them (nothing written); with ``run`` the import starts as a job."""
    actor = _admin(request)
    owner = Unit.objects.active_on().filter(code=payload.owner).first()
    if owner is None:
        raise InvalidInput(
            f"所管課「{payload.owner}」が現在の組織にありません。", details={"owner": ["見つかりません。"]}
        )
    run = opendata_preview(
        actor=actor,
        origin=OpenDataOrigin.CKAN,
        owner=owner,
        url=payload.url,
        organization=payload.organization,
        fetch_files=payload.fetch_files,
        schedule=payload.schedule,
    )
    if payload.run:
        opendata_start(actor=actor, run=run)
    return Status(201, _out(selectors.opendata_run_get(actor=actor, pk=run.pk)))


@router.get("/{run_id}", response=OpenDataRunOut, summary="オープンデータの取り込み（確認・結果）")
def get_run(request: HttpRequest, run_id: int) -> dict[str, Any]:
    """The preview, or once run the outcome, per dataset with the reasons in Japanese."""
    return _out(selectors.opendata_run_get(actor=_admin(request), pk=run_id))


@router.post("/{run_id}/run", response={202: OpenDataRunOut}, summary="確認した取り込みを始める")
def start_run(request: HttpRequest, run_id: int) -> Status:
    """Start the import the preview showed (once; 409 when it was started already)."""
    actor = _admin(request)
    run = selectors.opendata_run_get(actor=actor, pk=run_id)
    opendata_start(actor=actor, run=run)
    return Status(202, _out(selectors.opendata_run_get(actor=actor, pk=run.pk)))
