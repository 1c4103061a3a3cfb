"""Reads of EBPM: plan items, logic models and indicators, shared with every member of staff.

EBPM is shared across the city (the strategy asks 課 to learn from each other's logic models), so
any signed-in member of staff reads everything (``policy.restrict_staff``); the public reads nothing
here (public pages come through the publication route later). Changes are for the owning 課's 編集
and 管理 (``policy.may_edit_unit_owned``). Missing items answer NotFound.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from django.db.models import Count, Prefetch, Q, QuerySet

from machidata.access.models import Unit, UnitKind
from machidata.access.policy import Action, Actor, can, may_edit_unit_owned, restrict_staff
from machidata.catalog.models import Table
from machidata.core.errors import NotFound
from machidata.ebpm import kpi, logic
from machidata.ebpm.formula import FormulaError
from machidata.ebpm.formula import references as formula_refs
from machidata.ebpm.models import (
    Indicator,
    IndicatorActual,
    IndicatorStatus,
    IndicatorTarget,
    Level,
    LogicModel,
    LogicModelVersion,
    PlanItem,
    SourceKind,
)

# Said in place of the figures when they come from a table the reader may not read.
WITHHELD: Final = (
    "この指標の実績は、集計元の表を読める人にだけ表示します（表のページから利用申請ができます）。"
)


def plan_items(
    *, actor: Actor, level: str | None = None, unit_id: int | None = None, stage: str | None = None
) -> QuerySet[PlanItem]:
    """Plan items every member of staff may read, optionally filtered by 区分, 所管課 and 段階."""
    qs = restrict_staff(PlanItem.objects.select_related("unit", "parent"), actor)
    if level:
        qs = qs.filter(level=level)
    if unit_id:
        qs = qs.filter(unit_id=unit_id)
    if stage:
        qs = qs.filter(stage=stage)
    return qs.order_by("code", "name", "id")


def with_indicator_counts(items: QuerySet[PlanItem]) -> QuerySet[PlanItem]:
    """Annotate each item with how many of its indicators stand in each status (``n_achieved`` …, ``n_check``)."""
    counts = {
        f"n_{status}": Count("logic_model__indicators", filter=Q(logic_model__indicators__status=status))
        for status in IndicatorStatus.values
    }
    return items.annotate(n_indicators=Count("logic_model__indicators"), **counts)


def plan_item_get(*, actor: Actor, pk: int) -> PlanItem:
    """One plan item, or NotFound."""
    item = plan_items(actor=actor).filter(pk=pk).first()
    if item is None:
        raise NotFound("政策・施策・事業が見つかりません。")
    return item


def may_edit(actor: Actor, item: PlanItem) -> bool:
    """Whether ``actor`` may change ``item`` and what hangs on it (its 課's 編集, or 管理)."""
    return may_edit_unit_owned(actor, item.unit_id)


def editable_items(*, actor: Actor) -> QuerySet[PlanItem]:
    """Items the actor may change (their 課's as 編集; 管理: all)."""
    qs = plan_items(actor=actor)
    return qs if actor.is_admin else qs.filter(unit_id__in=actor.editor_unit_ids)


def owner_units(*, actor: Actor) -> QuerySet[Unit]:
    """The 課 the actor may create items for (管理: every active 課)."""
    qs = Unit.objects.active_on().filter(kind=UnitKind.DIVISION).order_by("code")
    return qs if actor.is_admin else qs.filter(pk__in=actor.editor_unit_ids)


def all_divisions() -> QuerySet[Unit]:
    """Every active 課 (the filter of the list page and the 担当課 of indicators)."""
    return Unit.objects.active_on().filter(kind=UnitKind.DIVISION).order_by("code")


def ancestors(item: PlanItem) -> list[PlanItem]:
    """The item's 政策 and 施策 above it, top first."""
    chain: list[PlanItem] = []
    node = item.parent
    while node is not None and len(chain) < 3:
        chain.insert(0, node)
        node = node.parent
    return chain


def logic_model_of(item: PlanItem) -> LogicModel | None:
    """The item's logic model, if it has one."""
    return LogicModel.objects.filter(item=item).first()


def logic_model_versions(*, model: LogicModel) -> QuerySet[LogicModelVersion]:
    """Every saved version, newest first."""
    return model.versions.order_by("-number")


def logic_model_version(*, model: LogicModel, number: int) -> LogicModelVersion:
    """One version, or NotFound."""
    found = model.versions.filter(number=number).first()
    if found is None:
        raise NotFound(f"第{number}版はありません。")
    return found


def indicators_of(model: LogicModel) -> QuerySet[Indicator]:
    """The model's indicators with their current targets and actuals."""
    return (
        model.indicators.select_related("responsible_unit", "table__dataset")
        .prefetch_related(
            Prefetch(
                "targets",
                queryset=IndicatorTarget.objects.filter(superseded_at__isnull=True),
                to_attr="current_targets",
            ),
            Prefetch(
                "actuals", queryset=IndicatorActual.objects.order_by("fiscal_year"), to_attr="actual_rows"
            ),
        )
        .order_by("id")
    )


def indicator_list(*, actor: Actor, item_id: int | None = None) -> QuerySet[Indicator]:
    """Indicators every member of staff may read (optionally of one item)."""
    qs = restrict_staff(
        Indicator.objects.select_related("logic_model__item__unit", "responsible_unit"), actor
    )
    if item_id:
        qs = qs.filter(logic_model__item_id=item_id)
    return qs.order_by("logic_model__item__code", "id")


def indicator_get(*, actor: Actor, pk: int) -> Indicator:
    """One indicator, or NotFound."""
    found = indicator_list(actor=actor).filter(pk=pk).first()
    if found is None:
        raise NotFound("検証指標が見つかりません。")
    return found


def figures_visible(actor: Actor, indicator: Indicator) -> bool:
    """Whether ``actor`` may see the indicator's actuals, rates and trend.

    The indicator itself (name, definition, targets, status) is shared with all staff, but figures
    computed from a catalog table are the table's data: only those the policy lets read that table see
    them; a formula's figures, only those who may read every table its inputs come from.
    """
    ids = {indicator.pk}
    if indicator.source_kind == SourceKind.FORMULA:
        with contextlib.suppress(FormulaError):
            ids |= formula_refs(str((indicator.query or {}).get("formula") or ""))
    table_ids = set(
        Indicator.objects.filter(pk__in=ids, table__isnull=False).values_list("table_id", flat=True)
    )
    if indicator.table_id:
        table_ids.add(indicator.table_id)
    tables = Table.objects.filter(pk__in=table_ids).select_related("dataset")
    return all(can(actor, Action.READ, t.dataset) for t in tables)


def model_warnings(model: LogicModel) -> list[logic.ModelWarning]:
    """The guidance warnings of the current version, with the indicators attached now."""
    pairs = list(model.indicators.values_list("node_id", "kind"))
    return logic.warnings(model.document, pairs)


def model_svg(model: LogicModel, *, document: dict[str, Any] | None = None) -> str:
    """The SVG of the current (or a given) version, with indicator names in their boxes."""
    names: dict[str, list[str]] = {}
    for node_id, name in model.indicators.values_list("node_id", "name"):
        names.setdefault(node_id, []).append(name)
    from machidata.ebpm.svg import render

    return render(document or model.document, indicators=names, title=f"ロジックモデル: {model.item.name}")


@dataclass(frozen=True)
class YearRow:
    """One 年度 of an indicator's table: the current target, its earlier values, the actual and the rate."""

    fiscal_year: int
    target: IndicatorTarget | None
    earlier: list[IndicatorTarget]
    actual: IndicatorActual | None
    rate: Decimal | None


def indicator_years(indicator: Indicator) -> list[YearRow]:
    """Targets (current and superseded) against actuals, by 年度."""
    targets = list(indicator.targets.order_by("fiscal_year", "-created_at", "-id"))
    actuals = {a.fiscal_year: a for a in indicator.actuals.all()}
    years = sorted({t.fiscal_year for t in targets} | set(actuals))
    rows = []
    for year in years:
        mine = [t for t in targets if t.fiscal_year == year]
        current = next((t for t in mine if t.superseded_at is None), None)
        actual = actuals.get(year)
        rate = None
        if actual is not None and current is not None:
            rate = kpi.achievement_rate(
                rule=indicator.rate_rule,
                direction=indicator.direction,
                actual=actual.value,
                target=current.value,
                baseline=indicator.baseline_value,
            )
        rows.append(YearRow(year, current, [t for t in mine if t is not current], actual, rate))
    return rows


def item_levels() -> list[tuple[str, str]]:
    """区分 choices."""
    return list(Level.choices)


def indicator_trend_spec(indicator: Indicator, years: list[YearRow]) -> dict[str, Any] | None:
    """The target-vs-actual line chart of an indicator (the charts room's Vega-Lite function; None without values)."""
    from machidata.charts.vegalite import Column, SpecError, vegalite_spec

    rows: list[dict[str, Any]] = []
    for y in years:
        if y.target is not None and y.target.value is not None:
            rows.append({"年度": y.fiscal_year, "区分": "目標", "値": float(y.target.value)})
        if y.actual is not None:
            rows.append({"年度": y.fiscal_year, "区分": "実績", "値": float(y.actual.value)})
    if not rows:
        return None
    document = {
        "visual": {"type": "line", "x": "年度", "y": "値", "color": "区分", "options": {}},
        "meta": {"title": f"{indicator.name}（目標と実績）"},
    }
    columns = [Column("年度", "integer", "fiscal_year"), Column("区分", "string"), Column("値", "number")]
    try:
        return vegalite_spec(document, rows, columns)
    except SpecError:  # pragma: no cover - a fixed, valid document
        return None


# The month the 予算要求 is made (熊本市: requests in October for the next fiscal year's budget).
BUDGET_REQUEST_MONTH: Final = 10


def _fiscal_index(month: int) -> int:
    """April = 1 … March = 12."""
    return (month - 4) % 12 + 1


@dataclass(frozen=True)
class CalendarRow:
    """One indicator in the data calendar: when its yearly figure arrives, against the 予算要求."""

    indicator: Indicator
    month: int | None
    late: bool

    @property
    def label(self) -> str:
        """「翌年度の9月」 or 「未設定」."""
        return f"翌年度の{self.month}月" if self.month else "未設定"


def data_calendar(*, actor: Actor, unit_id: int | None = None) -> list[CalendarRow]:
    """Every indicator (optionally of one 担当課) with the month its figure arrives, late ones flagged.

    A figure for 年度 N that arrives in month M of 年度 N+1 can inform the 予算要求 made in
    :data:`BUDGET_REQUEST_MONTH` of 年度 N+1 only when M comes first in the fiscal year (April first).
    """
    qs = indicator_list(actor=actor).select_related("logic_model__item__unit", "responsible_unit")
    if unit_id:
        qs = qs.filter(responsible_unit_id=unit_id)
    rows = []
    for ind in qs:
        month = ind.data_month
        late = month is not None and _fiscal_index(month) > _fiscal_index(BUDGET_REQUEST_MONTH)
        rows.append(CalendarRow(ind, month, late))
    return sorted(rows, key=lambda r: (r.month is None, _fiscal_index(r.month or 4), r.indicator.pk))


def calendar_months() -> list[int]:
    """The months of a fiscal year, April first."""
    return [4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3]
