"""Survey API (/api/v1/surveys): surveys and their rounds, read and written through the services the
pages call (import, question declaration and confirmation, weighting targets, deletion), the tables,
crosstabs and their CSV/XLSX files.

Signed-in callers only (401 otherwise); surveys of another 課 answer 404 (管理 sees all, suppressed);
writes are for the owner 課's 編集 (403 for the rest of those who see the survey).
"""

# No ``from __future__ import annotations``: django-ninja resolves ``Query[...]`` at import time.
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from machidata.access.auth import api_staff
from machidata.core.errors import PermissionDenied
from machidata.core.schemas import ErrorOut
from machidata.surveys import exports, services
from machidata.surveys.models import Question, Round, Survey
from machidata.surveys.results import SUPPRESS_DEFAULT, frequency_tables, load_round, round_crosstab
from machidata.surveys.schemas import (
    SurveyConfirmIn,
    SurveyCrosstabExportParams,
    SurveyCrosstabOut,
    SurveyCrosstabParams,
    SurveyDetailOut,
    SurveyExportParams,
    SurveyImportJobOut,
    SurveyIn,
    SurveyOut,
    SurveyQuestionDeclareIn,
    SurveyQuestionOut,
    SurveyQuestionsOut,
    SurveyRoundOut,
    SurveyTablesOut,
    SurveyTargetsIn,
)
from machidata.surveys.selectors import (
    leaves_division,
    may_edit,
    round_get,
    suppression_threshold,
    survey_get,
    survey_list,
    survey_rounds,
)
from machidata.surveys.tables import CrossRow, heatmap_spec

router = Router(tags=["surveys"])
ERRORS: dict[int, Any] = {400: ErrorOut, 404: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}
_MULTIPART = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "label": {"type": "string", "description": "回の名前（例: 2024年度）"},
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "Microsoft Forms の「Excel で開く」で保存したファイル",
                        },
                    },
                    "required": ["label", "file"],
                }
            }
        },
    }
}


def _editable_survey(request: HttpRequest, survey_id: int) -> tuple[Any, Survey]:
    actor = api_staff(request)
    survey = survey_get(actor=actor, pk=survey_id)  # hidden and missing: 404
    if not may_edit(actor, survey):
        raise PermissionDenied(services.NOT_OWNER)
    return actor, survey


def _editable_round(request: HttpRequest, round_id: int) -> tuple[Any, Round]:
    actor = api_staff(request)
    round_ = round_get(actor=actor, pk=round_id)
    if not may_edit(actor, round_.survey):
        raise PermissionDenied(services.NOT_OWNER)
    return actor, round_


def _survey(s: Survey) -> dict[str, Any]:
    return {"id": s.pk, "title": s.title, "unit": s.unit.name, "is_synthetic": s.is_synthetic}


def _round(r: Round) -> dict[str, Any]:
    return {
        "id": r.pk,
        "label": r.label,
        "respondents": r.respondents,
        "status": r.status,
        "weighted": bool(r.weight_targets),
    }


def _question(q: Question) -> dict[str, Any]:
    return {
        "position": q.position,
        "text": q.text,
        "kind": q.kind,
        "guessed_kind": q.guessed_kind,
        "options": q.options,
    }


@router.get("/", response=list[SurveyOut], summary="アンケートの一覧")
def list_surveys(request: HttpRequest) -> list[dict[str, Any]]:
    """Surveys of the caller's 課 (all for 管理)."""
    return [_survey(s) for s in survey_list(actor=api_staff(request))]


@router.post("/", response={201: SurveyOut, **WRITE_ERRORS}, summary="アンケートを登録する")
def create_survey(request: HttpRequest, payload: SurveyIn) -> Status:
    """Register a survey for a 課 the caller edits for (its 編集, or a 管理 member of that 課)."""
    survey = services.survey_create(
        actor=api_staff(request),
        title=payload.title,
        unit_id=payload.unit_id,
        description=payload.description,
    )
    return Status(201, _survey(survey))


