"""Writing indicators (検証指標): create, targets (revisions kept), actuals by hand, from a TableQuery or a formula.

Query indicators are computed through ``catalog.query_selectors.table_query`` as the indicator's
creator (their read access is checked at every computation), one row per 年度, with the table version
used recorded on each actual. The lake's ``version_committed`` signal recomputes the indicators over
that table; a query that no longer fits (a renamed column, no read access any more) marks the
indicator 要確認 with the reason instead of failing. Formula indicators follow their inputs.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from machidata.access.policy import Actor, actor_for
from machidata.audit.services import audit_record
from machidata.catalog.models import Table, TableVersion
from machidata.core.errors import Conflict, InvalidInput, MachidataError
from machidata.ebpm import kpi
from machidata.ebpm.formula import FormulaError
from machidata.ebpm.formula import evaluate as formula_eval
from machidata.ebpm.formula import references as formula_refs
from machidata.ebpm.models import (
    ActualStatus,
    Direction,
    Indicator,
    IndicatorActual,
    IndicatorKind,
    IndicatorStatus,
    IndicatorTarget,
    LogicModel,
    PlanItem,
    RateRule,
    SourceKind,
    TargetKind,
)
from machidata.ebpm.services import (
    NAME_MAX,
    SYSTEM,
    _choice,
    _division,
    _require_edit,
    _text,
    check_fiscal_year,
    check_month,
    check_number,
)
from machidata.jp.fiscal import fiscal_year as fiscal_year_of
from machidata.jp.fiscal import fiscal_year_range

logger = logging.getLogger(__name__)


def _query_definition(table_id: Any, query: Any) -> tuple[Table, dict[str, Any]]:
    try:
        table = Table.objects.select_related("dataset").get(pk=int(table_id))
    except (Table.DoesNotExist, TypeError, ValueError):
        raise InvalidInput("集計する表が見つかりません。") from None
    if not isinstance(query, dict) or not isinstance(query.get("query"), dict):
        raise InvalidInput(
            '集計の定義は {"query": TableQuery, "year_column": 列名, "value_column": 列名} の形で指定してください。'
        )
    year_column = _text(query.get("year_column"), label="年度の列", limit=100, required=True)
    value_column = _text(query.get("value_column"), label="値の列", limit=100, required=True)
    return table, {"query": query["query"], "year_column": year_column, "value_column": value_column}


def indicator_create(
    *,
    actor: Actor,
    item: PlanItem,
    node_id: str,
    name: str,
    kind: str,
    responsible_unit_id: Any,
    unit_label: str = "",
    direction: str = Direction.UP,
    definition: str = "",
    data_source: str = "",
    baseline_value: Any = None,
    baseline_year: Any = None,
    rate_rule: str = RateRule.RATIO,
    source_kind: str = SourceKind.MANUAL,
    table_id: Any = None,
    query: Any = None,
    data_month: Any = None,
    formula: str = "",
    allow_negative: bool = False,
) -> Indicator:
    """Attach an indicator to a node of the item's logic model; a query indicator is computed at once (its errors refuse it)."""
    _require_edit(actor, item)
    model = LogicModel.objects.filter(item=item).first()
    if model is None or not any(n["id"] == node_id for n in model.document.get("nodes", [])):
        raise InvalidInput(f"要素「{node_id}」はこの事業のロジックモデルにありません。")
    baseline = check_number(baseline_value, label="基準値", required=False, negative=bool(allow_negative))
    base_year = (
        check_fiscal_year(baseline_year, label="基準年度") if str(baseline_year or "").strip() else None
    )
    if baseline is not None and base_year is None:
        raise InvalidInput("基準値には基準年度も入力してください。")
    rule = _choice(rate_rule, RateRule, label="達成率の計算")
    if rule == RateRule.PROGRESS and baseline is None:
        raise InvalidInput("「（実績 − 基準値）÷（目標 − 基準値）」で計算するには基準値が必要です。")
    source_kind = _choice(source_kind, SourceKind, label="実績の入れ方")
    table: Table | None = None
    definition_json: dict[str, Any] = {}
    if source_kind == SourceKind.QUERY:
        table, definition_json = _query_definition(table_id, query)
    elif source_kind == SourceKind.FORMULA:
        definition_json = {"formula": _formula_definition(formula)}
    indicator = Indicator(
        logic_model=model,
        node_id=node_id,
        name=_text(name, label="指標名", limit=NAME_MAX, required=True),
        kind=_choice(kind, IndicatorKind, label="指標の種類"),
        unit_label=_text(unit_label, label="単位", limit=20),
        direction=_choice(direction, Direction, label="方向"),
        definition=_text(definition, label="定義", limit=2000),
        data_source=_text(data_source, label="データの出所", limit=300),
        baseline_value=baseline,
        baseline_year=base_year,
        rate_rule=rule,
        responsible_unit=_division(responsible_unit_id, label="担当課"),
        source_kind=source_kind,
        table=table,
        query=definition_json,
        data_month=check_month(data_month),
        allow_negative=bool(allow_negative),
        created_by_id=actor.user_id,
    )
    with transaction.atomic():
        indicator.save()
        audit_record(
            actor=actor,
            action="ebpm.indicator.create",
            obj=indicator,
            changes={"item": item.pk, "node": node_id, "source": source_kind},
        )
        if source_kind == SourceKind.QUERY:
            problem = _compute(indicator, actor)
            if problem:
                raise InvalidInput(f"集計できません: {problem}")
        elif source_kind == SourceKind.FORMULA:
            problem = _compute_formula(indicator, actor)
            if problem:
                raise InvalidInput(f"計算できません: {problem}")
    return indicator


