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
from machidata.collect.opendata import (
    FILE_LABELS,
    STATUS_LABELS,
    opendata_preview,
    opendata_remap,
    opendata_start,
)
from machidata.collect.opendata_publish import opendata_entries, opendata_request_publication
from machidata.collect.opendata_sources import COLUMN_LABELS
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
            "entries": opendata_entries(run) if done else [],
            "columns": _column_choices(run) if not done and not run.job_id else [],
            "column_labels": list(COLUMN_LABELS.items()),
            "publication": (run.result or {}).get("publication") or [],
        },
    )


def _column_choices(run: Any) -> list[dict[str, Any]]:
    """Each header of a previewed list with the list column it is read as ("" = not used), for the mapping form."""
    preview = run.preview or {}
    if not preview.get("rows"):
        return []
    mapping = preview.get("mapping") or {}
    return [
        {"index": i, "header": h, "target": mapping.get(h, "")}
        for i, h in enumerate(preview.get("headers") or [])
    ]


@_admin_only
@require_POST
def opendata_columns(request: HttpRequest, pk: int) -> HttpResponse:
    """Read the list again with its columns mapped by hand (the preview's 列の対応 form)."""
    actor = _actor(request)
    run = selectors.opendata_run_get(actor=actor, pk=pk)
    headers = list((run.preview or {}).get("headers") or [])
    mapping = {h: request.POST.get(f"map-{i}", "") for i, h in enumerate(headers)}
    try:
        opendata_remap(actor=actor, run=run, mapping=mapping)
    except (InvalidInput, Conflict) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "列の対応を直して、一覧を読み直しました。下の内容を確かめてください。")
    return redirect("collect:opendata_detail", pk=run.pk)


@_admin_only
@require_POST
def opendata_publish(request: HttpRequest, pk: int) -> HttpResponse:
    """File a 公開申請 for the chosen imported datasets at once (each through the publication service)."""
    actor = _actor(request)
    run = selectors.opendata_run_get(actor=actor, pk=pk)
    try:
        outcomes = opendata_request_publication(
            actor=actor,
            run=run,
            keys=request.POST.getlist("keys"),
            attribution=request.POST.get("attribution", ""),
        )
    except (InvalidInput, Conflict, NotFound, PermissionDenied) as exc:
        messages.error(request, exc.message)
    else:
        done = sum(o["status"] == "requested" for o in outcomes)
        left = len(outcomes) - done
        messages.success(
            request,
            f"{done}件を公開申請しました。"
            + (f"{left}件は申請していません（理由は下の表にあります）。" if left else "")
            + "決裁は各データセットの公開申請の画面で進みます。",
        )
    return redirect("collect:opendata_detail", pk=run.pk)


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