@router.post(
    "/{int:survey_id}/rounds",
    response={201: SurveyRoundOut, 202: SurveyImportJobOut, **WRITE_ERRORS},
    summary="Forms の書き出しを新しい回として取り込む",
    openapi_extra=_MULTIPART,
)
def upload_round(request: HttpRequest, survey_id: int) -> Status:
    """Upload a Forms export as ``file`` with the round's ``label`` (multipart/form-data).

    201 with the new round (its questions to be declared and confirmed next), or 202 with a job for a
    file above 1 MB (follow it at ``/api/v1/jobs/{job_id}``; its result names the round). The file is
    read only after the access check, so who may not write is refused whatever they send.
    """
    actor, survey = _editable_survey(request, survey_id)
    made = services.round_upload(
        actor=actor, survey=survey, label=request.POST.get("label", ""), upload=request.FILES.get("file")
    )
    if isinstance(made, Round):
        return Status(201, _round(made))
    return Status(
        202,
        {
            "job_id": made.pk,
            "status": made.status,
            "detail": "ファイルが大きいので、処理（ジョブ）として取り込みます。",
        },
    )


@router.get(
    "/rounds/{int:round_id}/questions",
    response={200: SurveyQuestionsOut, **ERRORS},
    summary="質問の種類の提案",
)
def round_questions(request: HttpRequest, round_id: int) -> dict[str, Any]:
    """Every question of the round: the guessed kind, the kind and options now declared, three sample answers."""
    round_ = round_get(actor=api_staff(request), pk=round_id)
    data = load_round(round_)
    return {
        "round": _round(round_),
        "questions": [
            {
                **_question(q),
                "samples": [str(c)[:200] for c in data.cells[q.position] if c is not None][:3],
            }
            for q in data.questions
        ],
    }


@router.put(
    "/rounds/{int:round_id}/questions",
    response={200: SurveyRoundOut, **WRITE_ERRORS},
    summary="質問の種類と選択肢を決めて、回を確定する",
)
def confirm_round(request: HttpRequest, round_id: int, payload: SurveyConfirmIn) -> dict[str, Any]:
    """Declare the kind and options of any questions and confirm the round (as the 質問の確認 page does).

    Every question is checked against its answers; 400 names the first that does not fit (``errors``
    lists them all by ``q{position}``), and nothing is saved.
    """
    actor, round_ = _editable_round(request, round_id)
    declarations = [d.model_dump(exclude_none=True) for d in payload.questions]
    return _round(services.round_questions_confirm(actor=actor, round_=round_, declarations=declarations))


@router.put(
    "/rounds/{int:round_id}/questions/{int:position}",
    response={200: SurveyQuestionOut, **WRITE_ERRORS},
    summary="1つの質問の種類と選択肢を決める（回は確定しない）",
)
def declare_question(
    request: HttpRequest, round_id: int, position: int, payload: SurveyQuestionDeclareIn
) -> dict[str, Any]:
    """Declare one question's kind and options; the round keeps its status (a draft is confirmed separately).

    The question's answers are checked; 400 says why they do not fit, and nothing is saved.
    """
    actor, round_ = _editable_round(request, round_id)
    question = services.question_declare(
        actor=actor, round_=round_, position=position, kind=payload.kind, options=payload.options
    )
    return _question(question)


@router.put(
    "/rounds/{int:round_id}/targets", response={200: SurveyRoundOut, **WRITE_ERRORS}, summary="重み付けの目標"
)
def set_targets(request: HttpRequest, round_id: int, payload: SurveyTargetsIn) -> dict[str, Any]:
    """Known counts per option of single-select questions (one: post-stratification, more: raking); {} removes."""
    actor, round_ = _editable_round(request, round_id)
    return _round(services.round_targets_set(actor=actor, round_=round_, targets=payload.targets))


@router.delete("/rounds/{int:round_id}", response={204: None, **WRITE_ERRORS}, summary="回を削除する")
def delete_round(request: HttpRequest, round_id: int) -> Status:
    """Delete a round with its answers (audited)."""
    actor, round_ = _editable_round(request, round_id)
    services.round_delete(actor=actor, round_=round_)
    return Status(204, None)


def _download(f: exports.SurveyFile) -> HttpResponse:
    response = HttpResponse(f.content, content_type=f.content_type)
    response["Content-Disposition"] = f"attachment; filename={f.filename}"
    return response


@router.get(
    "/rounds/{int:round_id}/tables/export",
    response={200: None, **ERRORS},
    summary="単純集計のファイル（CSV・XLSX）",
)
def export_tables(request: HttpRequest, round_id: int, params: Query[SurveyExportParams]) -> HttpResponse:
    """The frequency tables as CSV (UTF-8 with BOM) or XLSX, suppressed as on the page (audited)."""
    actor = api_staff(request)
    round_ = round_get(actor=actor, pk=round_id)
    return _download(
        exports.tables_file(
            actor=actor,
            round_=round_,
            fmt=params.format,
            denominator=params.denominator,
            weighted=params.weighted,
        )
    )


