"""Pages of the open-data import (オープンデータの取り込み), for データ戦略課 (管理) only: start, preview, run, result."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from machidata.access.policy import Actor
from machidata.collect import selectors
from machidata.collect.forms import OpenDataForm
from machidata.collect.opendata import FILE_LABELS, STATUS_LABELS, opendata_preview, opendata_start
from machidata.collect.remote import allowed_hosts
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied

SHOWN = 500


def _admin_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in 管理 only; everyone else gets 404 (the page is not theirs to know about)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not _actor(request).is_admin:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


@_admin_only
@require_http_methods(["GET", "POST"])
def opendata_start_page(request: HttpRequest) -> HttpResponse:
    """Choose the list file or the CKAN portal; reading it gives the preview (nothing is written yet)."""
    actor = _actor(request)
    form = OpenDataForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload = data.get("file")
        try:
            run = opendata_preview(
                actor=actor,
                origin=data["origin"],
                owner=data["owner"],
                content=b"".join(upload.chunks()) if upload and data["origin"] == "list" else b"",
                file_name=upload.name if upload else "",
                url=data.get("url") or "",
                organization=data.get("organization") or "",
                fetch_files=bool(data.get("fetch_files")),
                schedule=bool(data.get("schedule")),
            )
        except InvalidInput as exc:
            details = exc.details if isinstance(exc.details, dict) else {}
            placed = False
            for name in ("file", "url", "organization", "owner"):
                if name in details:
                    form.add_error(name, exc.message)
                    placed = True
                    break
            if not placed:
                form.add_error(None, exc.message)
        except (PermissionDenied, NotFound) as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("collect:opendata_detail", pk=run.pk)
    page = Paginator(selectors.opendata_runs(actor=actor), settings.MACHIDATA_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "collect/opendata.html",
        {"form": form, "page_obj": page, "runs": page.object_list, "url_hosts": allowed_hosts()},
    )


@_admin_only
@require_GET
def opendata_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The preview (what would be created, updated, left out and why) or, once run, the outcome."""
    run = selectors.opendata_run_get(actor=_actor(request), pk=pk)
    done = bool(run.finished_at)
    shown = (run.result if done else run.preview) or {}
    plans = list(shown.get("plans") or [])
    for plan in plans:
        plan["status_label"] = STATUS_LABELS.get(plan.get("status", ""), "")
        for f in plan.get("files") or []:
            f["action_label"] = FILE_LABELS.get(f.get("action", ""), "")
    counts = shown.get("counts") or {}
    return render(
        request,
        "collect/opendata_detail.html",
        {
            "run": run,
            "done": done,
            "running": bool(run.job_id) and not done,
            "plans": plans[:SHOWN],
            "more": max(0, len(plans) - SHOWN),
            "counts": [(STATUS_LABELS[k], counts.get(k, 0)) for k in STATUS_LABELS],
            "failed": [p for p in plans if p.get("status") == "failed"],
            "skipped_rows": (run.preview or {}).get("skipped") or [],
            "mapping": list(((run.preview or {}).get("mapping") or {}).items()),
            "header_row": (run.preview or {}).get("header_row"),
        },
    )


@_admin_only
@require_POST
def opendata_run(request: HttpRequest, pk: int) -> HttpResponse:
    """Start the import the preview showed, as a job with progress."""
    actor = _actor(request)
    run = selectors.opendata_run_get(actor=actor, pk=pk)
    try:
        job = opendata_start(actor=actor, run=run)
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("collect:opendata_detail", pk=run.pk)
    messages.success(request, "取り込みを始めました。進み具合はこのページで確かめられます。")
    return redirect("jobs:detail", pk=job.pk)
