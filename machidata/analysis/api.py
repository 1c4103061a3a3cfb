"""Analysis API (/api/v1/analyses): run a design on a table, list my analyses, fetch one.

Signed-in staff only (401 otherwise); someone else's analysis answers 404.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from machidata.access.auth import api_staff
from machidata.analysis import selectors, services
from machidata.analysis.models import Analysis
from machidata.analysis.power import sample_size as plan_sample_size
from machidata.analysis.schemas import AnalysisOut, AnalysisRunIn, AnalysisSampleSizeIn, AnalysisSampleSizeOut
from machidata.core.pagination import LazyPage, Pages

router = Router(tags=["analyses"])


def _out(analysis: Analysis) -> dict[str, Any]:
    return {
        "id": analysis.pk,
        "title": analysis.title,
        "design": analysis.design,
        "status": analysis.status,
        "error": analysis.error,
        "table_id": analysis.table_id,
        "table_version": analysis.table_version.number if analysis.table_version is not None else None,
        "spec": analysis.spec,
        "result": analysis.result,
        "library_versions": analysis.library_versions,
        "job_id": analysis.job_id,
        "progress": _progress(analysis),
        "created_at": analysis.created_at,
    }


def _progress(analysis: Analysis) -> dict[str, Any] | None:
    job = analysis.job
    if job is None:
        return None
    return {
        "job_status": job.status,
        "done": job.progress_done,
        "total": job.progress_total,
        "percent": job.percent,
        "phase": job.phase,
        "error": job.error,
    }


@router.get("/", response=list[AnalysisOut], summary="保存した分析の一覧")
@paginate(Pages, page_size=settings.MACHIDATA_PAGE_SIZE)
def list_analyses(request: HttpRequest) -> Any:
    """My analyses (管理: all) on tables I may still read, newest first, a page at a time."""
    return LazyPage(selectors.analysis_list(actor=api_staff(request)), _out)


@router.post("/", response={201: AnalysisOut}, summary="分析を実行して保存する")
def run_analysis(request: HttpRequest, payload: AnalysisRunIn) -> Status:
    """Run the design; a design the data cannot support answers 400 with the Japanese reasons in ``details``.

    Long analyses (synthetic control, hourly forecasts, large data) run as a job: the answer has
    ``status: running``, ``job_id`` and ``progress``; poll ``GET /api/v1/analyses/{id}`` (or
    ``/api/v1/jobs/{job_id}``) until ``status`` is ``done`` (with ``result``) or ``failed`` (with ``error``).
    """
    actor = api_staff(request)
    table = selectors.analysable_table(actor=actor, pk=payload.table_id)
    analysis = services.analysis_run(actor=actor, table=table, title=payload.title, spec=payload.spec)
    return Status(201, _out(selectors.analysis_get(actor=actor, pk=analysis.pk)))


@router.get("/{int:analysis_id}", response=AnalysisOut, summary="保存した分析")
def get_analysis(request: HttpRequest, analysis_id: int) -> dict[str, Any]:
    """One analysis with its result."""
    return _out(selectors.analysis_get(actor=api_staff(request), pk=analysis_id))


@router.post("/sample-size", response=AnalysisSampleSizeOut, summary="試行に必要な対象数")
def sample_size(request: HttpRequest, payload: AnalysisSampleSizeIn) -> dict[str, Any]:
    """Rows per group for a randomised trial (statsmodels.stats.power); nothing is saved."""
    api_staff(request)
    result = plan_sample_size(**payload.dict())
    return {
        "estimate": result.estimate,
        "n_treated": result.details["n_treated"],
        "n_control": result.details["n_control"],
        "test": result.test,
        "interpretation": result.interpretation,
        "versions": result.versions,
    }
