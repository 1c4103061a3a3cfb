"""EBPM API for evaluations (/api/v1/ebpm/evaluations, /api/v1/ebpm/review), on the room's router.

Signed-in staff only; every member of staff reads, the owning 課's 編集 and 管理 write. Achievement and
cost per unit are computed for the caller (figures from a table the caller may not read are withheld).
"""

# No ``from __future__ import annotations`` here: @paginate re-reads the list endpoints' parameter
# annotations in django-ninja's own namespace.
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Status
from ninja.pagination import paginate

from machidata.access.auth import api_staff
from machidata.access.policy import Actor
from machidata.core.errors import InvalidInput
from machidata.core.pagination import LazyPage, Pages
from machidata.core.schemas import FiscalYear
from machidata.ebpm import selectors, services_evaluations
from machidata.ebpm import selectors_evaluations as sel
from machidata.ebpm.api import router
from machidata.ebpm.models import Evaluation, EvaluationDirection, EvaluationPlan
from machidata.ebpm.schemas import (
    EbpmEvaluationIn,
    EbpmEvaluationOut,
    EbpmEvaluationUpdateIn,
    EbpmPlanIn,
    EbpmPlanOut,
    EbpmReviewRowOut,
)


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _cost(c: sel.UnitCost) -> dict[str, Any]:
    return {
        "value_yen": int(c.value) if c.value is not None else None,
        "reason": c.reason,
        "indicator_id": c.indicator.pk if c.indicator else None,
    }


def _evaluation(actor: Actor, e: Evaluation) -> dict[str, Any]:
    f = sel.evaluation_figures(actor=actor, evaluation=e)
    return {
        "id": e.pk, "item_id": e.item_id, "item_name": e.item.name, "unit": e.item.unit.name,
        "fiscal_year": e.fiscal_year, "self_assessment": e.self_assessment, "direction": e.direction,
        "direction_label": e.get_direction_display(), "evidence_level": e.evidence_level,
        "evidence_label": e.get_evidence_level_display() if e.evidence_level else "効果の検証なし",
        "analysis_id": e.analysis_id, "evidence_note": e.evidence_note,
        "output_indicator_id": e.output_indicator_id, "outcome_indicator_id": e.outcome_indicator_id,
        "next_request_note": e.next_request_note, "next_request_amount_yen": e.next_request_amount_yen,
        "lock_version": e.lock_version, "created_at": e.created_at, "updated_at": e.updated_at,
        "achievement": f.summary, "mean_rate": _float(f.mean_rate),
        "achievements": [
            {"indicator_id": a.indicator.pk, "name": a.indicator.name, "kind": a.indicator.kind,
             "target": _float(a.target), "actual": _float(a.actual), "rate": _float(a.rate),
             "reached": a.reached, "withheld": a.withheld}
            for a in f.achievements
        ],
        "settlement_yen": f.settlement_yen,
        "cost_per_output": _cost(f.cost_per_output), "cost_per_outcome": _cost(f.cost_per_outcome),
    }  # fmt: skip


@router.get("/evaluations", response=list[EbpmEvaluationOut], summary="事業評価の一覧")
@paginate(Pages, page_size=settings.MACHIDATA_PAGE_SIZE)
def list_evaluations(
    request: HttpRequest,
    item_id: int | None = None,
    fiscal_year: FiscalYear | None = None,
    unit_id: int | None = None,
    direction: str = "",
) -> list[dict[str, Any]]:
    """Yearly evaluations (all staff read), newest 年度 first, filtered by 事業, 年度, 所管課 and 方向性."""
    actor = api_staff(request)
    if direction and direction not in EvaluationDirection.values:
        raise InvalidInput(f"方向性「{direction}」は選べません（{'・'.join(EvaluationDirection.values)}）。")
    rows = sel.evaluation_list(
        actor=actor, item_id=item_id, fiscal_year=fiscal_year, unit_id=unit_id, direction=direction or None
    )
    return LazyPage(rows, lambda e: _evaluation(actor, e))  # type: ignore[return-value]


@router.get("/evaluations/{int:evaluation_id}", response=EbpmEvaluationOut, summary="事業評価")
def get_evaluation(request: HttpRequest, evaluation_id: int) -> dict[str, Any]:
    """One evaluation with its achievement and cost per unit."""
    actor = api_staff(request)
    return _evaluation(actor, sel.evaluation_get(actor=actor, pk=evaluation_id))


@router.post("/items/{int:item_id}/evaluations", response={201: EbpmEvaluationOut}, summary="事業を評価する")
def create_evaluation(request: HttpRequest, item_id: int, payload: EbpmEvaluationIn) -> Status:
    """Record the yearly evaluation of a 事業 (409 when that 年度 is already evaluated)."""
    actor = api_staff(request)
    item = selectors.plan_item_get(actor=actor, pk=item_id)
    e = services_evaluations.evaluation_create(actor=actor, item=item, **payload.dict())
    return Status(201, _evaluation(actor, sel.evaluation_get(actor=actor, pk=e.pk)))


