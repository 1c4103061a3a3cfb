"""Writing yearly evaluations of a 事業 and its evaluation plans (効果検証の計画, fixed at 立案).

Keyword-only, one transaction, audited; the owning 課's 編集 and 管理 write (``_require_edit``, checked
before any input is read). One evaluation per 事業 per 年度: a second is refused in Japanese. A 年度 that
has not begun cannot be evaluated. The evidence level comes from a linked saved analysis when there is
one (the analysis room's level, read with the actor's access), otherwise from the scale chosen by hand.
Achievement and cost per unit are never entered: they are computed from the indicators and the 決算.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from machidata.access.policy import Actor
from machidata.audit.services import audit_record
from machidata.core.errors import Conflict, InvalidInput, NotFound
from machidata.ebpm.models import (
    Evaluation,
    EvaluationDesign,
    EvaluationDirection,
    EvaluationPlan,
    EvidenceLevel,
    Indicator,
    IndicatorKind,
    Level,
    PlanItem,
)
from machidata.ebpm.services import _choice, _require_edit, _text, check_fiscal_year, check_number
from machidata.jp.fiscal import fiscal_year as fiscal_year_of


def _project(item: PlanItem) -> None:
    if item.level != Level.PROJECT:
        raise InvalidInput("評価を記録できるのは事業だけです（政策・施策は事業ごとに評価します）。")


def _indicator_of(item: PlanItem, value: Any, *, label: str, kind: str | None = None) -> Indicator | None:
    """An indicator of the item's logic model (blank: none); of ``kind`` when given."""
    if value in (None, ""):
        return None
    try:
        ind = Indicator.objects.get(pk=int(value), logic_model__item=item)
    except (Indicator.DoesNotExist, TypeError, ValueError):
        raise InvalidInput(f"{label}は、この事業のロジックモデルの検証指標から選んでください。") from None
    if kind is not None and ind.kind != kind:
        raise InvalidInput(
            f"{label}には{IndicatorKind(kind).label}を選んでください（「{ind.name}」は{ind.get_kind_display()}です）。"
        )
    return ind


def _level(value: Any) -> int | None:
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) not in EvidenceLevel.values:
        raise InvalidInput(f"根拠の強さ「{value}」は選べません（1〜5のレベルか、空欄＝効果の検証なし）。")
    return int(text)


def _amount(value: Any) -> int | None:
    amount = check_number(value, label="次の予算要求額", negative=False, required=False)
    if amount is None:
        return None
    if amount != amount.to_integral_value():
        raise InvalidInput("次の予算要求額は円単位の整数で入力してください。")
    return int(amount)


def _evaluated_year(value: Any) -> int:
    year = check_fiscal_year(value, label="評価する年度")
    current = fiscal_year_of(timezone.localdate())
    if year > current:
        raise InvalidInput(
            f"{year}年度はまだ始まっていないため評価できません（{current}年度までを選んでください）。"
        )
    return year


def _clean(actor: Actor, item: PlanItem, values: dict[str, Any], before: Evaluation | None) -> dict[str, Any]:
    """Every field but the 事業 and 年度, checked; the analysis must be one the actor may read (unless unchanged)."""
    clean: dict[str, Any] = {
        "self_assessment": _text(values.get("self_assessment"), label="自己評価", limit=5000, required=True),
        "direction": _choice(values.get("direction"), EvaluationDirection, label="今後の方向性"),
        "output_indicator": _indicator_of(
            item, values.get("output_indicator_id"), label="アウトプット指標", kind=IndicatorKind.ACTIVITY
        ),
        "outcome_indicator": _indicator_of(
            item, values.get("outcome_indicator_id"), label="成果指標", kind=IndicatorKind.OUTCOME
        ),
        "evidence_level": _level(values.get("evidence_level")),
        "evidence_note": _text(values.get("evidence_note"), label="根拠の説明", limit=1000),
        "next_request_note": _text(values.get("next_request_note"), label="次の予算要求への反映", limit=3000),
        "next_request_amount_yen": _amount(values.get("next_request_amount_yen")),
        "analysis_id": None,
    }
    raw: Any = values.get("analysis_id")
    if raw not in (None, ""):
        try:
            analysis_id = int(raw)
        except (TypeError, ValueError):
            raise InvalidInput("根拠とした分析が見つかりません。") from None
        if before is not None and before.analysis_id == analysis_id:
            clean["analysis_id"] = analysis_id
            clean["evidence_level"] = before.evidence_level
        else:
            from machidata.ebpm.selectors_evaluations import evidence_level_of_analysis

            try:
                _, level = evidence_level_of_analysis(actor=actor, analysis_id=analysis_id)
            except NotFound:
                raise InvalidInput(
                    "根拠とした分析が見つかりません（自分が見られる分析を選んでください）。"
                ) from None
            if level is None:
                raise InvalidInput(
                    "この分析には根拠の強さがありません（予測や、終わっていない分析は効果の根拠にできません）。"
                )
            clean["analysis_id"] = analysis_id
            clean["evidence_level"] = level
    return clean


