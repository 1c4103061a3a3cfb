"""Survey API (/api/v1/surveys): list, one survey, a round's tables, a crosstab.

Signed-in callers only (401 otherwise); surveys of another 課 answer 404 (管理 sees all, suppressed).
"""

# No ``from __future__ import annotations``: django-ninja resolves ``Query[...]`` at import time.
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from machidata.access.auth import api_staff
from machidata.core.schemas import ErrorOut
from machidata.surveys.models import Question, Round, Survey
from machidata.surveys.results import SUPPRESS_DEFAULT, frequency_tables, load_round, round_crosstab
from machidata.surveys.schemas import (
    SurveyCrosstabOut,
    SurveyCrosstabParams,
    SurveyDetailOut,
    SurveyOut,
    SurveyTablesOut,
)
from machidata.surveys.selectors import leaves_division, round_get, survey_get, survey_list, survey_rounds
from machidata.surveys.tables import CrossRow, heatmap_spec

router = Router(tags=["surveys"])
ERRORS: dict[int, Any] = {400: ErrorOut, 404: ErrorOut}


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
    suppressed = params.suppress or leaves_division(actor, round_.survey)
    q_by, q_of, table = round_crosstab(
        load_round(round_),
        by=params.by,
        of=params.of,
        denominator=params.denominator,
        weighted=params.weighted and bool(round_.weight_targets),
        suppress_below=params.threshold if suppressed else None,
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
