"""Reads of yearly evaluations, evaluation plans and the 査定 view (finance division), shared with all staff.

Achievement and cost per output/outcome are computed when shown, from the indicators' targets and actuals
and the budget lines' 決算 (not re-entered). Figures that come from a catalog table the reader may not
read (``selectors.figures_visible``) are withheld — and so is a cost per unit computed from them, since
決算 ÷ cost would give the figure back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from django.db.models import QuerySet

from machidata.access.policy import Actor, restrict_staff
from machidata.core.errors import NotFound
from machidata.ebpm import kpi, selectors
from machidata.ebpm.models import (
    BudgetKind,
    BudgetLine,
    Evaluation,
    EvaluationDirection,
    EvaluationPlan,
    Indicator,
    Level,
    LogicModel,
    PlanItem,
)

WITHHELD_COST: Final = "集計元の表を読めないため表示しません。"


def evaluation_list(
    *,
    actor: Actor,
    item_id: int | None = None,
    fiscal_year: int | None = None,
    unit_id: int | None = None,
    direction: str | None = None,
) -> QuerySet[Evaluation]:
    """Evaluations every member of staff may read, newest 年度 first, optionally filtered."""
    qs = restrict_staff(
        Evaluation.objects.select_related("item__unit", "output_indicator", "outcome_indicator", "analysis"),
        actor,
    )
    if item_id:
        qs = qs.filter(item_id=item_id)
    if fiscal_year:
        qs = qs.filter(fiscal_year=fiscal_year)
    if unit_id:
        qs = qs.filter(item__unit_id=unit_id)
    if direction:
        qs = qs.filter(direction=direction)
    return qs.order_by("-fiscal_year", "item__code", "item__name", "id")


def evaluation_get(*, actor: Actor, pk: int) -> Evaluation:
    """One evaluation, or NotFound."""
    found = evaluation_list(actor=actor).filter(pk=pk).first()
    if found is None:
        raise NotFound("事業評価が見つかりません。")
    return found


def evaluation_plans_of(item: PlanItem) -> QuerySet[EvaluationPlan]:
    """The item's evaluation plans (which indicator, which design, when), by 年度."""
    return item.evaluation_plans.select_related("indicator").order_by("fiscal_year", "id")


def item_indicators(item: PlanItem) -> QuerySet[Indicator]:
    """The indicators of the item's logic model (the choices of an evaluation and its plan)."""
    return Indicator.objects.filter(logic_model__item=item).order_by("id")


# ---- the figures of an evaluation -----------------------------------------------------------------


@dataclass(frozen=True)
class Achievement:
    """One indicator in the evaluated 年度: its current target, the actual, the rate and whether it was reached."""

    indicator: Indicator
    target: Decimal | None
    actual: Decimal | None
    rate: Decimal | None
    reached: bool | None
    withheld: bool = False


@dataclass(frozen=True)
class UnitCost:
    """決算 ÷ an indicator's actual in the 年度, or why it cannot be computed (``reason``)."""

    value: Decimal | None
    reason: str = ""
    indicator: Indicator | None = None


@dataclass(frozen=True)
class Figures:
    """What an evaluation shows beside the text: achievement by indicator and the cost per unit."""

    fiscal_year: int
    achievements: list[Achievement]
    settlement_yen: int | None
    cost_per_output: UnitCost
    cost_per_outcome: UnitCost

    @property
    def measured(self) -> int:
        """Indicators with a target and an actual in the 年度 that the reader may see."""
        return sum(1 for a in self.achievements if a.reached is not None)

    @property
    def reached_count(self) -> int:
        """Of those, the ones that reached their target."""
        return sum(1 for a in self.achievements if a.reached)

    @property
    def mean_rate(self) -> Decimal | None:
        """The mean achievement rate of the indicators with a rate (1 = 100 %), or None."""
        rates = [a.rate for a in self.achievements if a.rate is not None]
        if not rates:
            return None
        return sum(rates, Decimal(0)) / len(rates)

    @property
    def summary(self) -> str:
        """「2/3指標が目標を達成」 or why there is nothing to say."""
        if not self.achievements:
            return "検証指標がありません"
        if not self.measured:
            return f"{self.fiscal_year}年度の目標と実績がそろった指標はありません"
        return f"{self.reached_count}/{self.measured}指標が目標を達成"


