"""EBPM sheets for meetings and the finance division: a logic model as PPTX, the national review-sheet CSV
pair, and the evaluation sheet (XLSX through the city's template mapping) with its import.

Thin: every file is built and audited by ``slides``, ``review_sheet`` or ``sheets``. All staff download
(figures withheld as on the pages); the owning 課's 編集 and 管理 import.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from machidata.access.policy import Actor
from machidata.ebpm import review_sheet, selectors, slides


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
