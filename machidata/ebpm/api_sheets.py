"""EBPM API for what the pages offer beyond records (issue 9 point 8), on the room's router.

Files: the logic model as SVG and PPTX, the national review-sheet CSV pair, the evaluation sheet (export,
import, template) and the 査定 view as CSV/XLSX — built and audited by the same modules as the pages, so
the answers (withheld figures, cell-named errors, stale-sheet refusal) are the pages' answers. Also the
data calendar, the strategy's KPI board, item changes, logic model copy and examples, and the indicator
operations (query, recompute, schedule, removal) and evaluation-plan removal.

Signed-in staff only; every member of staff reads, the owning 課's 編集 and 管理 write.
"""

# No ``from __future__ import annotations``: django-ninja reads File[...] and Query annotations at import.
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import File, Status
from ninja.files import UploadedFile
from pydantic import Field

from machidata.access.auth import api_staff
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied
from machidata.core.schemas import FiscalYear
from machidata.ebpm import (
    exports,
    review_sheet,
    selectors,
    services,
    services_board,
    services_evaluations,
    services_indicators,
    sheets,
    slides,
    strategy,
)
from machidata.ebpm import selectors_evaluations as sel
from machidata.ebpm.api import _item_detail, get_indicator, get_logic_model, router
from machidata.ebpm.examples import EXAMPLES
from machidata.ebpm.models import BoardSurveyLink, EvaluationDirection, EvaluationPlan
from machidata.ebpm.schemas import (
    EbpmBoardRowOut,
    EbpmCalendarOut,
    EbpmCopyIn,
    EbpmExampleIn,
    EbpmExampleOut,
    EbpmIndicatorDetailOut,
    EbpmItemDetailOut,
    EbpmItemUpdateIn,
    EbpmLogicModelOut,
    EbpmQueryIn,
    EbpmRecomputeOut,
    EbpmScheduleIn,
    EbpmSheetImportOut,
    EbpmSurveyLinkIn,
    EbpmSurveyLinkOut,
)
from machidata.jp.fiscal import format_fiscal_year

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
VersionNumber = Annotated[int, Field(ge=1, le=2_147_483_647, description="版の番号")]
FILE = {200: None}
NO_FILE = File(None)  # optional, so a refusal answers 403 before a missing file answers 400


