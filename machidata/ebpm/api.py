"""EBPM API (/api/v1/ebpm): plan items, logic models, indicators and their actuals.

Signed-in staff only (401 otherwise); every member of staff reads, the owning 課's 編集 and 管理 write.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from machidata.access.auth import api_staff
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied
from machidata.ebpm import selectors, services, services_indicators
from machidata.ebpm.models import Indicator, PlanItem
from machidata.ebpm.schemas import (
    EbpmActualIn,
    EbpmActualOut,
    EbpmBudgetIn,
    EbpmIndicatorDetailOut,
    EbpmIndicatorIn,
    EbpmIndicatorOut,
    EbpmItemDetailOut,
    EbpmItemIn,
    EbpmItemOut,
    EbpmLogicModelIn,
    EbpmLogicModelOut,
    EbpmStageIn,
    EbpmTargetIn,
    EbpmTargetOut,
    EbpmVersionOut,
)

router = Router(tags=["ebpm"])
LIST_MAX = 500


def _item(item: PlanItem) -> dict[str, Any]:
    model = selectors.logic_model_of(item)
    return {
        "id": item.pk,
        "level": item.level,
        "level_label": item.get_level_display(),
        "code": item.code,
        "name": item.name,
        "description": item.description,
        "unit_id": item.unit_id,
        "unit": item.unit.name,
        "parent_id": item.parent_id,
        "plan_reference": item.plan_reference,
        "stage": item.stage,
        "stage_label": item.get_stage_display(),
        "logic_model_version": model.number if model else 0,
        "lock_version": item.lock_version,
    }


def _item_detail(item: PlanItem) -> dict[str, Any]:
    return {
        **_item(item),
        "budget": [
            {
                "fiscal_year": b.fiscal_year,
                "kind": b.kind,
                "kind_label": b.get_kind_display(),
                "amount_yen": b.amount_yen,
            }
            for b in item.budget_lines.all()
        ],
        "stage_history": [
            {
                "stage_from": c.stage_from,
                "stage_to": c.stage_to,
                "note": c.note,
                "actor": c.actor_label,
                "at": c.created_at,
            }
            for c in item.stage_changes.all()
        ],
    }


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _indicator(ind: Indicator) -> dict[str, Any]:
    return {
        "id": ind.pk,
        "item_id": ind.logic_model.item_id,
        "node_id": ind.node_id,
        "name": ind.name,
        "kind": ind.kind,
        "unit_label": ind.unit_label,
        "direction": ind.direction,
        "definition": ind.definition,
        "data_source": ind.data_source,
        "baseline_value": _number(ind.baseline_value),
        "baseline_year": ind.baseline_year,
        "rate_rule": ind.rate_rule,
        "responsible_unit": ind.responsible_unit.name,
        "source_kind": ind.source_kind,
        "data_month": ind.data_month,
        "status": ind.status,
        "status_label": ind.get_status_display(),
        "status_reason": ind.status_reason,
    }


@router.get("/items", response=list[EbpmItemOut], summary="政策・施策・事業の一覧")
def list_items(
    request: HttpRequest, level: str = "", unit_id: int | None = None, stage: str = ""
) -> list[dict[str, Any]]:
    """Every plan item (all staff read EBPM), filtered by 区分, 所管課 and 段階; at most 500."""
    items = selectors.plan_items(
        actor=api_staff(request), level=level or None, unit_id=unit_id, stage=stage or None
    )
    return [_item(i) for i in items[:LIST_MAX]]


@router.post("/items", response={201: EbpmItemDetailOut}, summary="政策・施策・事業を登録する")
def create_item(request: HttpRequest, payload: EbpmItemIn) -> Status:
    """Create an item for a 課 the caller edits for (管理: any 課)."""
    actor = api_staff(request)
    item = services.plan_item_create(actor=actor, **payload.dict())
    return Status(201, _item_detail(selectors.plan_item_get(actor=actor, pk=item.pk)))


@router.get("/items/{int:item_id}", response=EbpmItemDetailOut, summary="政策・施策・事業")
def get_item(request: HttpRequest, item_id: int) -> dict[str, Any]:
    """One item with its budget figures and lifecycle history."""
    return _item_detail(selectors.plan_item_get(actor=api_staff(request), pk=item_id))


@router.post("/items/{int:item_id}/stage", response=EbpmItemDetailOut, summary="事業の段階を進める・戻す")
def post_stage(request: HttpRequest, item_id: int, payload: EbpmStageIn) -> dict[str, Any]:
    """One step forward or back (409 otherwise); recorded in the stage history."""
    actor = api_staff(request)
    item = selectors.plan_item_get(actor=actor, pk=item_id)
    services.plan_item_move(actor=actor, item=item, stage=payload.stage, note=payload.note)
    return _item_detail(selectors.plan_item_get(actor=actor, pk=item_id))


@router.put("/items/{int:item_id}/budget", response=EbpmItemDetailOut, summary="予算・決算を記録する")
def put_budget(request: HttpRequest, item_id: int, payload: EbpmBudgetIn) -> dict[str, Any]:
    """Set one (年度, kind) figure of a 事業 (replaces that figure)."""
    actor = api_staff(request)
    item = selectors.plan_item_get(actor=actor, pk=item_id)
    services.budget_line_set(actor=actor, item=item, **payload.dict())
    return _item_detail(selectors.plan_item_get(actor=actor, pk=item_id))


@router.post(
    "/items/{int:item_id}/indicators", response={201: EbpmIndicatorDetailOut}, summary="検証指標を設定する"
)
def create_indicator(request: HttpRequest, item_id: int, payload: EbpmIndicatorIn) -> Status:
    """Attach an indicator to a node; query and formula indicators are computed at once (their errors refuse it)."""
    actor = api_staff(request)
    item = selectors.plan_item_get(actor=actor, pk=item_id)
    ind = services_indicators.indicator_create(actor=actor, item=item, **payload.dict())
    return Status(201, get_indicator(request, ind.pk))


@router.get("/items/{int:item_id}/logic-model", response=EbpmLogicModelOut, summary="ロジックモデル")
def get_logic_model(request: HttpRequest, item_id: int) -> dict[str, Any]:
    """The current version (version 0 and an empty document when none is saved yet) and its warnings."""
    item = selectors.plan_item_get(actor=api_staff(request), pk=item_id)
    model = selectors.logic_model_of(item)
    if model is None:
        from machidata.ebpm.logic import empty_document

        return {"item_id": item.pk, "version": 0, "document": empty_document(), "warnings": []}
    warnings = [w.__dict__ for w in selectors.model_warnings(model)]
    return {"item_id": item.pk, "version": model.number, "document": model.document, "warnings": warnings}


@router.put(
    "/items/{int:item_id}/logic-model", response=EbpmLogicModelOut, summary="ロジックモデルを保存する"
)
def put_logic_model(request: HttpRequest, item_id: int, payload: EbpmLogicModelIn) -> dict[str, Any]:
    """Save a whole document as a new version (400 with every problem in Japanese; 409 when someone saved first)."""
    actor = api_staff(request)
    item = selectors.plan_item_get(actor=actor, pk=item_id)
    services.logic_model_save(
        actor=actor,
        item=item,
        document=payload.document,
        note=payload.note,
        expected_number=payload.expected_version,
    )
    return get_logic_model(request, item_id)


@router.get(
    "/items/{int:item_id}/logic-model/versions",
    response=list[EbpmVersionOut],
    summary="ロジックモデルの版の一覧",
)
def list_versions(request: HttpRequest, item_id: int) -> list[dict[str, Any]]:
    """Every saved version, newest first (without the documents)."""
    model = selectors.logic_model_of(selectors.plan_item_get(actor=api_staff(request), pk=item_id))
    if model is None:
        return []
    return [
        {"number": v.number, "note": v.note, "actor": v.actor_label, "created_at": v.created_at}
        for v in selectors.logic_model_versions(model=model)
    ]


@router.get(
    "/items/{int:item_id}/logic-model/versions/{int:number}",
    response=EbpmVersionOut,
    summary="ロジックモデルの過去の版",
)
def get_version(request: HttpRequest, item_id: int, number: int) -> dict[str, Any]:
    """One saved version with its document (404 when there is no such version)."""
    model = selectors.logic_model_of(selectors.plan_item_get(actor=api_staff(request), pk=item_id))
    if model is None:
        raise NotFound("この事業にはまだロジックモデルがありません。")
    v = selectors.logic_model_version(model=model, number=number)
    return {
        "number": v.number,
        "note": v.note,
        "actor": v.actor_label,
        "created_at": v.created_at,
        "document": v.document,
    }


@router.get("/indicators", response=list[EbpmIndicatorOut], summary="検証指標の一覧")
def list_indicators(request: HttpRequest, item_id: int | None = None) -> list[dict[str, Any]]:
    """Every indicator (or those of one item), with its status; at most 500."""
    return [
        _indicator(i) for i in selectors.indicator_list(actor=api_staff(request), item_id=item_id)[:LIST_MAX]
    ]


@router.get("/indicators/{int:indicator_id}", response=EbpmIndicatorDetailOut, summary="検証指標")
def get_indicator(request: HttpRequest, indicator_id: int) -> dict[str, Any]:
    """One indicator with every target, the earlier (superseded) ones included."""
    ind = selectors.indicator_get(actor=api_staff(request), pk=indicator_id)
    targets = [
        {"fiscal_year": t.fiscal_year, "kind": t.kind, "value": _number(t.value), "note": t.note,
         "created_at": t.created_at, "superseded_at": t.superseded_at}
        for t in ind.targets.order_by("fiscal_year", "created_at", "id")
    ]  # fmt: skip
    return {**_indicator(ind), "query": ind.query, "targets": targets}


def _actual(a: Any) -> dict[str, Any]:
    return {
        "fiscal_year": a.fiscal_year, "value": float(a.value), "status": a.status, "final_on": a.final_on,
        "source": a.source, "evidence": a.evidence, "evidence_url": a.evidence_url, "table_version": a.version_number,
    }  # fmt: skip


@router.get("/indicators/{int:indicator_id}/actuals", response=list[EbpmActualOut], summary="検証指標の実績")
def get_actuals(request: HttpRequest, indicator_id: int) -> list[dict[str, Any]]:
    """Actuals by 年度 (query indicators name the table version each was computed from)."""
    actor = api_staff(request)
    ind = selectors.indicator_get(actor=actor, pk=indicator_id)
    if not selectors.figures_visible(actor, ind):
        raise PermissionDenied(selectors.WITHHELD)
    return [_actual(a) for a in ind.actuals.order_by("fiscal_year")]


@router.post(
    "/indicators/{int:indicator_id}/actuals", response={201: EbpmActualOut}, summary="実績を入力する"
)
def post_actual(request: HttpRequest, indicator_id: int, payload: EbpmActualIn) -> Status:
    """Record a hand-entered actual with its evidence (owning 課's 編集 and 管理)."""
    actor = api_staff(request)
    ind = selectors.indicator_get(actor=actor, pk=indicator_id)
    if payload.fiscal_year is None:
        raise InvalidInput("年度を入力してください。")
    actual = services_indicators.indicator_actual_record(actor=actor, indicator=ind, **payload.dict())
    return Status(201, _actual(actual))


@router.post(
    "/indicators/{int:indicator_id}/targets", response={201: EbpmTargetOut}, summary="目標を設定する"
)
def post_target(request: HttpRequest, indicator_id: int, payload: EbpmTargetIn) -> Status:
    """Set the target of a 年度; a second one for the same 年度 is 409 unless ``revise`` (with a reason)."""
    actor = api_staff(request)
    ind = selectors.indicator_get(actor=actor, pk=indicator_id)
    t = services_indicators.indicator_target_set(actor=actor, indicator=ind, **payload.dict())
    return Status(201, {"fiscal_year": t.fiscal_year, "kind": t.kind, "value": _number(t.value), "note": t.note,
                        "created_at": t.created_at, "superseded_at": t.superseded_at})  # fmt: skip


# The evaluation operations live in their own module and register on this router.
from machidata.ebpm import api_evaluations as _evaluations  # noqa: E402, F401
from machidata.ebpm import api_pages as _pages  # noqa: E402, F401
from machidata.ebpm import api_sheets as _sheets  # noqa: E402, F401