def settlement_of(item: PlanItem, fiscal_year: int) -> int | None:
    """The item's 決算（執行額） for the 年度, or None when it has not been recorded."""
    line = BudgetLine.objects.filter(item=item, fiscal_year=fiscal_year, kind=BudgetKind.SETTLEMENT).first()
    return line.amount_yen if line is not None else None


def achievement_of(actor: Actor, indicator: Indicator, fiscal_year: int) -> Achievement:
    """The indicator's target, actual and rate in ``fiscal_year`` (figures withheld from those who may not read them)."""
    row = next((y for y in selectors.indicator_years(indicator) if y.fiscal_year == fiscal_year), None)
    target = row.target.value if row is not None and row.target is not None else None
    if row is None or row.actual is None:
        return Achievement(indicator, target, None, None, None)
    if not selectors.figures_visible(actor, indicator):
        return Achievement(indicator, target, None, None, None, withheld=True)
    actual = row.actual.value
    hit = None if target is None else kpi.reached(direction=indicator.direction, actual=actual, target=target)
    return Achievement(indicator, target, actual, row.rate, hit)


def unit_cost(
    actor: Actor, *, settlement_yen: int | None, indicator: Indicator | None, fiscal_year: int, what: str
) -> UnitCost:
    """決算 ÷ the indicator's actual in the 年度; a plain Japanese reason when it cannot be computed."""
    if indicator is None:
        return UnitCost(None, f"{what}指標が選ばれていないため計算できません。")
    if settlement_yen is None:
        return UnitCost(None, f"{fiscal_year}年度の決算（執行額）が未入力のため計算できません。", indicator)
    actual = indicator.actuals.filter(fiscal_year=fiscal_year).first()
    if actual is None:
        return UnitCost(
            None, f"「{indicator.name}」の{fiscal_year}年度の実績がないため計算できません。", indicator
        )
    if not selectors.figures_visible(actor, indicator):
        return UnitCost(None, WITHHELD_COST, indicator)
    if actual.value <= 0:
        return UnitCost(
            None, f"「{indicator.name}」の{fiscal_year}年度の実績が0以下のため計算できません。", indicator
        )
    value = (Decimal(settlement_yen) / actual.value).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    return UnitCost(value, "", indicator)


def evaluation_figures(*, actor: Actor, evaluation: Evaluation) -> Figures:
    """Achievement of every indicator of the 事業 and the cost per output/outcome, in the evaluated 年度."""
    return item_figures(
        actor=actor,
        item=evaluation.item,
        fiscal_year=evaluation.fiscal_year,
        output=evaluation.output_indicator,
        outcome=evaluation.outcome_indicator,
    )


def item_figures(
    *, actor: Actor, item: PlanItem, fiscal_year: int, output: Indicator | None, outcome: Indicator | None
) -> Figures:
    """:func:`evaluation_figures` for an item and a 年度 (also used before an evaluation exists)."""
    model = LogicModel.objects.filter(item=item).first()
    indicators = list(selectors.indicators_of(model)) if model is not None else []
    settlement = settlement_of(item, fiscal_year)
    return Figures(
        fiscal_year=fiscal_year,
        achievements=[achievement_of(actor, ind, fiscal_year) for ind in indicators],
        settlement_yen=settlement,
        cost_per_output=unit_cost(
            actor, settlement_yen=settlement, indicator=output, fiscal_year=fiscal_year, what="アウトプット"
        ),
        cost_per_outcome=unit_cost(
            actor, settlement_yen=settlement, indicator=outcome, fiscal_year=fiscal_year, what="成果"
        ),
    )


def evidence_level_of_analysis(*, actor: Actor, analysis_id: int) -> tuple[Any, int | None]:
    """A saved analysis the actor may read (the analysis room's ``analysis_get``) and its evidence level.

    The level is the one the analysis room gave the result (its scale: 1–5; None for forecasts and plans,
    which make no causal claim, and for an analysis that did not finish). NotFound for one the actor
    may not read.
    """
    from machidata.analysis.selectors import analysis_get

    analysis = analysis_get(actor=actor, pk=analysis_id)
    level = (analysis.result or {}).get("evidence_level") if analysis.status == "done" else None
    return analysis, level if isinstance(level, int) and 1 <= level <= 5 else None


def readable_analyses(*, actor: Actor) -> QuerySet[Any]:
    """The finished analyses the actor may read (the choices of the evaluation form)."""
    from machidata.analysis.selectors import analysis_list

    return analysis_list(actor=actor).filter(status="done")