def _attachment(content: bytes | str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# ---- items and logic models ---------------------------------------------------------------------------


@router.put("/items/{int:item_id}", response=EbpmItemDetailOut, summary="政策・施策・事業を変更する")
def put_item(request: HttpRequest, item_id: int, payload: EbpmItemUpdateIn) -> dict[str, Any]:
    """Change the name, number, description and plan reference (409 when someone changed it first)."""
    actor = api_staff(request)
    item = selectors.plan_item_get(actor=actor, pk=item_id)
    services.plan_item_update(actor=actor, item=item, **payload.dict())
    return _item_detail(selectors.plan_item_get(actor=actor, pk=item_id))


@router.post(
    "/items/{int:item_id}/logic-model/copy",
    response=EbpmLogicModelOut,
    summary="ロジックモデルを別の事業にコピーする",
)
def copy_logic_model(request: HttpRequest, item_id: int, payload: EbpmCopyIn) -> dict[str, Any]:
    """Copy the current version to another item as a new version there (indicators stay behind); answers the copy."""
    actor = api_staff(request)
    source = selectors.plan_item_get(actor=actor, pk=item_id)
    target = selectors.plan_item_get(actor=actor, pk=payload.target_item_id)
    services.logic_model_copy(actor=actor, source=source, target=target)
    return get_logic_model(request, target.pk)


@router.get("/logic-model-examples", response=list[EbpmExampleOut], summary="ロジックモデルのひな形")
def list_examples(request: HttpRequest) -> list[dict[str, Any]]:
    """The starter library: generic logic models to start from."""
    api_staff(request)
    return [
        {"key": k, **{f: e[f] for f in ("title", "description", "document")}} for k, e in EXAMPLES.items()
    ]


@router.post(
    "/items/{int:item_id}/logic-model/example",
    response=EbpmLogicModelOut,
    summary="ひな形からロジックモデルを作る",
)
def load_example(request: HttpRequest, item_id: int, payload: EbpmExampleIn) -> dict[str, Any]:
    """Save an example of the starter library as the item's next version."""
    actor = api_staff(request)
    item = selectors.plan_item_get(actor=actor, pk=item_id)
    services.logic_model_from_example(actor=actor, item=item, key=payload.key)
    return get_logic_model(request, item_id)


@router.get("/items/{int:item_id}/logic-model.svg", response=FILE, summary="ロジックモデルの図（SVG）")
def logic_model_svg(request: HttpRequest, item_id: int, version: VersionNumber | None = None) -> HttpResponse:
    """The diagram as drawn on the pages (``version``: an earlier version)."""
    item = selectors.plan_item_get(actor=api_staff(request), pk=item_id)
    model = selectors.logic_model_of(item)
    if model is None or not model.number:
        raise NotFound("この事業にはまだロジックモデルがありません。")
    document = selectors.logic_model_version(model=model, number=version).document if version else None
    response = HttpResponse(
        selectors.model_svg(model, document=document), content_type="image/svg+xml; charset=utf-8"
    )
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@router.get("/items/{int:item_id}/logic-model.pptx", response=FILE, summary="ロジックモデル（PowerPoint）")
def logic_model_pptx(request: HttpRequest, item_id: int) -> HttpResponse:
    """The logic model and its indicators as 2 slides (audited)."""
    actor = api_staff(request)
    item = selectors.plan_item_get(actor=actor, pk=item_id)
    return _attachment(
        slides.logic_model_pptx(actor=actor, item=item), slides.PPTX_TYPE, f"logic-model-{item.pk}.pptx"
    )


@router.get(
    "/items/{int:item_id}/rs-sheet.zip", response=FILE, summary="行政事業レビューシートのCSV（3-1, 3-2）"
)
def rs_sheet(request: HttpRequest, item_id: int) -> HttpResponse:
    """The national review-sheet CSV pair in a ZIP (audited; check the columns against the RS specification)."""
    actor = api_staff(request)
    item = selectors.plan_item_get(actor=actor, pk=item_id)
    return _attachment(
        review_sheet.review_sheet_zip(actor=actor, item=item), "application/zip", f"rs-sheet-{item.pk}.zip"
    )


# ---- the evaluation sheet -----------------------------------------------------------------------------


def _project(request: HttpRequest, item_id: int) -> Any:
    actor = api_staff(request)
    item = selectors.plan_item_get(actor=actor, pk=item_id)
    if item.level != "project":
        raise NotFound("評価シートは事業ごとに書き出します。")
    return actor, item


@router.get(
    "/items/{int:item_id}/evaluation-sheet.xlsx", response=FILE, summary="評価シート（Excel）を書き出す"
)
def evaluation_sheet(
    request: HttpRequest, item_id: int, fiscal_year: FiscalYear | None = None
) -> HttpResponse:
    """The 年度's evaluation sheet in the city's layout (blank fields before the evaluation exists; audited)."""
    actor, item = _project(request, item_id)
    year = fiscal_year or sheets.default_year(item)
    content = sheets.evaluation_sheet_xlsx(actor=actor, item=item, fiscal_year=year)
    return _attachment(content, XLSX_TYPE, f"hyoka-sheet-{item.pk}-{year}.xlsx")


@router.post(
    "/items/{int:item_id}/evaluation-sheet",
    response={200: EbpmSheetImportOut, 201: EbpmSheetImportOut},
    summary="評価シート（Excel）を取り込む",
)
def import_evaluation_sheet(
    request: HttpRequest, item_id: int, file: UploadedFile | None = NO_FILE
) -> Status:
    """Read an edited sheet back (multipart ``file``): 201 with a new evaluation, 200 with an updated one.

    400 names the cell of every problem (「B6 の年度が読めません」, 「様式が違います: A3 は…」); 409 when the
    sheet was exported before a later change (its 更新番号 is stale). The owning 課's 編集 and 管理.
    """
    actor, item = _project(request, item_id)
    if not selectors.may_edit(actor, item):
        raise PermissionDenied("評価シートを取り込めるのは、所管課の編集担当とデータ戦略課（管理）です。")
    if file is None:
        raise InvalidInput("取り込む評価シート（.xlsx）を multipart の file で送ってください。")
    if file.size is not None and file.size > sheets.MAX_BYTES:
        raise InvalidInput("ファイルが大きすぎます（5MBまで）。")
    evaluation, created = sheets.evaluation_sheet_import(actor=actor, item=item, content=file.read())
    body = {
        "created": created, "evaluation_id": evaluation.pk, "fiscal_year": evaluation.fiscal_year,
        "lock_version": evaluation.lock_version,
    }  # fmt: skip
    return Status(201 if created else 200, body)


@router.get("/evaluation-sheet-template.xlsx", response=FILE, summary="評価シートの様式（対応表つき）")
def sheet_template(request: HttpRequest) -> HttpResponse:
    """The configured layout with its hidden ``_mapping`` sheet (to start a city's own layout)."""
    api_staff(request)
    return _attachment(sheets.template_bytes(), XLSX_TYPE, "hyoka-sheet-template.xlsx")


# ---- the 査定 view as a file, the data calendar, the KPI board ------------------------------------------


@router.get("/review/export", response=FILE, summary="査定一覧を書き出す（CSV・XLSX）")
def review_export(  # noqa: PLR0917 - django-ninja reads each query parameter from the signature
    request: HttpRequest,
    fiscal_year: FiscalYear,
    format: Literal["csv", "xlsx"] = "xlsx",
    unit_id: int | None = None,
    direction: str = "",
    sort: str = "code",
    order: Literal["asc", "desc"] = "asc",
) -> HttpResponse:
    """The 査定 view with the same filters and order as ``/review``, as CSV (UTF-8 with BOM) or XLSX; audited."""
    actor = api_staff(request)
    if direction and direction not in EvaluationDirection.values:
        raise InvalidInput(f"方向性「{direction}」は選べません（{'・'.join(EvaluationDirection.values)}）。")
    if sort not in sel.SORTS:
        raise InvalidInput(f"並べ替え「{sort}」は選べません（{'・'.join(sel.SORTS)}）。")
    rows = sel.review_rows(
        actor=actor, fiscal_year=fiscal_year, unit_id=unit_id, direction=direction or None, sort=sort,
        descending=order == "desc",
    )  # fmt: skip
    if format == "csv":
        content = exports.review_csv(actor=actor, rows=rows, fiscal_year=fiscal_year)
        return _attachment(content, "text/csv; charset=utf-8", f"satei-{fiscal_year}.csv")
    title = f"{format_fiscal_year(fiscal_year)}（{fiscal_year}） 事業評価の査定一覧"
    content = exports.review_xlsx(actor=actor, rows=rows, fiscal_year=fiscal_year, title=title)
    return _attachment(content, XLSX_TYPE, f"satei-{fiscal_year}.xlsx")


@router.get("/calendar", response=EbpmCalendarOut, summary="データカレンダー")
def data_calendar(request: HttpRequest, unit_id: int | None = None) -> dict[str, Any]:
    """When each indicator's yearly figure arrives (month of the following 年度), late ones for the 予算要求 flagged."""
    rows = selectors.data_calendar(actor=api_staff(request), unit_id=unit_id)
    return {
        "budget_request_month": selectors.BUDGET_REQUEST_MONTH,
        "late": sum(1 for r in rows if r.late),
        "unset": sum(1 for r in rows if r.month is None),
        "rows": [
            {
                "indicator_id": r.indicator.pk,
                "indicator": r.indicator.name,
                "item_id": r.indicator.logic_model.item_id,
                "item": r.indicator.logic_model.item.name,
                "responsible_unit": r.indicator.responsible_unit.name,
                "data_month": r.month,
                "label": r.label,
                "late": r.late,
            }
            for r in rows
        ],
    }


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


@router.get("/strategy", response=list[EbpmBoardRowOut], summary="戦略の検証指標（KPIボード）")
def strategy_board(request: HttpRequest) -> list[dict[str, Any]]:
    """Every 検証指標 of the strategy for FY2024–2027: live figures first, else the EBPM indicator's actuals."""
    rows = strategy.strategy_board(actor=api_staff(request))
    return [
        {
            "key": r.definition.key,
            "measure": r.definition.measure,
            "name": r.definition.name,
            "unit": r.definition.unit,
            "direction": r.definition.direction,
            "baseline": r.definition.baseline,
            "live": r.is_live,
            "source": r.live.source if r.live else "",
            "indicator_id": r.indicator.pk if r.indicator else None,
            "withheld": r.withheld,
            "notes": r.notes,
            "cells": [
                {
                    "fiscal_year": c["year"],
                    "value": _float(c["value"]),
                    "origin": c["origin"],
                    "shown": c["shown"],
                    "target": c["target"],
                    "round": c["round"],
                    "n": c["n"],
                }
                for c in r.cells
            ],
        }
        for r in rows
    ]


def _link(link: BoardSurveyLink) -> dict[str, Any]:
    return {
        "key": link.key, "key_label": link.get_key_display(), "survey_id": link.survey_id,
        "survey": link.survey.title, "question": link.question, "option": link.option,
        "actor": link.actor_label, "updated_at": link.updated_at,
    }  # fmt: skip


@router.get("/strategy/survey-links", response=list[EbpmSurveyLinkOut], summary="アンケートで測る指標の対応")
def list_survey_links(request: HttpRequest) -> list[dict[str, Any]]:
    """Which survey question and option measure each survey-based indicator of the board."""
    api_staff(request)
    return [_link(link) for link in strategy.board_survey_links()]


@router.put(
    "/strategy/survey-links/{key}",
    response=EbpmSurveyLinkOut,
    summary="検証指標にアンケートの質問を対応づける",
)
def put_survey_link(
    request: HttpRequest,
    key: Literal["skill", "conscious", "where", "comprehension"],
    payload: EbpmSurveyLinkIn,
) -> dict[str, Any]:
    """Map a question (its text) and option of a survey to ``key`` (データ戦略課, 管理, only)."""
    link = services_board.board_survey_link_set(actor=api_staff(request), key=key, **payload.dict())
    return _link(BoardSurveyLink.objects.select_related("survey").get(pk=link.pk))


@router.delete("/strategy/survey-links/{key}", response={204: None}, summary="アンケートとの対応を外す")
def delete_survey_link(
    request: HttpRequest, key: Literal["skill", "conscious", "where", "comprehension"]
) -> Status:
    """Remove a mapping (管理 only); the board goes back to finding the option in readable surveys."""
    services_board.board_survey_link_clear(actor=api_staff(request), key=key)
    return Status(204, None)


# ---- indicators and evaluation plans ------------------------------------------------------------------


@router.put(
    "/indicators/{int:indicator_id}/query",
    response=EbpmIndicatorDetailOut,
    summary="検証指標の集計の定義を変える",
)
def put_query(request: HttpRequest, indicator_id: int, payload: EbpmQueryIn) -> dict[str, Any]:
    """Change a query indicator's table and query (e.g. after a column was renamed) and compute it at once."""
    actor = api_staff(request)
    ind = selectors.indicator_get(actor=actor, pk=indicator_id)
    query = {"query": payload.query, "year_column": payload.year_column, "value_column": payload.value_column}
    services_indicators.indicator_query_set(
        actor=actor, indicator=ind, table_id=payload.table_id, query=query
    )
    return get_indicator(request, indicator_id)


@router.post(
    "/indicators/{int:indicator_id}/recompute", response=EbpmRecomputeOut, summary="検証指標を集計し直す"
)
def recompute(request: HttpRequest, indicator_id: int) -> dict[str, Any]:
    """Recompute a query or formula indicator from the current data; ``problem`` says why it is 要確認."""
    actor = api_staff(request)
    ind = selectors.indicator_get(actor=actor, pk=indicator_id)
    problem = services_indicators.indicator_recompute(actor=actor, indicator=ind)
    ind = selectors.indicator_get(actor=actor, pk=indicator_id)
    return {
        "indicator_id": ind.pk,
        "status": ind.status,
        "status_label": ind.get_status_display(),
        "problem": problem,
    }


@router.put(
    "/indicators/{int:indicator_id}/schedule",
    response=EbpmIndicatorDetailOut,
    summary="実績がそろう月を記録する",
)
def put_schedule(request: HttpRequest, indicator_id: int, payload: EbpmScheduleIn) -> dict[str, Any]:
    """The month of the following 年度 in which a year's figure is ready (for the data calendar)."""
    actor = api_staff(request)
    ind = selectors.indicator_get(actor=actor, pk=indicator_id)
    services_indicators.indicator_schedule_set(actor=actor, indicator=ind, data_month=payload.data_month)
    return get_indicator(request, indicator_id)


@router.delete("/indicators/{int:indicator_id}", response={204: None}, summary="検証指標を外す")
def delete_indicator(request: HttpRequest, indicator_id: int) -> Status:
    """Remove an indicator with its targets and actuals (the owning 課's 編集 and 管理)."""
    actor = api_staff(request)
    ind = selectors.indicator_get(actor=actor, pk=indicator_id)
    services_indicators.indicator_remove(actor=actor, indicator=ind)
    return Status(204, None)


@router.delete("/evaluation-plans/{int:plan_id}", response={204: None}, summary="効果検証の計画を取り消す")
def delete_plan(request: HttpRequest, plan_id: int) -> Status:
    """Remove an evaluation plan (the owning 課's 編集 and 管理)."""
    actor = api_staff(request)
    plan = EvaluationPlan.objects.select_related("item").filter(pk=plan_id).first()
    if plan is None:
        raise NotFound("その効果検証の計画はありません。")
    services_evaluations.evaluation_plan_remove(actor=actor, plan=plan)
    return Status(204, None)
