"""Writing EBPM: plan items and their lifecycle, budget lines, logic model versions, indicators and actuals.

Every write is keyword-only, one transaction, audited; bad input raises a Japanese ``InvalidInput``
before anything is saved. Lifecycle (one step forward, or one step back when a request is turned down)::

    構想 ⇄ 予算要求 ⇄ 予算化 ⇄ 実施 ⇄ 評価

Query indicators are computed through ``catalog.query_selectors.table_query`` as the indicator's
creator (their read access is checked at every computation), one row per 年度, with the table version
used recorded on each actual. The lake's ``version_committed`` signal recomputes the indicators over
that table; a query that no longer fits (a renamed column, no read access any more) marks the
indicator 要確認 with the reason instead of failing.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from django.db import transaction
from django.utils import timezone

from machidata.access.models import Unit, UnitKind
from machidata.access.policy import Actor, actor_for, system_actor
from machidata.audit.services import audit_record
from machidata.catalog.models import Table, TableVersion
from machidata.core.errors import Conflict, InvalidInput, MachidataError, NotFound, PermissionDenied
from machidata.ebpm import kpi, logic
from machidata.ebpm.formula import FormulaError
from machidata.ebpm.formula import evaluate as formula_eval
from machidata.ebpm.formula import references as formula_refs
from machidata.ebpm.models import (
    CHILD_LEVEL,
    ActualStatus,
    BudgetKind,
    BudgetLine,
    Direction,
    Indicator,
    IndicatorActual,
    IndicatorKind,
    IndicatorStatus,
    IndicatorTarget,
    Level,
    LogicModel,
    LogicModelVersion,
    PlanItem,
    RateRule,
    SourceKind,
    Stage,
    StageChange,
    TargetKind,
)
from machidata.ebpm.selectors import may_edit
from machidata.jp.fiscal import fiscal_year as fiscal_year_of
from machidata.jp.fiscal import fiscal_year_range, parse_fiscal_year
from machidata.jp.text import TextParseError, parse_number
from machidata.jp.wareki import WarekiError

logger = logging.getLogger(__name__)
SYSTEM: Final = system_actor("ebpm")
FY_MIN, FY_MAX = 1950, 2100
STAGE_ORDER: Final = [s.value for s in Stage]
NAME_MAX, TEXT_MAX = 200, 5000


# ---- input checks ---------------------------------------------------------------------------------


def check_fiscal_year(value: Any, *, label: str = "年度") -> int:
    """A 年度 as its starting calendar year from 2024, "2024", 令和6年度 or FY2024; Japanese error otherwise."""
    text = str(value if value is not None else "").strip()
    if not text:
        raise InvalidInput(f"{label}を入力してください。", details={"fiscal_year": "required"})
    try:
        year = int(text) if text.lstrip("-").isdigit() else parse_fiscal_year(text)
    except (WarekiError, ValueError):
        raise InvalidInput(
            f"{label}「{text}」は年度として読めません（例: 2024、令和6年度）。", details={"fiscal_year": text}
        ) from None
    if not FY_MIN <= year <= FY_MAX:
        raise InvalidInput(
            f"{label}「{text}」はありえない年度です（{FY_MIN}〜{FY_MAX}年度の範囲で入力してください）。",
            details={"fiscal_year": text},
        )
    return year


def check_number(value: Any, *, label: str, negative: bool = True, required: bool = True) -> Decimal | None:
    """A number from 1234, "1,234", "１２３４円" or "▲5"; refuses negatives unless ``negative``."""
    if value is None or str(value).strip() == "":
        if required:
            raise InvalidInput(f"{label}を入力してください。")
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{label}は数値で入力してください。")
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value))
    else:
        try:
            parsed = parse_number(str(value))
        except (TextParseError, InvalidOperation):
            raise InvalidInput(f"{label}「{value}」は数値として読めません。") from None
        if parsed.value is None:
            raise InvalidInput(f"{label}「{value}」は数値として読めません。")
        number = parsed.value
    if not number.is_finite():
        raise InvalidInput(f"{label}は数値で入力してください。")
    if not negative and number < 0:
        raise InvalidInput(f"{label}にマイナスの値（{value}）は入力できません。")
    if abs(number) >= Decimal(10) ** 16:
        raise InvalidInput(f"{label}が大きすぎます。")
    return number


def check_month(value: Any) -> int | None:
    """A month 1–12 (blank: not set); Japanese error otherwise."""
    text = str(value if value is not None else "").strip().removesuffix("月")
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 12:
        raise InvalidInput(f"実績がそろう月「{value}」は1〜12の月で入力してください。")
    return int(text)


def _text(value: Any, *, label: str, limit: int, required: bool = False) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise InvalidInput(f"{label}を入力してください。")
    if len(text) > limit:
        raise InvalidInput(f"{label}は{limit}文字以内で入力してください（いま{len(text)}文字）。")
    return text


def _choice(value: Any, choices: Any, *, label: str) -> str:
    text = str(value or "")
    if text not in choices.values:
        names = "・".join(f"{v}（{lbl}）" for v, lbl in choices.choices)
        raise InvalidInput(f"{label}「{text}」は選べません（{names}）。")
    return text


def _division(unit_id: Any, *, label: str) -> Unit:
    try:
        return Unit.objects.active_on().get(pk=int(unit_id), kind=UnitKind.DIVISION)
    except (Unit.DoesNotExist, TypeError, ValueError):
        raise InvalidInput(f"{label}が見つかりません（いまある課を選んでください）。") from None


def _require_edit(actor: Actor, item: PlanItem) -> None:
    if not actor.is_authenticated and actor is not SYSTEM:
        raise PermissionDenied("ログインしてください。")
    if actor is not SYSTEM and not may_edit(actor, item):
        raise PermissionDenied("この事業を変更できるのは、所管課の編集担当とデータ戦略課（管理）です。")


# ---- plan items, lifecycle, budget ---------------------------------------------------------------


def plan_item_create(
    *,
    actor: Actor,
    level: str,
    name: str,
    unit_id: Any,
    parent_id: Any = None,
    code: str = "",
    description: str = "",
    plan_reference: str = "",
) -> PlanItem:
    """Create a 政策, 施策 or 事業 for a 課 the actor edits for; a 施策 sits under a 政策, a 事業 under a 施策 (or alone)."""
    level = _choice(level, Level, label="区分")
    unit = _division(unit_id, label="所管課")
    parent = None
    if parent_id not in (None, ""):
        try:
            parent = PlanItem.objects.get(pk=int(parent_id))
        except (PlanItem.DoesNotExist, TypeError, ValueError):
            raise InvalidInput("上位の政策・施策が見つかりません。") from None
        if CHILD_LEVEL.get(Level(parent.level)) != level:
            raise InvalidInput(
                f"{parent.get_level_display()}の下に{Level(level).label}は置けません（政策 → 施策 → 事業の順です）。"
            )
    elif level == Level.MEASURE:
        raise InvalidInput("施策には上位の政策を選んでください。")
    item = PlanItem(
        level=level,
        name=_text(name, label="名称", limit=NAME_MAX, required=True),
        unit=unit,
        parent=parent,
        code=_text(code, label="番号", limit=40),
        description=_text(description, label="概要", limit=TEXT_MAX),
        plan_reference=_text(plan_reference, label="総合計画との関係", limit=300),
        created_by_id=actor.user_id,
    )
    _require_edit(actor, item)
    with transaction.atomic():
        item.save()
        audit_record(
            actor=actor, action="ebpm.item.create", obj=item, changes={"level": level, "unit": unit.pk}
        )
    return item


def plan_item_move(*, actor: Actor, item: PlanItem, stage: str, note: str = "") -> PlanItem:
    """Move a 事業 one step along 構想 → 予算要求 → 予算化 → 実施 → 評価 (or one step back); recorded and audited."""
    _require_edit(actor, item)
    stage = _choice(stage, Stage, label="段階")
    note = _text(note, label="メモ", limit=500)
    with transaction.atomic():
        current = PlanItem.objects.select_for_update().get(pk=item.pk)
        if current.level != Level.PROJECT:
            raise InvalidInput("段階を進められるのは事業だけです。")
        here, there = STAGE_ORDER.index(current.stage), STAGE_ORDER.index(stage)
        if abs(here - there) != 1:
            raise Conflict(
                f"「{current.get_stage_display()}」から「{Stage(stage).label}」へは移れません"
                "（一つ先か一つ前の段階へ移ってください）。"
            )
        StageChange.objects.create(
            item=current, stage_from=current.stage, stage_to=stage, note=note, actor_label=actor.label()
        )
        audit_record(
            actor=actor, action="ebpm.item.stage", obj=current, changes={"from": current.stage, "to": stage}
        )
        current.stage = stage
        current.lock_version += 1
        current.save(update_fields=["stage", "lock_version", "updated_at"])
    return current


def budget_line_set(
    *, actor: Actor, item: PlanItem, fiscal_year: Any, kind: str, amount_yen: Any, note: str = ""
) -> BudgetLine:
    """Set one budget figure (当初・補正・決算) of a 事業 for a 年度: integer yen, not negative; replaces that row."""
    _require_edit(actor, item)
    if item.level != Level.PROJECT:
        raise InvalidInput("予算を記録できるのは事業だけです。")
    year = check_fiscal_year(fiscal_year)
    kind = _choice(kind, BudgetKind, label="予算の種類")
    amount = check_number(amount_yen, label="金額", negative=False)
    assert amount is not None
    if amount != amount.to_integral_value():
        raise InvalidInput("金額は円単位の整数で入力してください。")
    with transaction.atomic():
        line, created = BudgetLine.objects.update_or_create(
            item=item,
            fiscal_year=year,
            kind=kind,
            defaults={"amount_yen": int(amount), "note": _text(note, label="メモ", limit=300)},
        )
        audit_record(
            actor=actor, action="ebpm.budget.set", obj=item,
            changes={"fiscal_year": year, "kind": kind, "amount_yen": int(amount), "created": created},
        )  # fmt: skip
    return line


# ---- logic models --------------------------------------------------------------------------------


def logic_model_save(
    *, actor: Actor, item: PlanItem, document: Any, note: str = "", expected_number: int | None = None
) -> LogicModel:
    """Save ``document`` as the next version of the item's logic model (validated; never overwrites a version).

    ``expected_number`` is the version the editor started from: another save in between is a Conflict.
    Nodes that carry indicators may not disappear.
    """
    _require_edit(actor, item)
    try:
        clean = logic.validate(document)
    except logic.LogicModelError as exc:
        raise InvalidInput(
            "ロジックモデルを保存できません: " + " ".join(exc.errors), details={"errors": exc.errors}
        ) from None
    with transaction.atomic():
        model, _ = LogicModel.objects.select_for_update().get_or_create(item=item)
        if expected_number is not None and expected_number != model.number:
            raise Conflict(
                f"ほかの人が先に保存しました（いまは第{model.number}版です）。画面を読み直してください。"
            )
        kept = {n["id"] for n in clean["nodes"]}
        orphans = (
            list(model.indicators.exclude(node_id__in=kept).values_list("name", flat=True))
            if model.pk
            else []
        )
        if orphans:
            raise Conflict(
                f"検証指標が付いている要素は削除できません（{'、'.join(orphans)}）。先に指標を外してください。"
            )
        if model.number and logic.canonical(model.document) == logic.canonical(clean):
            return model  # nothing changed: no new version
        model.number += 1
        model.document = clean
        model.save()
        LogicModelVersion.objects.create(
            model=model,
            number=model.number,
            document=clean,
            note=_text(note, label="変更内容", limit=300),
            actor_label=actor.label(),
        )
        audit_record(
            actor=actor,
            action="ebpm.logic_model.save",
            obj=item,
            changes={"version": model.number, "note": note[:300]},
        )
    return model


def _current(item: PlanItem) -> tuple[dict[str, Any], int]:
    model = LogicModel.objects.filter(item=item).first()
    if model is None:
        return logic.empty_document(), 0
    return dict(model.document), model.number


def node_save(
    *,
    actor: Actor,
    item: PlanItem,
    node_id: str = "",
    stage: str,
    statement: str,
    number: str = "",
    expected_number: int | None = None,
) -> LogicModel:
    """Add a node (no ``node_id``) or change one, as a new version."""
    doc, n = _current(item)
    nodes = [dict(x) for x in doc.get("nodes", [])]
    if node_id:
        target = next((x for x in nodes if x["id"] == node_id), None)
        if target is None:
            raise NotFound("その要素はこのロジックモデルにありません。")
        target.update(stage=stage, statement=statement, number=number)
        note = f"要素{node_id}を変更"
    else:
        node_id = logic.next_id(nodes, "n")
        nodes.append({"id": node_id, "stage": stage, "statement": statement, "number": number})
        note = f"要素{node_id}を追加"
    return logic_model_save(
        actor=actor,
        item=item,
        document={**doc, "nodes": nodes},
        note=note,
        expected_number=expected_number if expected_number is not None else n,
    )


def node_remove(
    *, actor: Actor, item: PlanItem, node_id: str, expected_number: int | None = None
) -> LogicModel:
    """Remove a node and its links, as a new version (refused while an indicator is attached)."""
    doc, n = _current(item)
    if not any(x["id"] == node_id for x in doc.get("nodes", [])):
        raise NotFound("その要素はこのロジックモデルにありません。")
    new = {
        **doc,
        "nodes": [x for x in doc["nodes"] if x["id"] != node_id],
        "links": [x for x in doc.get("links", []) if node_id not in (x["from"], x["to"])],
    }
    return logic_model_save(
        actor=actor,
        item=item,
        document=new,
        note=f"要素{node_id}を削除",
        expected_number=expected_number if expected_number is not None else n,
    )


def link_add(
    *,
    actor: Actor,
    item: PlanItem,
    source: str,
    target: str,
    rationale: str = "",
    assumptions: str = "",
    evidence: list[dict[str, str]] | None = None,
    expected_number: int | None = None,
) -> LogicModel:
    """Add a link between two nodes of this model, as a new version."""
    doc, n = _current(item)
    links = [dict(x) for x in doc.get("links", [])]
    link_id = logic.next_id(links, "l")
    links.append(
        {
            "id": link_id,
            "from": source,
            "to": target,
            "rationale": rationale,
            "assumptions": assumptions,
            "evidence": evidence or [],
        }
    )
    return logic_model_save(
        actor=actor,
        item=item,
        document={**doc, "links": links},
        note=f"つながり{link_id}を追加",
        expected_number=expected_number if expected_number is not None else n,
    )


def link_update(
    *,
    actor: Actor,
    item: PlanItem,
    link_id: str,
    rationale: str,
    assumptions: str = "",
    expected_number: int | None = None,
) -> LogicModel:
    """Change a link's rationale and assumptions (its ends and evidence stay), as a new version."""
    doc, n = _current(item)
    links = [dict(x) for x in doc.get("links", [])]
    target = next((x for x in links if x["id"] == link_id), None)
    if target is None:
        raise NotFound("そのつながりはこのロジックモデルにありません。")
    target.update(rationale=rationale, assumptions=assumptions)
    return logic_model_save(
        actor=actor, item=item, document={**doc, "links": links}, note=f"つながり{link_id}の根拠を変更",
        expected_number=expected_number if expected_number is not None else n,
    )  # fmt: skip


