"""仮名加工・匿名加工 API (/api/v1/deid): plans and their runs.

Signed-in callers only (401 otherwise); plans the caller may not see answer 404. Extracts are put
through a plan on its page (a file upload); the API reads the results.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from machidata.access.auth import api_staff
from machidata.access.policy import Action, access_dataset
from machidata.core.errors import InvalidInput
from machidata.core.pagination import Pages
from machidata.deid import selectors, services
from machidata.deid.models import DeidPlan, DeidRun
from machidata.deid.schemas import DeidPlanIn, DeidPlanOut, DeidRunOut

router = Router(tags=["deid"])


def _plan_out(p: DeidPlan) -> dict[str, Any]:
    return {
        "id": p.pk, "dataset": p.dataset.slug, "table_name": p.table_name, "title": p.title, "kind": p.kind,
        "kind_label": p.get_kind_display(), "source_dataset": p.source_dataset.slug if p.source_dataset else "",
        "identifiers": p.identifiers, "quasi": p.quasi, "drop": p.drop, "top_code": p.top_code,
        "unusual_note": p.unusual_note, "k": p.k, "created_at": p.created_at,
    }  # fmt: skip


def _run_out(r: DeidRun, record: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": r.pk, "plan": r.plan_id, "status": r.status, "status_label": r.get_status_display(),
        "as_of": r.as_of, "source_name": r.source_name, "rows_in": r.rows_in, "rows_out": r.rows_out,
        "k_found": r.k_found, "version": r.version.number if r.version else None, "complete": r.complete,
        "checks": r.checks, "message": r.message, "created_at": r.created_at, "record": record,
    }  # fmt: skip


@router.get("/plans", response=list[DeidPlanOut], summary="加工の設定の一覧")
@paginate(Pages, page_size=settings.MACHIDATA_PAGE_SIZE)
def list_plans(request: HttpRequest) -> list[dict[str, Any]]:
    """Plans on datasets the caller may read (all of them for the privacy officer), newest first."""
    plans: QuerySet[DeidPlan] = selectors.plans_for(actor=api_staff(request)).order_by("-updated_at", "-id")
    return [_plan_out(p) for p in plans]


@router.post("/plans", response={201: DeidPlanOut}, summary="加工の設定を作る")
def create_plan(request: HttpRequest, payload: DeidPlanIn) -> Status:
    """A new plan writing into a 仮名加工情報 / 匿名加工情報 dataset the caller may edit."""
    actor = api_staff(request)
    dataset = access_dataset(actor, Action.EDIT, slug=payload.dataset)
    source = None
    if payload.source_dataset:
        source = selectors.source_datasets(actor=actor).filter(slug=payload.source_dataset).first()
        if source is None:
            raise InvalidInput(
                "元データに指定できるのは、個人情報を含むデータセットです。", details={"source_dataset": ""}
            )
    data = payload.dict()
    for key in ("dataset", "source_dataset"):
        data.pop(key)
    plan = services.plan_create(actor=actor, dataset=dataset, source_dataset=source, **data)
    return Status(201, _plan_out(selectors.plan_get(actor=actor, pk=plan.pk)))


@router.get("/plans/{int:plan_id}", response=DeidPlanOut, summary="加工の設定")
def get_plan(request: HttpRequest, plan_id: int) -> dict[str, Any]:
    """One plan the caller may see."""
    return _plan_out(selectors.plan_get(actor=api_staff(request), pk=plan_id))


@router.get("/plans/{int:plan_id}/runs", response=list[DeidRunOut], summary="加工の実行記録の一覧")
@paginate(Pages, page_size=settings.MACHIDATA_PAGE_SIZE)
def list_runs(request: HttpRequest, plan_id: int) -> list[dict[str, Any]]:
    """The plan's runs, newest first (without the 加工方法等情報)."""
    actor = api_staff(request)
    plan = selectors.plan_get(actor=actor, pk=plan_id)
    return [_run_out(r) for r in selectors.runs_of(actor=actor, plan=plan)]


@router.get("/runs/{int:run_id}", response=DeidRunOut, summary="加工の実行記録")
def get_run(request: HttpRequest, run_id: int) -> dict[str, Any]:
    """One run with its checks; the 加工方法等情報 only for the privacy officer."""
    actor = api_staff(request)
    run = selectors.run_get(actor=actor, pk=run_id)
    return _run_out(run, selectors.processing_record(actor=actor, run=run))
