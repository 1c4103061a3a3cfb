"""EBPM sheets for meetings and the finance division: a logic model as PPTX, the national review-sheet CSV
pair, and the evaluation sheet (XLSX through the city's template mapping) with its import.

Thin: every file is built and audited by ``slides``, ``review_sheet`` or ``sheets``. All staff download
(figures withheld as on the pages); the owning 課's 編集 and 管理 import.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from machidata.access.policy import Actor
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from machidata.ebpm import review_sheet, selectors, sheets, slides


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _attachment(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def model_pptx(request: HttpRequest, pk: int) -> HttpResponse:
    """The logic model and its indicators as PowerPoint (2 slides); audited."""
    actor = _actor(request)
    item = selectors.plan_item_get(actor=actor, pk=pk)
    content = slides.logic_model_pptx(actor=actor, item=item)
    return _attachment(content, slides.PPTX_TYPE, f"logic-model-{item.pk}.pptx")


@login_required
@require_GET
def rs_zip(request: HttpRequest, pk: int) -> HttpResponse:
    """The national review-sheet CSV pair (3-1 targets and actuals, 3-2 links) as a ZIP; audited."""
    actor = _actor(request)
    item = selectors.plan_item_get(actor=actor, pk=pk)
    content = review_sheet.review_sheet_zip(actor=actor, item=item)
    return _attachment(content, "application/zip", f"rs-sheet-{item.pk}.zip")


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@login_required
@require_GET
def evaluation_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    """The 年度's evaluation sheet (``?year=``; blank fields before an evaluation exists) in the city's layout."""
    actor = _actor(request)
    item = selectors.plan_item_get(actor=actor, pk=pk)
    if item.level != "project":
        raise NotFound("評価シートは事業ごとに書き出します。")
    raw = request.GET.get("year", "")
    year = int(raw) if raw.isdigit() and 1950 <= int(raw) <= 2100 else sheets.default_year(item)
    content = sheets.evaluation_sheet_xlsx(actor=actor, item=item, fiscal_year=year)
    return _attachment(content, XLSX_TYPE, f"hyoka-sheet-{item.pk}-{year}.xlsx")


@login_required
@require_POST
def evaluation_sheet_import(request: HttpRequest, pk: int) -> HttpResponse:
    """Read an edited evaluation sheet back: create or update that 年度's evaluation (the owning 課's 編集 and 管理)."""
    actor = _actor(request)
    item = selectors.plan_item_get(actor=actor, pk=pk)
    if not selectors.may_edit(actor, item):
        raise PermissionDenied("評価シートを取り込めるのは、所管課の編集担当とデータ戦略課（管理）です。")
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise InvalidInput("取り込む評価シート（.xlsx）を選んでください。")
        if upload.size is not None and upload.size > sheets.MAX_BYTES:
            raise InvalidInput("ファイルが大きすぎます（5MBまで）。")
        evaluation, created = sheets.evaluation_sheet_import(actor=actor, item=item, content=upload.read())
    except (InvalidInput, Conflict) as exc:
        messages.error(request, f"評価シートを取り込めませんでした: {exc.message}")
        return redirect(reverse("ebpm:detail", args=[item.pk]) + "#evaluations")
    verb = "記録しました" if created else "更新しました"
    messages.success(request, f"評価シートから{evaluation.fiscal_year}年度の評価を{verb}。")
    return redirect("ebpm:evaluation", evaluation.pk)


@login_required
@require_GET
def sheet_template(request: HttpRequest) -> HttpResponse:
    """The configured evaluation-sheet template with its ``_mapping`` sheet (to start a city's own layout)."""
    return _attachment(sheets.template_bytes(), XLSX_TYPE, "hyoka-sheet-template.xlsx")
