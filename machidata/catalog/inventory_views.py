"""Inventory import pages: upload → sheet → column mapping → preview → import → result (and the error CSV).

Between steps only the upload's random id and the user's choices live in the session; the file itself
is kept under MACHIDATA_HOME/uploads/inventory/ and the last report next to it as JSON.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from machidata.catalog.inventory import (
    TARGETS,
    ImportOptions,
    ImportReport,
    Sheet,
    file_sha256,
    inventory_import,
    inventory_template_for,
    inventory_template_get,
    inventory_template_save,
    read_sheet,
    report_csv,
    sheet_names,
    suggest_mapping,
)
from machidata.catalog.inventory_forms import ImportForm, MappingForm, SheetForm, UploadForm
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied

SESSION_KEY = "inventory_import"
PREVIEW_ROWS = 20
SHOWN_ERRORS = 200
STALE_SECONDS = 24 * 3600
_ID = re.compile(r"^[0-9a-f]{32}$")
_EXT = re.compile(r"^\.[a-z]{3,4}$")


def upload_dir() -> Path:
    """Where uploaded inventories wait between the steps."""
    path = Path(settings.MACHIDATA_HOME) / "uploads" / "inventory"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _importer_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in users who may register datasets (データ所有者 or 管理); everyone else gets 404."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        actor = request.actor  # type: ignore[attr-defined]
        if not (actor.is_admin or actor.editor_unit_ids):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _state(request: HttpRequest) -> dict[str, Any] | None:
    state = request.session.get(SESSION_KEY)
    if not isinstance(state, dict) or not _ID.match(str(state.get("upload", ""))):
        return None
    if not _EXT.match(str(state.get("ext", ""))) or not _file(state).is_file():
        return None
    return state


def _file(state: dict[str, Any]) -> Path:
    return upload_dir() / f"{state['upload']}{state['ext']}"


def _report_path(state: dict[str, Any]) -> Path:
    return upload_dir() / f"{state['upload']}.report.json"


def _save_state(request: HttpRequest, state: dict[str, Any]) -> None:
    request.session[SESSION_KEY] = state
    request.session.modified = True


def _start_over(request: HttpRequest, message: str = "") -> HttpResponse:
    messages.error(
        request, message or "取り込み中のファイルが見つかりません。もう一度ファイルを選んでください。"
    )
    return redirect("catalog:inventory_upload")


def _clean_old_uploads() -> None:
    # Abandoned uploads are removed after a day; nothing else ever needs them.
    cutoff = time.time() - STALE_SECONDS
    for path in upload_dir().iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            continue


def _read(state: dict[str, Any]) -> Sheet:
    return read_sheet(
        _file(state).read_bytes(),
        ext=state["ext"],
        file_name=state["file_name"],
        sheet=state.get("sheet") or None,
        header_row=state.get("header_row") or None,
    )


@_importer_only
@require_http_methods(["GET", "POST"])
def inventory_upload(request: HttpRequest) -> HttpResponse:
    """Step 1: choose the inventory file (Excel or CSV, 20 MB at most)."""
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        content = b"".join(upload.chunks())
        try:
            sheets = sheet_names(content, form.ext, upload.name)
        except InvalidInput as exc:
            form.add_error("file", exc.message)
        else:
            _clean_old_uploads()
            upload_id = secrets.token_hex(16)
            (upload_dir() / f"{upload_id}{form.ext}").write_bytes(content)
            _save_state(
                request,
                {
                    "upload": upload_id,
                    "ext": form.ext,
                    "file_name": Path(upload.name).name[:200],
                    "sha256": file_sha256(content),
                    "sheets": sheets,
                    "sheet": sheets[0] if sheets else "",
                    "header_row": None,
                    "template": "",
                    "mapping": None,
                    "generate_identifiers": False,
                },
            )
            if len(sheets) > 1:
                return redirect("catalog:inventory_sheet")
            return redirect("catalog:inventory_mapping")
    return render(request, "catalog/inventory_upload.html", {"form": form, "step": 1})


@_importer_only
@require_http_methods(["GET", "POST"])
def inventory_sheet(request: HttpRequest) -> HttpResponse:
    """Step 2: which sheet, the header row (found automatically when blank) and a saved template."""
    state = _state(request)
    if state is None:
        return _start_over(request)
    initial = {
        "sheet": state.get("sheet"),
        "header_row": state.get("header_row"),
        "template": state.get("template"),
    }
    form = SheetForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        sheets=list(state.get("sheets") or []),
    )
    if request.method == "POST" and form.is_valid():
        state.update(
            sheet=form.cleaned_data["sheet"],
            header_row=form.cleaned_data.get("header_row"),
            template=form.cleaned_data.get("template") or "",
            mapping=None,
        )
        if state["template"] and not state["header_row"]:
            template = inventory_template_get(name=state["template"])
            state["header_row"] = template.header_row
        _save_state(request, state)
        return redirect("catalog:inventory_mapping")
    return render(request, "catalog/inventory_sheet.html", {"form": form, "state": state, "step": 2})


def _initial_mapping(state: dict[str, Any], sheet: Sheet) -> tuple[dict[str, str], str]:
    saved = state.get("mapping")
    if isinstance(saved, dict) and set(saved) == set(sheet.headers):
        return saved, state.get("template_used", "")
    template = None
    if state.get("template"):
        try:
            template = inventory_template_get(name=state["template"])
        except NotFound:
            template = None
    template = template or inventory_template_for(headers=sheet.headers)
    if template is not None:
        return {h: template.mapping.get(h, "") for h in sheet.headers}, template.name
    return suggest_mapping(sheet.headers), ""


@_importer_only
@require_http_methods(["GET", "POST"])
def inventory_mapping(request: HttpRequest) -> HttpResponse:
    """Step 3: which catalog field each column feeds (suggested, or from a saved template)."""
    state = _state(request)
    if state is None:
        return _start_over(request)
    try:
        sheet = _read(state)
    except InvalidInput as exc:
        messages.error(request, exc.message)
        return redirect("catalog:inventory_sheet")
    mapping, template_name = _initial_mapping(state, sheet)
    samples = {h: [cells[i] for _, cells in sheet.rows[:5]] for i, h in enumerate(sheet.headers)}
    initial: dict[str, Any] = {f"col_{i}": mapping.get(h, "") for i, h in enumerate(sheet.headers)}
    initial["generate_identifiers"] = state.get("generate_identifiers", False)
    form = MappingForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        headers=sheet.headers,
        samples=samples,
    )
    if request.method == "POST" and form.is_valid():
        mapping = form.mapping()
        name = (form.cleaned_data.get("save_template") or "").strip()
        if name:
            try:
                inventory_template_save(
                    actor=request.actor,  # type: ignore[attr-defined]
                    name=name,
                    mapping=mapping,
                    headers=sheet.headers,
                    sheet=sheet.name,
                    header_row=sheet.header_row,
                )
            except (InvalidInput, PermissionDenied) as exc:
                form.add_error("save_template", exc.message)
        if not form.errors:
            if name:
                messages.success(request, f"列の対応をテンプレート「{name}」として保存しました。")
                template_name = name
            state.update(
                mapping=mapping,
                sheet=sheet.name,
                header_row=sheet.header_row,
                generate_identifiers=bool(form.cleaned_data.get("generate_identifiers")),
                template_used=template_name,
            )
            _save_state(request, state)
            return redirect("catalog:inventory_preview")
    return render(
        request,
        "catalog/inventory_mapping.html",
        {"form": form, "sheet": sheet, "state": state, "template_name": template_name, "step": 3},
    )


def _run(
    request: HttpRequest, state: dict[str, Any], *, dry_run: bool, valid_rows_only: bool
) -> ImportReport:
    sheet = _read(state)
    report = inventory_import(
        actor=request.actor,  # type: ignore[attr-defined]
        sheet=sheet,
        file_name=state["file_name"],
        sha256=state["sha256"],
        options=ImportOptions(
            mapping=state["mapping"],
            generate_identifiers=bool(state.get("generate_identifiers")),
            valid_rows_only=valid_rows_only,
            dry_run=dry_run,
            template_name=state.get("template_used", ""),
        ),
    )
    _report_path(state).write_text(json.dumps(report.to_dict(), ensure_ascii=False), encoding="utf-8")
    return report


@_importer_only
@require_http_methods(["GET", "POST"])
def inventory_preview(request: HttpRequest) -> HttpResponse:
    """Step 4: the first rows as they would be imported, every row error, and the import button."""
    state = _state(request)
    if state is None:
        return _start_over(request)
    if not isinstance(state.get("mapping"), dict):
        return redirect("catalog:inventory_mapping")
    form = ImportForm(request.POST if request.method == "POST" else None)
    try:
        if request.method == "POST" and form.is_valid():
            _run(request, state, dry_run=False, valid_rows_only=form.cleaned_data["valid_rows_only"])
            return redirect("catalog:inventory_result")
        report = _run(request, state, dry_run=True, valid_rows_only=False)
    except InvalidInput as exc:
        messages.error(request, exc.message)
        return redirect("catalog:inventory_mapping")
    return render(
        request,
        "catalog/inventory_preview.html",
        {
            "form": form,
            "report": report,
            "counts": report.counts,
            "rows": report.rows[:PREVIEW_ROWS],
            "more_rows": max(0, len(report.rows) - PREVIEW_ROWS),
            "errors": report.errors[:SHOWN_ERRORS],
            "more_errors": max(0, len(report.errors) - SHOWN_ERRORS),
            "mapping": [(h, TARGETS[t]) for h, t in state["mapping"].items() if t],
            "state": state,
            "step": 4,
        },
    )


def _load_report(state: dict[str, Any]) -> ImportReport | None:
    path = _report_path(state)
    if not path.is_file():
        return None
    return ImportReport.from_dict(json.loads(path.read_text(encoding="utf-8")))


@_importer_only
@require_http_methods(["GET"])
def inventory_result(request: HttpRequest) -> HttpResponse:
    """Step 5: what was imported (作成・更新・変更なし・エラー) and the error report."""
    state = _state(request)
    report = _load_report(state) if state else None
    if report is None or report.dry_run:
        return _start_over(request)
    return render(
        request,
        "catalog/inventory_result.html",
        {
            "report": report,
            "counts": report.counts,
            "errors": report.errors[:SHOWN_ERRORS],
            "more_errors": max(0, len(report.errors) - SHOWN_ERRORS),
            "changed_rows": [r for r in report.rows if r.status in {"created", "updated"}][:100],
            "step": 5,
        },
    )


@_importer_only
@require_http_methods(["GET"])
def inventory_errors_csv(request: HttpRequest) -> HttpResponse:
    """The last preview's or import's error report as CSV (UTF-8 with BOM, opens in Excel)."""
    state = _state(request)
    report = _load_report(state) if state else None
    if report is None:
        raise Http404
    response = HttpResponse(report_csv(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="inventory_errors.csv"'
    return response