def indicator_target_set(
    *,
    actor: Actor,
    indicator: Indicator,
    fiscal_year: Any,
    value: Any,
    kind: str = TargetKind.INTERIM,
    note: str = "",
    revise: bool = False,
) -> IndicatorTarget:
    """Set the target of a 年度 (blank value: 目標未設定). A second target for the same 年度 is refused unless
    ``revise``, which keeps the old one (superseded, still shown) and records the reason."""
    _require_edit(actor, indicator.logic_model.item)
    year = check_fiscal_year(fiscal_year)
    number = check_number(value, label="目標値", required=False, negative=indicator.allow_negative)
    kind = _choice(kind, TargetKind, label="目標の種類")
    note = _text(note, label="メモ・変更の理由", limit=500)
    with transaction.atomic():
        old = (
            IndicatorTarget.objects.select_for_update()
            .filter(indicator=indicator, fiscal_year=year, superseded_at__isnull=True)
            .first()
        )
        if old is not None:
            if not revise:
                raise Conflict(
                    f"{year}年度の目標はすでにあります。変える場合は「目標を変更する」を選び、理由を書いてください。"
                )
            if not note:
                raise InvalidInput("目標を変更する理由を書いてください（変更前の目標も残ります）。")
            old.superseded_at = timezone.now()
            old.save(update_fields=["superseded_at"])
        target = IndicatorTarget.objects.create(
            indicator=indicator,
            fiscal_year=year,
            kind=kind,
            value=number,
            note=note,
            actor_label=actor.label(),
        )
        audit_record(
            actor=actor, action="ebpm.target.set", obj=indicator,
            changes={"fiscal_year": year, "value": None if number is None else str(number), "previous": None if old is None else (None if old.value is None else str(old.value))},
        )  # fmt: skip
        _judge(indicator)
    return target


def indicator_actual_record(
    *,
    actor: Actor,
    indicator: Indicator,
    fiscal_year: Any,
    value: Any,
    status: str = ActualStatus.PRELIMINARY,
    final_on: Any = None,
    evidence: str = "",
    evidence_url: str = "",
) -> IndicatorActual:
    """Record (or correct) a hand-entered actual for a 年度, with its evidence; 速報 or 確定."""
    _require_edit(actor, indicator.logic_model.item)
    if indicator.source_kind != SourceKind.MANUAL:
        raise InvalidInput(
            f"この指標の実績は「{indicator.get_source_kind_display()}」で入ります（手入力はできません）。"
        )
    year = check_fiscal_year(fiscal_year)
    number = check_number(value, label="実績値", negative=indicator.allow_negative)
    status = _choice(status, ActualStatus, label="速報・確定")
    final_day = _date(final_on, label="確定する日")
    evidence = _text(evidence, label="根拠", limit=1000)
    evidence_url = _text(evidence_url, label="根拠のURL", limit=500)
    if evidence_url and not evidence_url.startswith(("https://", "http://")):
        raise InvalidInput("根拠のURLは http:// か https:// で始めてください。")
    if not evidence and not evidence_url:
        raise InvalidInput("実績の根拠（資料名やURL）を入力してください。")
    with transaction.atomic():
        actual, _ = IndicatorActual.objects.update_or_create(
            indicator=indicator, fiscal_year=year,
            defaults={"value": number, "status": status, "final_on": final_day, "source": SourceKind.MANUAL,
                      "evidence": evidence, "evidence_url": evidence_url, "actor_label": actor.label(), "updated_at": timezone.now()},
        )  # fmt: skip
        audit_record(
            actor=actor,
            action="ebpm.actual.record",
            obj=indicator,
            changes={"fiscal_year": year, "value": str(number), "status": status},
        )
        _judge(indicator)
        _recompute_dependents(indicator, actor)
    return actual


