"""Job pages: the list, one job with its progress (polled by htmx), and cancel."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from machidata.access.policy import Actor
from machidata.core.errors import Conflict, NotFound
from machidata.jobs.models import Job
from machidata.jobs.selectors import job_get, job_list
from machidata.jobs.services import job_cancel


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _job(request: HttpRequest, pk: int) -> Job:
    try:
        return job_get(actor=_actor(request), pk=pk)
    except NotFound:
        raise Http404 from None


@require_GET
@login_required
def job_list_view(request: HttpRequest) -> HttpResponse:
    """Jobs the actor started (管理: everyone's), newest first."""
    actor = _actor(request)
    page = Paginator(job_list(actor=actor), settings.MACHIDATA_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    encoded = query.urlencode()
    context = {
        "page_obj": page,
        "jobs": page.object_list,
        "total": page.paginator.count,
        "show_creator": actor.is_admin,
        "query_without_page": f"{encoded}&" if encoded else "",
    }
    return render(request, "jobs/job_list.html", context)


@require_GET
@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One job: status, progress bar and phase, result or error, and the cancel button."""
    return render(request, "jobs/job_detail.html", {"job": _job(request, pk)})


@never_cache
@require_GET
@login_required
def job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress block alone (htmx polls it every 2 s while the job is queued or running)."""
    return render(request, "jobs/_progress.html", {"job": _job(request, pk)})


@require_POST
@login_required
def job_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a job (queued: at once; running: at its next progress report)."""
    job = _job(request, pk)
    try:
        job = job_cancel(job=job, actor=_actor(request))
    except NotFound:
        raise Http404 from None
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            "処理を取り消しました。"
            if not job.is_active
            else "取消を依頼しました。処理は区切りのよいところで止まります。",
        )
    return redirect("jobs:detail", pk=pk)