@router.get(
    "/rounds/{int:round_id}/crosstab/export",
    response={200: None, **ERRORS},
    summary="クロス集計のファイル（CSV・XLSX）",
)
def export_crosstab(
    request: HttpRequest, round_id: int, params: Query[SurveyCrosstabExportParams]
) -> HttpResponse:
    """One crosstab as CSV (UTF-8 with BOM) or XLSX, suppressed as on the page (audited)."""
    actor = api_staff(request)
    round_ = round_get(actor=actor, pk=round_id)
    return _download(
        exports.crosstab_file(
            actor=actor,
            round_=round_,
            by=params.by,
            of=params.of,
            fmt=params.format,
            suppress=params.suppress,
            threshold=params.threshold,
            denominator=params.denominator,
            weighted=params.weighted,
        )
    )


@router.get("/{int:survey_id}", response={200: SurveyDetailOut, 404: ErrorOut}, summary="アンケートと回")
def get_survey(request: HttpRequest, survey_id: int) -> dict[str, Any]:
    """One survey with its rounds."""
    survey = survey_get(actor=api_staff(request), pk=survey_id)
    return {
        **_survey(survey),
        "description": survey.description,
        "rounds": [_round(r) for r in survey_rounds(survey=survey)],
    }


@router.get("/rounds/{int:round_id}/tables", response={200: SurveyTablesOut, **ERRORS}, summary="単純集計")
def round_tables(
    request: HttpRequest, round_id: int, denominator: str = "respondents", weighted: bool = False
) -> dict[str, Any]:
    """Frequency tables of every choice question (suppressed when the caller is outside the owner 課)."""
    actor = api_staff(request)
    round_ = round_get(actor=actor, pk=round_id)
    suppressed = leaves_division(actor, round_.survey)
    tables = frequency_tables(
        load_round(round_),
        denominator=denominator,
        weighted=weighted and bool(round_.weight_targets),
        suppress_below=SUPPRESS_DEFAULT if suppressed else None,
    )
    return {
        "round": _round(round_),
        "suppressed": suppressed,
        "tables": [
            {
                "question": _question(q),
                "n": t.n,
                "total": t.total,
                "no_answer": t.no_answer,
                "small_base": t.small_base,
                "denominator": t.denominator,
                "rows": [
                    {
                        "option": r.option,
                        "count": None if r.hidden else r.count,
                        "share": None if r.hidden else r.share,
                        "weighted_share": None if r.hidden else r.weighted_share,
                        "hidden": r.hidden,
                    }
                    for r in t.rows
                ],
            }
            for q, t in tables
        ],
    }


def _row(r: CrossRow) -> dict[str, Any]:
    return {
        "label": r.label,
        "n": None if r.hidden else r.n,
        "small_base": r.small_base,
        "cells": [
            {
                "count": None if c.hidden else c.count,
                "share": None if c.hidden else c.share,
                "weighted_share": None if c.hidden else c.weighted_share,
                "hidden": c.hidden,
            }
            for c in r.cells
        ],
    }


@router.get(
    "/rounds/{int:round_id}/crosstab", response={200: SurveyCrosstabOut, **ERRORS}, summary="クロス集計"
)
def round_crosstab_api(
    request: HttpRequest, round_id: int, params: Query[SurveyCrosstabParams]
) -> dict[str, Any]:
    """Question ``of`` by attribute ``by`` (question positions); always suppressed outside the owner 課."""
    actor = api_staff(request)
    round_ = round_get(actor=actor, pk=round_id)
    q_by, q_of, table = round_crosstab(
        load_round(round_),
        by=params.by,
        of=params.of,
        denominator=params.denominator,
        weighted=params.weighted and bool(round_.weight_targets),
        suppress_below=suppression_threshold(
            actor, round_.survey, asked=params.suppress, threshold=params.threshold
        ),
    )
    return {
        "by": _question(q_by),
        "of": _question(q_of),
        "columns": table.columns,
        "rows": [_row(r) for r in table.rows],
        "total": _row(table.total),
        "denominator": table.denominator,
        "weighted": table.weighted,
        "suppressed": table.suppressed,
        "threshold": table.threshold,
        "hidden_cells": table.hidden_cells,
        "heatmap": heatmap_spec(table, title=q_of.text[:60], row_title=q_by.text[:30]),
    }