def plan_item_update(
    *,
    actor: Actor,
    item: PlanItem,
    lock_version: int,
    name: str,
    code: str = "",
    description: str = "",
    plan_reference: str = "",
) -> PlanItem:
    """Change an item's name, number, description and plan reference (optimistic lock; its 課 and place stay)."""
    _require_edit(actor, item)
    values = {
        "name": _text(name, label="名称", limit=NAME_MAX, required=True),
        "code": _text(code, label="番号", limit=40),
        "description": _text(description, label="概要", limit=TEXT_MAX),
        "plan_reference": _text(plan_reference, label="総合計画との関係", limit=300),
    }
    with transaction.atomic():
        current = PlanItem.objects.select_for_update().get(pk=item.pk)
        if current.lock_version != lock_version:
            raise Conflict("ほかの人が先に変更しました。画面を読み直してください。")
        changes = {k: [getattr(current, k), v] for k, v in values.items() if getattr(current, k) != v}
        if not changes:
            return current
        for k, v in values.items():
            setattr(current, k, v)
        current.lock_version += 1
        current.save()
        audit_record(actor=actor, action="ebpm.item.update", obj=current, changes=changes)
    return current


def link_remove(
    *, actor: Actor, item: PlanItem, link_id: str, expected_number: int | None = None
) -> LogicModel:
    """Remove a link, as a new version."""
    doc, n = _current(item)
    if not any(x["id"] == link_id for x in doc.get("links", [])):
        raise NotFound("そのつながりはこのロジックモデルにありません。")
    new = {**doc, "links": [x for x in doc["links"] if x["id"] != link_id]}
    return logic_model_save(
        actor=actor,
        item=item,
        document=new,
        note=f"つながり{link_id}を削除",
        expected_number=expected_number if expected_number is not None else n,
    )


