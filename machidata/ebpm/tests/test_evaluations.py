"""EBPM evaluations: services (rules, bad input, audit), achievement and cost per unit, evaluation plans, 査定 rows."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from machidata.access.policy import Actor
from machidata.analysis.interpret import LEVEL_LABELS
from machidata.analysis.models import Analysis
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Table
from machidata.core.errors import Conflict, InvalidInput, PermissionDenied
from machidata.core.testing import Actors, make_dataset
from machidata.ebpm import selectors_evaluations as sel
from machidata.ebpm import services, services_evaluations, services_indicators
from machidata.ebpm.models import Evaluation, EvaluationPlan, EvidenceLevel, Indicator, PlanItem
from machidata.ebpm.tests.conftest import as_actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def measured(actors: Actors, modelled: PlanItem, editor: Actor) -> dict[str, Indicator]:
    """The 事業 with 決算 1,200,000 yen in 2024, an activity indicator (300 sent, target 400) and an outcome
    indicator (受診率 36.0 %, target 35, baseline 30); a second outcome indicator without an actual."""
    unit = actors.org.health_div.pk
    services.budget_line_set(
        actor=editor, item=modelled, fiscal_year=2024, kind="settlement", amount_yen=1_200_000
    )
    sent = services_indicators.indicator_create(
        actor=editor,
        item=modelled,
        node_id="n2",
        name="案内の送付数",
        kind="activity",
        responsible_unit_id=unit,
    )
    rate = services_indicators.indicator_create(
        actor=editor, item=modelled, node_id="n3", name="受診率", kind="outcome", responsible_unit_id=unit,
        baseline_value=30, baseline_year=2022,
    )  # fmt: skip
    empty = services_indicators.indicator_create(
        actor=editor, item=modelled, node_id="n3", name="再受診率", kind="outcome", responsible_unit_id=unit
    )
    services_indicators.indicator_target_set(actor=editor, indicator=sent, fiscal_year=2024, value=400)
    services_indicators.indicator_actual_record(
        actor=editor, indicator=sent, fiscal_year=2024, value=300, evidence="記録"
    )
    services_indicators.indicator_target_set(actor=editor, indicator=rate, fiscal_year=2024, value=35)
    services_indicators.indicator_actual_record(
        actor=editor, indicator=rate, fiscal_year=2024, value=36, evidence="報告"
    )
    return {"sent": sent, "rate": rate, "empty": empty}


def _create(actor: Actor, item: PlanItem, **kw: Any) -> Evaluation:
    values: dict[str, Any] = {
        "fiscal_year": 2024,
        "self_assessment": "概ね順調。",
        "direction": "continue",
        **kw,
    }
    return services_evaluations.evaluation_create(actor=actor, item=item, **values)


def test_the_evidence_scale_is_the_analysis_rooms() -> None:
    assert {int(v): str(label) for v, label in EvidenceLevel.choices} == LEVEL_LABELS


def test_create_computes_achievement_and_cost(
    actors: Actors, modelled: PlanItem, editor: Actor, measured: dict[str, Indicator]
) -> None:
    ev = _create(
        editor, modelled, output_indicator_id=measured["sent"].pk, outcome_indicator_id=str(measured["rate"].pk),
        evidence_level="2", next_request_amount_yen="1,500,000", next_request_note="送付を増やす",
    )  # fmt: skip
    assert (ev.fiscal_year, ev.direction, ev.evidence_level, ev.next_request_amount_yen) == (
        2024, "continue", 2, 1_500_000,
    )  # fmt: skip
    figures = sel.evaluation_figures(actor=as_actor(actors, "staff"), evaluation=ev)
    assert figures.settlement_yen == 1_200_000
    assert figures.cost_per_output.value == Decimal(4000)  # 1,200,000 ÷ 300
    assert figures.cost_per_outcome.value == Decimal(33333)  # 1,200,000 ÷ 36, rounded
    by_name = {a.indicator.name: a for a in figures.achievements}
    assert by_name["案内の送付数"].reached is False
    assert by_name["案内の送付数"].rate == Decimal("0.75")
    assert by_name["受診率"].reached is True
    assert by_name["再受診率"].actual is None
    assert by_name["再受診率"].reached is None
    assert (figures.measured, figures.reached_count) == (2, 1)
    assert figures.summary == "1/2指標が目標を達成"
    event = AuditEvent.objects.get(action="ebpm.evaluation.create")
    assert event.changes["fiscal_year"] == 2024
    assert event.changes["output_indicator"] == measured["sent"].pk


def test_cost_says_plainly_why_it_cannot_be_computed(
    actors: Actors, modelled: PlanItem, editor: Actor, measured: dict[str, Indicator]
) -> None:
    staff = as_actor(actors, "staff")
    ev = _create(editor, modelled, outcome_indicator_id=measured["empty"].pk)
    figures = sel.evaluation_figures(actor=staff, evaluation=ev)
    assert figures.cost_per_output.value is None
    assert "アウトプット指標が選ばれていない" in figures.cost_per_output.reason
    assert "「再受診率」の2024年度の実績がない" in figures.cost_per_outcome.reason
    # no 決算 for 2023
    services_indicators.indicator_actual_record(
        actor=editor, indicator=measured["sent"], fiscal_year=2023, value=10, evidence="x"
    )
    ev23 = _create(editor, modelled, fiscal_year=2023, output_indicator_id=measured["sent"].pk)
    assert (
        "2023年度の決算（執行額）が未入力"
        in sel.evaluation_figures(actor=staff, evaluation=ev23).cost_per_output.reason
    )
    # an actual of 0
    services_indicators.indicator_actual_record(
        actor=editor, indicator=measured["sent"], fiscal_year=2024, value=0, evidence="x"
    )
    ev.output_indicator = measured["sent"]
    assert "0以下" in sel.evaluation_figures(actor=staff, evaluation=ev).cost_per_output.reason


def test_one_evaluation_per_item_and_year(modelled: PlanItem, editor: Actor) -> None:
    _create(editor, modelled)
    with pytest.raises(Conflict, match="2024年度の評価はすでにあります"):
        _create(editor, modelled, fiscal_year="令和6年度")
    _create(editor, modelled, fiscal_year=2023)
    assert Evaluation.objects.filter(item=modelled).count() == 2


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"fiscal_year": "2024年"}, "年度として読めません"),
        ({"fiscal_year": 1800}, "ありえない年度"),
        ({"fiscal_year": 2099}, "まだ始まっていない"),
        ({"fiscal_year": ""}, "評価する年度を入力してください"),
        ({"self_assessment": "  "}, "自己評価を入力してください"),
        ({"direction": "keep"}, "今後の方向性「keep」は選べません"),
        ({"next_request_amount_yen": -5}, "マイナスの値"),
        ({"next_request_amount_yen": "▲1000"}, "マイナスの値"),
        ({"next_request_amount_yen": "12.5"}, "円単位の整数"),
        ({"evidence_level": 6}, "根拠の強さ「6」は選べません"),
        ({"output_indicator_id": 999999}, "この事業のロジックモデルの検証指標から選んで"),
        ({"analysis_id": 999999}, "根拠とした分析が見つかりません"),
    ],
)
def test_bad_input_is_refused_in_japanese(
    modelled: PlanItem, editor: Actor, kw: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        _create(editor, modelled, **kw)
    assert not Evaluation.objects.exists()
    assert not AuditEvent.objects.filter(action="ebpm.evaluation.create").exists()


def test_indicator_kinds_and_other_items_are_refused(
    actors: Actors, modelled: PlanItem, editor: Actor, measured: dict[str, Indicator]
) -> None:
    with pytest.raises(InvalidInput, match="アウトプット指標には活動指標を選んでください"):
        _create(editor, modelled, output_indicator_id=measured["rate"].pk)
    with pytest.raises(InvalidInput, match="成果指標には成果指標を選んでください"):
        _create(editor, modelled, outcome_indicator_id=measured["sent"].pk)
    other = services.plan_item_create(
        actor=editor, level="project", name="別の事業", unit_id=actors.org.health_div.pk
    )
    with pytest.raises(InvalidInput, match="この事業のロジックモデルの検証指標から"):
        _create(editor, other, output_indicator_id=measured["sent"].pk)
    assert modelled.parent is not None
    with pytest.raises(InvalidInput, match="評価を記録できるのは事業だけ"):
        _create(as_actor(actors, "admin"), modelled.parent)


def test_only_the_owning_editors_and_admin_write(actors: Actors, modelled: PlanItem) -> None:
    for name in ("staff", "owner_viewer", "other_editor"):
        with pytest.raises(PermissionDenied):
            _create(as_actor(actors, name), modelled)
    ev = _create(as_actor(actors, "admin"), modelled)
    with pytest.raises(PermissionDenied):
        services_evaluations.evaluation_update(
            actor=as_actor(actors, "other_editor"),
            evaluation=ev,
            lock_version=0,
            self_assessment="x",
            direction="expand",
        )


def test_update_checks_the_lock_and_audits(modelled: PlanItem, editor: Actor) -> None:
    ev = _create(editor, modelled)
    ev = services_evaluations.evaluation_update(
        actor=editor, evaluation=ev, lock_version=0, self_assessment="概ね順調。", direction="expand",
        next_request_amount_yen=2_000_000,
    )  # fmt: skip
    assert (ev.direction, ev.next_request_amount_yen, ev.lock_version) == ("expand", 2_000_000, 1)
    with pytest.raises(Conflict, match="ほかの人が先に変更しました"):
        services_evaluations.evaluation_update(
            actor=editor, evaluation=ev, lock_version=0, self_assessment="x", direction="reduce"
        )
    event = AuditEvent.objects.get(action="ebpm.evaluation.update")
    assert event.changes["direction"] == "expand"
    assert "self_assessment" not in event.changes  # unchanged
    same = services_evaluations.evaluation_update(
        actor=editor, evaluation=ev, lock_version=1, self_assessment="概ね順調。", direction="expand",
        next_request_amount_yen="2000000",
    )  # fmt: skip
    assert same.lock_version == 1  # nothing changed: no new version, no audit
    assert AuditEvent.objects.filter(action="ebpm.evaluation.update").count() == 1


def _analysis(actors: Actors, owner: str, level: int | None, status: str = "done") -> Analysis:
    dataset = make_dataset(actors.org.health_div, slug=f"a-{uuid.uuid4().hex[:6]}", title="受診記録")
    table = Table.objects.create(dataset=dataset, name="t", title="受診", storage_key=uuid.uuid4().hex)
    result = {"evidence_level": level} if level is not None else {}
    return Analysis.objects.create(
        title="受診勧奨の効果（DiD）", design="did_2x2", owner=actors.users[owner], table=table, result=result,
        status=status,
    )  # fmt: skip


def test_a_linked_analysis_gives_the_evidence_level(
    actors: Actors, modelled: PlanItem, editor: Actor
) -> None:
    mine = _analysis(actors, "owner_editor", 4)
    ev = _create(editor, modelled, analysis_id=mine.pk, evidence_level=1)
    assert (ev.analysis_id, ev.evidence_level) == (
        mine.pk,
        4,
    )  # the analysis's level, not the hand-picked one
    assert sel.analysis_visible(as_actor(actors, "owner_editor"), ev)
    assert not sel.analysis_visible(as_actor(actors, "staff"), ev)  # analyses are their owner's
    forecast = _analysis(actors, "owner_editor", None)
    with pytest.raises(InvalidInput, match="根拠の強さがありません"):
        _create(editor, modelled, fiscal_year=2023, analysis_id=forecast.pk)
    running = _analysis(actors, "owner_editor", 3, status="running")
    with pytest.raises(InvalidInput, match="根拠の強さがありません"):
        _create(editor, modelled, fiscal_year=2023, analysis_id=running.pk)
    someone_elses = _analysis(actors, "owner_viewer", 5)
    with pytest.raises(InvalidInput, match="自分が見られる分析を選んで"):
        _create(editor, modelled, fiscal_year=2023, analysis_id=someone_elses.pk)
    # 管理 edits the evaluation without being able to... keep the analysis it cannot change
    admin = as_actor(actors, "admin")
    kept = services_evaluations.evaluation_update(
        actor=admin,
        evaluation=ev,
        lock_version=0,
        self_assessment="追記",
        direction="continue",
        analysis_id=mine.pk,
    )
    assert (kept.analysis_id, kept.evidence_level) == (mine.pk, 4)


def test_evaluation_plans(
    actors: Actors, modelled: PlanItem, editor: Actor, measured: dict[str, Indicator]
) -> None:
    plan = services_evaluations.evaluation_plan_add(
        actor=editor, item=modelled, indicator_id=measured["rate"].pk, design="did", fiscal_year="令和8年度",
        timing="法定報告の確定後（11月）", note="比較対象: 勧奨しなかった地区",
    )  # fmt: skip
    assert (plan.fiscal_year, plan.design, plan.stage_at_fixing) == (2026, "did", "idea")
    with pytest.raises(InvalidInput, match="検証の方法「magic」は選べません"):
        services_evaluations.evaluation_plan_add(
            actor=editor, item=modelled, indicator_id=measured["rate"].pk, design="magic", fiscal_year=2026
        )
    with pytest.raises(InvalidInput, match="検証する指標を選んでください"):
        services_evaluations.evaluation_plan_add(
            actor=editor, item=modelled, indicator_id="", design="rct", fiscal_year=2026
        )
    with pytest.raises(InvalidInput, match="ありえない年度"):
        services_evaluations.evaluation_plan_add(
            actor=editor, item=modelled, indicator_id=measured["rate"].pk, design="rct", fiscal_year=3000
        )
    with pytest.raises(PermissionDenied):
        services_evaluations.evaluation_plan_remove(actor=as_actor(actors, "staff"), plan=plan)
    services_evaluations.evaluation_plan_remove(actor=editor, plan=plan)
    assert not EvaluationPlan.objects.exists()
    assert [
        e.action for e in AuditEvent.objects.filter(action__startswith="ebpm.evaluation_plan").order_by("id")
    ] == [
        "ebpm.evaluation_plan.add",
        "ebpm.evaluation_plan.remove",
    ]


def test_review_rows_filter_and_sort(
    actors: Actors, modelled: PlanItem, editor: Actor, measured: dict[str, Indicator]
) -> None:
    admin = as_actor(actors, "admin")
    unit = actors.org.health_div.pk
    cheap = services.plan_item_create(
        actor=editor, level="project", name="安い事業", unit_id=unit, code="9-9"
    )
    services.budget_line_set(actor=editor, item=cheap, fiscal_year=2024, kind="settlement", amount_yen=10)
    fire = services.plan_item_create(
        actor=admin, level="project", name="消防の事業", unit_id=actors.org.fire_div.pk, code="0-1"
    )
    _create(editor, modelled, output_indicator_id=measured["sent"].pk, direction="expand", evidence_level=4)
    _create(editor, cheap, direction="abolish")
    staff = as_actor(actors, "staff")
    rows = sel.review_rows(actor=staff, fiscal_year=2024)
    assert [r.item.name for r in rows] == ["消防の事業", "特定健診受診勧奨事業", "安い事業"]  # by 番号
    assert rows[0].evaluation is None
    assert rows[0].direction_label == "未評価"
    by_settlement = sel.review_rows(actor=staff, fiscal_year=2024, sort="settlement", descending=True)
    assert [r.item.pk for r in by_settlement] == [modelled.pk, cheap.pk, fire.pk]  # blanks last
    ascending = sel.review_rows(actor=staff, fiscal_year=2024, sort="settlement")
    assert [r.item.pk for r in ascending] == [cheap.pk, modelled.pk, fire.pk]  # blanks last either way
    by_evidence = sel.review_rows(actor=staff, fiscal_year=2024, sort="evidence", descending=True)
    assert by_evidence[0].item.pk == modelled.pk
    assert [r.item.pk for r in sel.review_rows(actor=staff, fiscal_year=2024, direction="abolish")] == [
        cheap.pk
    ]
    assert [
        r.item.pk for r in sel.review_rows(actor=staff, fiscal_year=2024, unit_id=actors.org.fire_div.pk)
    ] == [fire.pk]
    assert sel.review_rows(actor=staff, fiscal_year=2023, direction="expand") == []
    assert rows[1].figures.cost_per_output.value == Decimal(4000)
    assert rows[1].model_version == 1
    assert rows[1].warnings >= 1
    assert 2024 in sel.review_years(actor=staff)
