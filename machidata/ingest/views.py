"""The ingest pages: upload → preview what was detected (adjustable) → start the job → its progress page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from machidata.access.policy import Action, access_dataset, can
from machidata.catalog.models import Table
from machidata.catalog.table_names import table_name_for
from machidata.core.errors import Conflict, InvalidInput, NotFound
from machidata.ingest import services
from machidata.ingest.forms import OptionsForm, OverridesForm, UploadForm
from machidata.ingest.overrides import clean_overrides, describe
from machidata.ingest.screen import MyNumberDetected

SESSION_KEY = "machidata.ingest.pending"


def _dataset(request: HttpRequest, slug: str) -> Any:
    actor = request.actor  # type: ignore[attr-defined]
    try:
        dataset = access_dataset(actor, Action.DISCOVER, slug=slug)
    except NotFound:
        raise Http404 from None
    if not can(actor, Action.EDIT, dataset) or dataset.is_retired:
        raise Http404
    return dataset


@login_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest, slug: str) -> HttpResponse:
    """Step 1: choose the file and the table."""
    dataset = _dataset(request, slug)
    tables = [(t.name, t.title) for t in Table.objects.filter(dataset=dataset).order_by("name")]
    form = UploadForm(request.POST or None, request.FILES or None, tables=tables)
    if request.method == "POST" and form.is_valid():
        uploaded = form.cleaned_data["file"]
        try:
            stored = services.store_upload(uploaded, name=uploaded.name)
        except InvalidInput as exc:
            form.add_error("file", exc.message)
        else:
            request.session[SESSION_KEY] = {
                "dataset": dataset.slug,
                "file": stored.name,
                "source_name": uploaded.name[:300],
                "table": form.cleaned_data["table"],
                "new_table_title": form.cleaned_data["new_table_title"],
                "mode": form.cleaned_data["mode"],
                "note": form.cleaned_data["note"],
                "options": {},
            }
            return redirect("catalog:ingest_preview", slug=dataset.slug)
    return render(request, "ingest/upload.html", {"dataset": dataset, "form": form})


def _pending(request: HttpRequest, dataset: Any) -> dict[str, Any]:
    pending = request.session.get(SESSION_KEY)
    if not pending or pending.get("dataset") != dataset.slug:
        raise Http404
    path = services.uploads_dir() / Path(pending["file"]).name  # only a name from our own session
    if not path.is_file():
        raise Http404
    pending["path"] = path
    return pending


@login_required
@require_http_methods(["GET", "POST"])
def preview(request: HttpRequest, slug: str) -> HttpResponse:
    """Step 2: what was detected and how the first rows read; adjust and start."""
    from machidata.ingest.preview import preview_file

    dataset = _dataset(request, slug)
    pending = _pending(request, dataset)
    options = dict(pending.get("options") or {})
    overrides = dict(pending.get("overrides") or {})
    sheet_names: list[str] = []
    override_error = ""
    if request.method == "POST":
        form = OptionsForm(request.POST, sheet_names=pending.get("sheet_names") or [])
        shown = pending.get("shown") or {}
        ov_form = OverridesForm(request.POST, columns=shown.get("columns"), markers=shown.get("markers"))
        if form.is_valid() and ov_form.is_valid():
            options = form.read_options()
            try:
                overrides = clean_overrides(ov_form.read_overrides(previous=overrides))
            except InvalidInput as exc:
                override_error = exc.message
            pending["options"] = options
            pending["overrides"] = overrides
            _save(request, pending)
            if "start" in request.POST and not override_error:
                return _start(request, dataset, pending, options, overrides)
    result = None
    error = ""
    error_hint = False
    try:
        result = preview_file(pending["path"], options=options, overrides=overrides)
        sheet_names = result.sheet_names
    except MyNumberDetected as exc:
        error = exc.message
    except InvalidInput as exc:
        error = exc.message
        error_hint = True  # most reading errors are fixed by an encoding or header-row override
    pending["sheet_names"] = sheet_names
    if result is not None and overrides.get("fields"):
        # Columns of an earlier reading (another header row or sheet) no longer apply.
        overrides["fields"] = {c: p for c, p in overrides["fields"].items() if c in result.columns}
        pending["overrides"] = {k: v for k, v in overrides.items() if v}
    forced = {c: p["type"] for c, p in (overrides.get("fields") or {}).items() if "type" in p}
    shown_columns = [
        {
            "source": c.source,
            "inferred_label": "自動" if c.source in forced else c.type_label,
            "forced_type": forced.get(c.source, ""),
            "unit": c.unit,
            "title": c.title,
        }
        for c in (result.column_views if result else [])
    ]
    markers = {**(result.markers if result else {}), **(overrides.get("missing") or {})}
    pending["shown"] = {"columns": shown_columns, "markers": markers}
    _save(request, pending)
    form = OptionsForm(initial={**options}, sheet_names=sheet_names)
    ov_form = OverridesForm(columns=shown_columns, markers=markers)
    return render(
        request,
        "ingest/preview.html",
        {
            "dataset": dataset,
            "pending": pending,
            "form": form,
            "ov_form": ov_form,
            "override_lines": describe(overrides),
            "override_error": override_error,
            "result": result,
            "error": error,
            "error_hint": error_hint,
        },
    )


def _save(request: HttpRequest, pending: dict[str, Any]) -> None:
    request.session[SESSION_KEY] = {k: v for k, v in pending.items() if k != "path"}


def _start(
    request: HttpRequest,
    dataset: Any,
    pending: dict[str, Any],
    options: dict[str, Any],
    overrides: dict[str, Any],
) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    title = pending.get("new_table_title") or Path(pending["source_name"]).stem
    # A new table is named after its title (romanised, unique in the dataset), not the file.
    name = pending["table"] or table_name_for(dataset=dataset, title=title)
    table = services.table_get_or_create(actor=actor, dataset=dataset, name=name, title=title)
    try:
        job = _submit(actor, dataset, table, pending, options=options, overrides=overrides)
    except Conflict as exc:  # too many of this person's imports waiting or running
        messages.error(request, exc.message)
        return redirect("catalog:ingest_preview", slug=dataset.slug)
    request.session.pop(SESSION_KEY, None)
    messages.success(request, "取り込みを始めました。進み具合はこのページで確認できます。")
    return redirect("jobs:detail", job.pk)


def _submit(
    actor: Any,
    dataset: Any,
    table: Any,
    pending: dict[str, Any],
    *,
    options: dict[str, Any],
    overrides: dict[str, Any],
) -> Any:
    from machidata.jobs.services import job_submit

    return job_submit(
        kind="ingest.file",
        title=f"取り込み: {pending['source_name']} → {dataset.title} / {table.title}",
        params={
            "table_id": table.pk,
            "path": str(pending["path"]),
            "source_name": pending["source_name"],
            "mode": pending["mode"],
            "options": options,
            "note": pending.get("note", ""),
            "overrides": overrides,
        },
        actor=actor,
        unit=dataset.owner,
        per_user_limit=settings.MACHIDATA_INGEST_PER_USER,
    )