def analysis_visible(actor: Actor, evaluation: Evaluation) -> bool:
    """Whether the reader may open the analysis the evaluation names (the evidence level is shown to all)."""
    if evaluation.analysis_id is None:
        return False
    from machidata.analysis.selectors import analysis_list

    return analysis_list(actor=actor).filter(pk=evaluation.analysis_id).exists()


# ---- the 査定 view --------------------------------------------------------------------------------


@dataclass
class ReviewRow:
    """One 事業 in the 査定 view of a 年度: its logic model, achievement, cost, evidence and proposed direction."""

    item: PlanItem
    evaluation: Evaluation | None
    model_version: int
    figures: Figures
    warnings: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def direction_label(self) -> str:
        """The proposed direction, or 未評価."""
        return self.evaluation.get_direction_display() if self.evaluation else "未評価"

    @property
    def evidence_label(self) -> str:
        """The evidence level's name, or what stands in its place."""
        if self.evaluation is None:
            return "—"
        if self.evaluation.evidence_level is None:
            return "効果の検証なし"
        return str(self.evaluation.get_evidence_level_display())


def _direction_rank(row: ReviewRow) -> int | None:
    if row.evaluation is None:
        return None
    return list(EvaluationDirection.values).index(row.evaluation.direction)


SORTS: Final[dict[str, tuple[str, Callable[[ReviewRow], Any]]]] = {
    "code": ("番号", lambda r: (r.item.code, r.item.name)),
    "name": ("事業名", lambda r: r.item.name),
    "unit": ("所管課", lambda r: r.item.unit.code),
    "model": ("ロジックモデル", lambda r: r.model_version),
    "achievement": ("達成状況", lambda r: r.figures.mean_rate),
    "settlement": ("決算額", lambda r: r.figures.settlement_yen),
    "cost_output": ("アウトプット単位コスト", lambda r: r.figures.cost_per_output.value),
    "cost_outcome": ("成果単位コスト", lambda r: r.figures.cost_per_outcome.value),
    "evidence": ("根拠の強さ", lambda r: r.evaluation.evidence_level if r.evaluation else None),
    "direction": ("方向性", _direction_rank),
}


def review_rows(
    *,
    actor: Actor,
    fiscal_year: int,
    unit_id: int | None = None,
    direction: str | None = None,
    sort: str = "code",
    descending: bool = False,
) -> list[ReviewRow]:
    """Every 事業 (optionally of one 課; with a direction: only those evaluated so) for the 査定 of ``fiscal_year``.

    Sorted by one of :data:`SORTS` (blanks last whichever way); unknown sort keys sort by 番号.
    """
    items = selectors.plan_items(actor=actor, level=Level.PROJECT, unit_id=unit_id)
    evaluations = {
        e.item_id: e for e in evaluation_list(actor=actor, fiscal_year=fiscal_year, unit_id=unit_id)
    }
    if direction:
        items = items.filter(pk__in=[i for i, e in evaluations.items() if e.direction == direction])
    models = {m.item_id: m for m in LogicModel.objects.filter(item__in=items)}
    rows = []
    for item in items:
        ev = evaluations.get(item.pk)
        model = models.get(item.pk)
        figures = item_figures(
            actor=actor,
            item=item,
            fiscal_year=fiscal_year,
            output=ev.output_indicator if ev else None,
            outcome=ev.outcome_indicator if ev else None,
        )
        rows.append(
            ReviewRow(
                item=item,
                evaluation=ev,
                model_version=model.number if model else 0,
                figures=figures,
                warnings=len(selectors.model_warnings(model)) if model and model.number else 0,
            )
        )
    key = SORTS.get(sort, SORTS["code"])[1]
    present = [r for r in rows if key(r) is not None]
    blank = [r for r in rows if key(r) is None]
    present.sort(key=key, reverse=descending)
    return present + blank


def review_years(*, actor: Actor) -> list[int]:
    """The 年度 with evaluations or 決算, newest first (the choices of the 査定 view)."""
    years = set(evaluation_list(actor=actor).values_list("fiscal_year", flat=True))
    years |= set(
        BudgetLine.objects.filter(kind=BudgetKind.SETTLEMENT, item__level=Level.PROJECT).values_list(
            "fiscal_year", flat=True
        )
    )
    return sorted(years, reverse=True)