def _date(value: Any, *, label: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(f"{label}「{value}」は日付として読めません（例: 2025-09-30）。") from None


def _judge(indicator: Indicator) -> None:
    """Store the indicator's status from its actuals and current targets (inside the caller's transaction)."""
    if indicator.status == IndicatorStatus.CHECK and indicator.source_kind != SourceKind.MANUAL:
        return  # stays 要確認 until the query or formula works again
    result = kpi.judge(
        rule=indicator.rate_rule,
        direction=indicator.direction,
        baseline=indicator.baseline_value,
        actuals=dict(indicator.actuals.values_list("fiscal_year", "value")),
        targets=dict(
            indicator.targets.filter(superseded_at__isnull=True).values_list("fiscal_year", "value")
        ),
    )
    indicator.status, indicator.status_reason = result.status, result.reason
    Indicator.objects.filter(pk=indicator.pk).update(status=result.status, status_reason=result.reason)


def _compute(indicator: Indicator, actor: Actor) -> str:
    """Compute a query indicator's actuals per 年度 (inside a transaction); returns the problem, or "" when done."""
    from machidata.catalog.query_selectors import table_query

    spec = indicator.query or {}
    problem = ""
    rows: list[dict[str, Any]] = []
    version: TableVersion | None = None
    if indicator.table is None:
        problem = "集計する表が削除されています。"
    else:
        try:
            answer = table_query(actor=actor, table=indicator.table, query=spec.get("query") or {})
        except MachidataError as exc:
            problem = exc.message
        else:
            version, rows = answer.version, answer.result.to_pylist()
            names = answer.result.column_names
            missing = [c for c in (spec.get("year_column"), spec.get("value_column")) if c not in names]
            if missing:
                problem = f"集計結果に列「{'」「'.join(str(c) for c in missing)}」がありません（いまの列: {'、'.join(names)}）。"
    values: dict[int, Decimal] = {}
    if not problem:
        for row in rows:
            year, value = row.get(spec["year_column"]), row.get(spec["value_column"])
            if value is None or year is None:
                continue
            try:
                values[check_fiscal_year(year)] = check_number(value, label="集計値") or Decimal(0)
            except InvalidInput as exc:
                problem = f"集計結果を実績にできません: {exc.message}"
                break
    now = timezone.now()
    if problem:
        Indicator.objects.filter(pk=indicator.pk).update(
            status=IndicatorStatus.CHECK, status_reason=problem[:1000], computed_at=now
        )
        indicator.status, indicator.status_reason = IndicatorStatus.CHECK, problem[:1000]
        audit_record(
            actor=actor, action="ebpm.indicator.check", obj=indicator, changes={"reason": problem[:500]}
        )
        return problem
    this_year = fiscal_year_of(timezone.localdate())
    indicator.actuals.filter(source=SourceKind.QUERY).exclude(fiscal_year__in=values).delete()
    for year, value in values.items():
        running = year >= this_year
        IndicatorActual.objects.update_or_create(
            indicator=indicator, fiscal_year=year,
            defaults={"value": value, "source": SourceKind.QUERY, "table_version": version,
                      "version_number": version.number if version is not None else None,
                      "status": ActualStatus.PRELIMINARY if running else ActualStatus.FINAL,
                      "final_on": fiscal_year_range(year)[1] + dt.timedelta(days=1) if running else None,
                      "evidence": f"「{indicator.table.title if indicator.table else ''}」第{version.number if version else '?'}版から集計",
                      "actor_label": actor.label(), "updated_at": now},
        )  # fmt: skip
    Indicator.objects.filter(pk=indicator.pk).update(
        status=IndicatorStatus.UNMEASURED, status_reason="", computed_at=now
    )
    indicator.status, indicator.status_reason, indicator.computed_at = IndicatorStatus.UNMEASURED, "", now
    audit_record(
        actor=actor, action="ebpm.indicator.compute", obj=indicator,
        changes={"version": version.number if version is not None else None, "years": sorted(values)},
    )  # fmt: skip
    _judge(indicator)
    _recompute_dependents(indicator, actor)
    return ""


def _formula_definition(text: Any) -> str:
    """A formula checked for its shape and its inputs (existing indicators that are not formulas themselves)."""
    text = str(text or "").strip()
    try:
        ids = formula_refs(text)
    except FormulaError as exc:
        raise InvalidInput(str(exc)) from None
    found = dict(Indicator.objects.filter(pk__in=ids).values_list("pk", "source_kind"))
    missing = sorted(ids - set(found))
    if missing:
        raise InvalidInput(f"計算式の指標 {'、'.join(f'i{i}' for i in missing)} はありません。")
    nested = sorted(i for i, kind in found.items() if kind == SourceKind.FORMULA)
    if nested:
        raise InvalidInput(
            f"計算式に、計算で求める指標（{'、'.join(f'i{i}' for i in nested)}）は使えません（実績のある指標を使ってください）。"
        )
    return text


def _compute_formula(indicator: Indicator, actor: Actor) -> str:
    """Compute a formula indicator for every 年度 all its inputs have; returns the problem, or "" when done."""
    text = str((indicator.query or {}).get("formula") or "")
    now = timezone.now()
    problem = ""
    values: dict[int, tuple[Decimal, bool, dt.date | None]] = {}
    try:
        ids = formula_refs(text)
    except FormulaError as exc:
        ids, problem = set(), str(exc)
    inputs = {i.pk: i for i in Indicator.objects.filter(pk__in=ids).prefetch_related("actuals")}
    if not problem and set(inputs) != ids:
        problem = f"計算式の指標 {'、'.join(f'i{i}' for i in sorted(ids - set(inputs)))} が外されています。"
    if not problem:
        by_year = {pk: {a.fiscal_year: a for a in ind.actuals.all()} for pk, ind in inputs.items()}
        years = set.intersection(*(set(v) for v in by_year.values())) if by_year else set()
        for year in sorted(years):
            rows = {pk: by_year[pk][year] for pk in inputs}
            try:
                value = formula_eval(text, {pk: float(a.value) for pk, a in rows.items()})
            except FormulaError as exc:
                problem = f"{year}年度: {exc}"
                break
            final = all(a.status == ActualStatus.FINAL for a in rows.values())
            later = max((a.final_on for a in rows.values() if a.final_on), default=None)
            values[year] = (Decimal(str(round(value, 4))), final, later)
    if problem:
        Indicator.objects.filter(pk=indicator.pk).update(
            status=IndicatorStatus.CHECK, status_reason=problem[:1000], computed_at=now
        )
        indicator.status, indicator.status_reason = IndicatorStatus.CHECK, problem[:1000]
        audit_record(
            actor=actor, action="ebpm.indicator.check", obj=indicator, changes={"reason": problem[:500]}
        )
        return problem
    indicator.actuals.filter(source=SourceKind.FORMULA).exclude(fiscal_year__in=values).delete()
    for year, (amount, final, later) in values.items():
        IndicatorActual.objects.update_or_create(
            indicator=indicator, fiscal_year=year,
            defaults={"value": amount, "source": SourceKind.FORMULA, "table_version": None, "version_number": None,
                      "status": ActualStatus.FINAL if final else ActualStatus.PRELIMINARY, "final_on": None if final else later,
                      "evidence": f"計算式 {text} から計算", "actor_label": actor.label(), "updated_at": now},
        )  # fmt: skip
    Indicator.objects.filter(pk=indicator.pk).update(
        status=IndicatorStatus.UNMEASURED, status_reason="", computed_at=now
    )
    indicator.status, indicator.status_reason, indicator.computed_at = IndicatorStatus.UNMEASURED, "", now
    audit_record(
        actor=actor,
        action="ebpm.indicator.compute",
        obj=indicator,
        changes={"formula": text, "years": sorted(values)},
    )
    _judge(indicator)
    return ""


def _recompute_dependents(indicator: Indicator, actor: Actor) -> None:
    """Recompute the formula indicators that use ``indicator`` (inside the caller's transaction)."""
    for other in Indicator.objects.filter(source_kind=SourceKind.FORMULA).exclude(pk=indicator.pk):
        try:
            uses = indicator.pk in formula_refs(str((other.query or {}).get("formula") or ""))
        except FormulaError:
            uses = False
        if uses:
            _compute_formula(other, actor)


def compute_actor(indicator: Indicator) -> Actor:
    """Who a recomputation reads the table as: the indicator's creator as of today (nobody: the system, which reads nothing)."""
    return actor_for(indicator.created_by) if indicator.created_by is not None else SYSTEM


def indicator_recompute(*, actor: Actor, indicator: Indicator) -> str:
    """Recompute a query indicator now (as its creator); returns the 要確認 reason or ""."""
    _require_edit(actor, indicator.logic_model.item)
    if indicator.source_kind == SourceKind.MANUAL:
        raise InvalidInput("この指標は手入力です（集計する表も計算式もありません）。")
    with transaction.atomic():
        if indicator.source_kind == SourceKind.FORMULA:
            return _compute_formula(indicator, actor)
        return _compute(indicator, compute_actor(indicator))


def on_version_committed(sender: Any, version: TableVersion, **kwargs: Any) -> None:
    """Recompute every query indicator over ``version``'s table; a failure marks that indicator 要確認."""
    for indicator in Indicator.objects.select_related("table", "created_by").filter(
        source_kind=SourceKind.QUERY, table_id=version.table_id
    ):
        try:
            with transaction.atomic():
                _compute(indicator, compute_actor(indicator))
        except Exception:  # one indicator's trouble never stops the others
            logger.exception("indicator %s recompute failed", indicator.pk)


def indicator_query_set(*, actor: Actor, indicator: Indicator, table_id: Any, query: Any) -> str:
    """Change (fix) the table and query of a query indicator and compute it now; returns the 要確認 reason or ""."""
    _require_edit(actor, indicator.logic_model.item)
    if indicator.source_kind != SourceKind.QUERY:
        raise InvalidInput("この指標は手入力です（集計の定義はありません）。")
    table, definition = _query_definition(table_id, query)
    with transaction.atomic():
        before = {"table": indicator.table_id, "query": indicator.query}
        indicator.table, indicator.query = table, definition
        # the new definition is judged afresh: leave 要確認 so _compute decides
        indicator.status, indicator.status_reason = IndicatorStatus.UNMEASURED, ""
        indicator.save(update_fields=["table", "query", "status", "status_reason"])
        audit_record(
            actor=actor,
            action="ebpm.indicator.query",
            obj=indicator,
            changes={"before": before, "table": table.pk},
        )
        problem = _compute(indicator, compute_actor(indicator))
        if problem:
            raise InvalidInput(f"集計できません（定義は変えていません）: {problem}")
    return ""


def indicator_remove(*, actor: Actor, indicator: Indicator) -> None:
    """Detach an indicator from its node (its targets and actuals go with it; the audit log keeps the record)."""
    _require_edit(actor, indicator.logic_model.item)
    with transaction.atomic():
        audit_record(
            actor=actor, action="ebpm.indicator.remove", obj=indicator,
            changes={"name": indicator.name, "node": indicator.node_id,
                     "targets": [[t.fiscal_year, None if t.value is None else str(t.value)] for t in indicator.targets.all()],
                     "actuals": [[a.fiscal_year, str(a.value)] for a in indicator.actuals.all()]},
        )  # fmt: skip
        removed = Indicator(pk=indicator.pk)
        indicator.delete()
        _recompute_dependents(removed, actor)


def indicator_schedule_set(*, actor: Actor, indicator: Indicator, data_month: Any) -> Indicator:
    """Set the month in which the indicator's yearly figure is ready (for the data calendar)."""
    _require_edit(actor, indicator.logic_model.item)
    month = check_month(data_month)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="ebpm.indicator.schedule",
            obj=indicator,
            changes={"from": indicator.data_month, "to": month},
        )
        indicator.data_month = month
        indicator.save(update_fields=["data_month"])
    return indicator