def settings_save(
    *,
    actor: Actor,
    item: PlanItem,
    stage_set: str,
    external_factors: list[str],
    expected_number: int | None = None,
) -> LogicModel:
    """Change the stage set (六段階/四段階) and the external factors, as a new version."""
    doc, n = _current(item)
    return logic_model_save(
        actor=actor, item=item, document={**doc, "stage_set": stage_set, "external_factors": external_factors},
        note="段階・外部要因を変更", expected_number=expected_number if expected_number is not None else n,
    )  # fmt: skip


def logic_model_copy(*, actor: Actor, source: PlanItem, target: PlanItem) -> LogicModel:
    """Copy ``source``'s logic model to ``target`` as a template (横展開): a new version there; indicators stay behind."""
    if source.pk == target.pk:
        raise InvalidInput("コピー先には別の事業を選んでください。")
    model = LogicModel.objects.filter(item=source).first()
    if model is None or not model.number:
        raise InvalidInput("コピー元の事業にはまだロジックモデルがありません。")
    return logic_model_save(
        actor=actor,
        item=target,
        document=model.document,
        note=f"「{source.name}」のロジックモデル（第{model.number}版）をコピー",
    )


def logic_model_from_example(*, actor: Actor, item: PlanItem, key: str) -> LogicModel:
    """Start (or restart) the item's logic model from an example of the starter library, as a new version."""
    from machidata.ebpm.examples import EXAMPLES

    _require_edit(actor, item)
    example = EXAMPLES.get(str(key))
    if example is None:
        raise InvalidInput(f"ひな形「{key}」はありません。")
    return logic_model_save(
        actor=actor, item=item, document=example["document"], note=f"ひな形「{example['title']}」から作成"
    )


# ---- indicators -----------------------------------------------------------------------------------


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