@router.put("/evaluations/{int:evaluation_id}", response=EbpmEvaluationOut, summary="事業評価を変更する")
def put_evaluation(
    request: HttpRequest, evaluation_id: int, payload: EbpmEvaluationUpdateIn
) -> dict[str, Any]:
    """Change an evaluation (its 事業 and 年度 stay; 409 when someone changed it first)."""
    actor = api_staff(request)
    e = sel.evaluation_get(actor=actor, pk=evaluation_id)
    services_evaluations.evaluation_update(actor=actor, evaluation=e, **payload.dict())
    return _evaluation(actor, sel.evaluation_get(actor=actor, pk=evaluation_id))


@router.get("/review", response=list[EbpmReviewRowOut], summary="査定一覧（事業ごと）")
@paginate(Pages, page_size=settings.MACHIDATA_PAGE_SIZE)
def list_review(  # noqa: PLR0917 - django-ninja reads each query parameter from the signature
    request: HttpRequest,
    fiscal_year: FiscalYear,
    unit_id: int | None = None,
    direction: str = "",
    sort: str = "code",
    order: str = "asc",
) -> list[dict[str, Any]]:
    """Every 事業 for the 査定 of a 年度: logic model, achievement, cost, evidence and proposed direction.

    ``sort``: code, name, unit, model, achievement, settlement, cost_output, cost_outcome, evidence, direction
    (blanks last); ``order``: asc or desc.
    """
    actor = api_staff(request)
    if direction and direction not in EvaluationDirection.values:
        raise InvalidInput(f"方向性「{direction}」は選べません（{'・'.join(EvaluationDirection.values)}）。")
    if sort not in sel.SORTS:
        raise InvalidInput(f"並べ替え「{sort}」は選べません（{'・'.join(sel.SORTS)}）。")
    if order not in ("asc", "desc"):
        raise InvalidInput("order は asc か desc です。")
    rows = sel.review_rows(
        actor=actor, fiscal_year=fiscal_year, unit_id=unit_id, direction=direction or None, sort=sort,
        descending=order == "desc",
    )  # fmt: skip
    return [
        {
            "item_id": r.item.pk, "code": r.item.code, "name": r.item.name, "unit": r.item.unit.name,
            "stage": r.item.stage, "logic_model_version": r.model_version, "logic_model_warnings": r.warnings,
            "achievement": r.figures.summary, "mean_rate": _float(r.figures.mean_rate),
            "settlement_yen": r.figures.settlement_yen, "cost_per_output": _cost(r.figures.cost_per_output),
            "cost_per_outcome": _cost(r.figures.cost_per_outcome),
            "evaluation_id": r.evaluation.pk if r.evaluation else None,
            "evidence_level": r.evaluation.evidence_level if r.evaluation else None,
            "evidence_label": r.evidence_label,
            "direction": r.evaluation.direction if r.evaluation else "", "direction_label": r.direction_label,
        }
        for r in rows
    ]  # fmt: skip


def _plan(p: EvaluationPlan) -> dict[str, Any]:
    return {
        "id": p.pk, "item_id": p.item_id, "indicator_id": p.indicator_id, "indicator": p.indicator.name,
        "design": p.design, "design_label": p.get_design_display(), "fiscal_year": p.fiscal_year,
        "timing": p.timing, "note": p.note, "stage_at_fixing": p.stage_at_fixing, "actor": p.actor_label,
        "created_at": p.created_at,
    }  # fmt: skip


@router.get(
    "/items/{int:item_id}/evaluation-plans", response=list[EbpmPlanOut], summary="効果検証の計画の一覧"
)
def list_plans(request: HttpRequest, item_id: int) -> list[dict[str, Any]]:
    """The 事業's evaluation plans (which indicator, which design, when), by 年度."""
    item = selectors.plan_item_get(actor=api_staff(request), pk=item_id)
    return [_plan(p) for p in sel.evaluation_plans_of(item)]


@router.post(
    "/items/{int:item_id}/evaluation-plans", response={201: EbpmPlanOut}, summary="効果検証の計画を決める"
)
def create_plan(request: HttpRequest, item_id: int, payload: EbpmPlanIn) -> Status:
    """Fix how the 事業's effect will be verified (the owning 課's 編集 and 管理)."""
    actor = api_staff(request)
    item = selectors.plan_item_get(actor=actor, pk=item_id)
    plan = services_evaluations.evaluation_plan_add(actor=actor, item=item, **payload.dict())
    return Status(201, _plan(plan))
