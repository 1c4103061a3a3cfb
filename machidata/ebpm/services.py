"""Writing EBPM: plan items and their lifecycle, budget lines, logic model versions (indicators: ``services_indicators``).

Every write is keyword-only, one transaction, audited; bad input raises a Japanese ``InvalidInput``
before anything is saved, and the edit rule is checked before any input is read. Lifecycle (one step
forward, or one step back when a request is turned down)::

    構想 ⇄ 予算要求 ⇄ 予算化 ⇄ 実施 ⇄ 評価
"""

from __future__ import annotations

import logging
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final

from django.db import transaction

from machidata.access.models import Unit, UnitKind
from machidata.access.policy import Actor, system_actor
from machidata.audit.services import audit_record
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from machidata.ebpm import logic
from machidata.ebpm.models import (
    CHILD_LEVEL,
    BudgetKind,
    BudgetLine,
    Level,
    LogicModel,
    LogicModelVersion,
    PlanItem,
    Stage,
    StageChange,
)
from machidata.ebpm.selectors import may_edit
from machidata.jp.fiscal import parse_fiscal_year
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
    # Stored with 4 decimal places (numeric(20, 4)): rounded here so every database keeps the same value.
    return number.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


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
    current = LogicModel.objects.filter(item=item).first()
    _check_evidence(actor, clean, current.document if current is not None else {})
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


def _check_evidence(actor: Actor, document: dict[str, Any], before: dict[str, Any]) -> None:
    """New references to datasets, charts, saved analyses and cases must name ones the actor can see
    (hidden and missing alike refused)."""
    if actor is SYSTEM:
        return
    from machidata.analysis.selectors import analysis_get
    from machidata.catalog.selectors import dataset_get
    from machidata.charts.selectors import chart_get
    from machidata.support.selectors_help import case_get

    known = {(e["kind"], e["ref"]) for link in before.get("links", []) for e in link.get("evidence", [])}
    lookups = {
        "dataset": lambda ref: dataset_get(actor=actor, slug=ref),
        "chart": lambda ref: chart_get(actor=actor, uuid=ref),
        "analysis": lambda ref: analysis_get(actor=actor, pk=int(ref)),
        "case": lambda ref: case_get(actor=actor, pk=int(ref)),
    }
    for link in document["links"]:
        for e in link["evidence"]:
            look = lookups.get(e["kind"])
            if look is None or (e["kind"], e["ref"]) in known:
                continue
            try:
                look(e["ref"])
            except NotFound:
                what = logic.EVIDENCE_KINDS[e["kind"]]
                raise InvalidInput(
                    f"根拠の{what}「{e['ref']}」が見つかりません（見られるものだけを根拠にできます）。"
                ) from None


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
    stage_labels: dict[str, str] | None = None,
    expected_number: int | None = None,
) -> LogicModel:
    """Change the stage set (六段階/四段階), the stages' names (blank: the standard name) and the external factors."""
    doc, n = _current(item)
    keys = {k for k, _ in logic.STAGE_SETS.get(stage_set, ())}
    labels = {k: v.strip() for k, v in (stage_labels or {}).items() if k in keys and v and v.strip()}
    return logic_model_save(
        actor=actor, item=item,
        document={**doc, "stage_set": stage_set, "stage_labels": labels, "external_factors": external_factors},
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
