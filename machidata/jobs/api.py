"""Job API (/api/v1/jobs): list, detail and cancel. Signed-in callers only; hidden jobs answer 404."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from machidata.access.auth import api_staff
from machidata.core.pagination import Pages
from machidata.jobs.models import Job
from machidata.jobs.schemas import JobOut
from machidata.jobs.selectors import job_get, job_list
from machidata.jobs.services import job_cancel

router = Router(tags=["jobs"])


@router.get("/", response=list[JobOut], summary="処理の一覧")
@paginate(Pages, page_size=settings.MACHIDATA_PAGE_SIZE)
def list_jobs(request: HttpRequest) -> QuerySet[Job]:
    """Jobs the caller started (管理: everyone's), newest first."""
    return job_list(actor=api_staff(request))


@router.get("/{int:job_id}", response=JobOut, summary="処理の状況")
def get_job(request: HttpRequest, job_id: int) -> Job:
    """One job with its progress, result or error."""
    return job_get(actor=api_staff(request), pk=job_id)


@router.post("/{int:job_id}/cancel", response=JobOut, summary="処理の取消")
def cancel_job(request: HttpRequest, job_id: int) -> Job:
    """Cancel a queued job at once, or ask a running one to stop at its next progress report."""
    actor = api_staff(request)
    return job_cancel(job=job_get(actor=actor, pk=job_id), actor=actor)