def _changes(clean: dict[str, Any]) -> dict[str, Any]:
    out = {
        k: v
        for k, v in clean.items()
        if k not in {"output_indicator", "outcome_indicator", "self_assessment"}
    }
    out["output_indicator"] = clean["output_indicator"].pk if clean["output_indicator"] else None
    out["outcome_indicator"] = clean["outcome_indicator"].pk if clean["outcome_indicator"] else None
    return out


def evaluation_create(*, actor: Actor, item: PlanItem, fiscal_year: Any, **values: Any) -> Evaluation:
    """Record the yearly evaluation of a 事業 (one per 年度; a second is refused in Japanese).

    ``values``: self_assessment, direction, output_indicator_id, outcome_indicator_id, evidence_level,
    analysis_id, evidence_note, next_request_note, next_request_amount_yen.
    """
    _require_edit(actor, item)
    _project(item)
    year = _evaluated_year(fiscal_year)
    clean = _clean(actor, item, values, None)
    duplicate = (
        f"{year}年度の評価はすでにあります（一つの事業につき一年度一件です。既存の評価を直してください）。"
    )
    if Evaluation.objects.filter(item=item, fiscal_year=year).exists():
        raise Conflict(duplicate)
    try:
        with transaction.atomic():
            evaluation = Evaluation.objects.create(
                item=item, fiscal_year=year, created_by_id=actor.user_id, **clean
            )
            audit_record(
                actor=actor,
                action="ebpm.evaluation.create",
                obj=item,
                changes={"evaluation": evaluation.pk, "fiscal_year": year, **_changes(clean)},
            )
    except IntegrityError:  # two saves at once
        raise Conflict(duplicate) from None
    return evaluation


def evaluation_update(
    *, actor: Actor, evaluation: Evaluation, lock_version: int, **values: Any
) -> Evaluation:
    """Change an evaluation's text, indicators, evidence, direction and reflection (its 事業 and 年度 stay)."""
    _require_edit(actor, evaluation.item)
    clean = _clean(actor, evaluation.item, values, evaluation)
    with transaction.atomic():
        current = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
        if current.lock_version != lock_version:
            raise Conflict("ほかの人が先に変更しました。画面を読み直してください。")
        changed = {
            k: v
            for k, v in _changes(clean).items()
            if getattr(current, k if k not in {"output_indicator", "outcome_indicator"} else f"{k}_id") != v
        }
        if current.self_assessment != clean["self_assessment"]:
            changed["self_assessment"] = "（変更）"
        if not changed:
            return current
        for k, v in clean.items():
            setattr(current, k, v)
        current.lock_version += 1
        current.save()
        audit_record(
            actor=actor,
            action="ebpm.evaluation.update",
            obj=current.item,
            changes={"evaluation": current.pk, "fiscal_year": current.fiscal_year, **changed},
        )
    return current


def evaluation_plan_add(
    *,
    actor: Actor,
    item: PlanItem,
    indicator_id: Any,
    design: str,
    fiscal_year: Any,
    timing: str = "",
    note: str = "",
) -> EvaluationPlan:
    """Fix how the 事業's effect will be verified: which indicator, which design, in which 年度 (and when)."""
    _require_edit(actor, item)
    _project(item)
    indicator = _indicator_of(item, indicator_id, label="検証する指標")
    if indicator is None:
        raise InvalidInput("検証する指標を選んでください。")
    plan = EvaluationPlan(
        item=item,
        indicator=indicator,
        design=_choice(design, EvaluationDesign, label="検証の方法"),
        fiscal_year=check_fiscal_year(fiscal_year, label="検証する年度"),
        timing=_text(timing, label="時期・段取り", limit=300),
        note=_text(note, label="比較対象・メモ", limit=1000),
        stage_at_fixing=item.stage,
        actor_label=actor.label(),
    )
    with transaction.atomic():
        plan.save()
        audit_record(
            actor=actor,
            action="ebpm.evaluation_plan.add",
            obj=item,
            changes={
                "plan": plan.pk,
                "indicator": indicator.pk,
                "design": plan.design,
                "fiscal_year": plan.fiscal_year,
            },
        )
    return plan


def evaluation_plan_remove(*, actor: Actor, plan: EvaluationPlan) -> None:
    """Remove an evaluation plan (audited with what it said)."""
    _require_edit(actor, plan.item)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="ebpm.evaluation_plan.remove",
            obj=plan.item,
            changes={
                "plan": plan.pk,
                "indicator": plan.indicator_id,
                "design": plan.design,
                "fiscal_year": plan.fiscal_year,
            },
        )
        plan.delete()
