"""EBPM services: plan tree, lifecycle, budget, item edits, logic model versions and templates."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from machidata.access.policy import Actor
from machidata.audit.models import AuditEvent
from machidata.core.errors import Conflict, InvalidInput, PermissionDenied
from machidata.core.testing import Actors
from machidata.ebpm import services
from machidata.ebpm.models import BudgetLine, LogicModel, LogicModelVersion, PlanItem
from machidata.ebpm.tests.conftest import as_actor

pytestmark = pytest.mark.django_db


# ---- plan items, lifecycle, budget ---------------------------------------------------------------


def test_tree_levels_are_enforced(actors: Actors, project: PlanItem, editor: Actor) -> None:
    unit = actors.org.health_div.pk
    assert project.parent is not None
    assert project.parent.level == "measure"
    with pytest.raises(InvalidInput, match="事業の下に事業は置けません"):
        services.plan_item_create(actor=editor, level="project", name="x", unit_id=unit, parent_id=project.pk)
    with pytest.raises(InvalidInput, match="施策には上位の政策"):
        services.plan_item_create(actor=editor, level="measure", name="x", unit_id=unit)
    with pytest.raises(InvalidInput, match="区分「program」は選べません"):
        services.plan_item_create(actor=editor, level="program", name="x", unit_id=unit)


def test_only_the_owning_editors_and_admin_create_and_change(actors: Actors, project: PlanItem) -> None:
    unit = actors.org.health_div.pk
    for name in ("owner_viewer", "other_editor", "staff"):
        with pytest.raises(PermissionDenied):
            services.plan_item_create(actor=as_actor(actors, name), level="project", name="x", unit_id=unit)
        with pytest.raises(PermissionDenied):
            services.plan_item_move(actor=as_actor(actors, name), item=project, stage="request")
    services.plan_item_move(actor=as_actor(actors, "admin"), item=project, stage="request")


def test_lifecycle_moves_one_step_and_is_recorded(project: PlanItem, editor: Actor) -> None:
    with pytest.raises(Conflict, match="「構想」から「予算化」へは移れません"):
        services.plan_item_move(actor=editor, item=project, stage="budgeted")
    for stage in ("request", "budgeted", "running", "evaluation"):
        project = services.plan_item_move(actor=editor, item=project, stage=stage, note=f"→{stage}")
    project = services.plan_item_move(actor=editor, item=project, stage="running", note="評価のやり直し")
    assert project.stage == "running"
    history = list(project.stage_changes.values_list("stage_from", "stage_to"))
    assert history == [
        ("idea", "request"),
        ("request", "budgeted"),
        ("budgeted", "running"),
        ("running", "evaluation"),
        ("evaluation", "running"),
    ]
    assert AuditEvent.objects.filter(action="ebpm.item.stage").count() == 5
    with pytest.raises(InvalidInput, match="段階「done」は選べません"):
        services.plan_item_move(actor=editor, item=project, stage="done")


def test_budget_lines_one_per_year_and_kind(project: PlanItem, editor: Actor) -> None:
    services.budget_line_set(
        actor=editor, item=project, fiscal_year="令和6年度", kind="initial", amount_yen="1,200,000"
    )
    services.budget_line_set(
        actor=editor, item=project, fiscal_year=2024, kind="initial", amount_yen=1_500_000
    )
    services.budget_line_set(
        actor=editor, item=project, fiscal_year=2024, kind="settlement", amount_yen="1350000円"
    )
    rows = list(BudgetLine.objects.filter(item=project).values_list("fiscal_year", "kind", "amount_yen"))
    assert sorted(rows) == [(2024, "initial", 1_500_000), (2024, "settlement", 1_350_000)]


@pytest.mark.parametrize(
    ("year", "amount", "message"),
    [
        ("1800", 1, "ありえない年度"),
        (3000, 1, "ありえない年度"),
        ("二千二十四", 1, "年度として読めません"),
        ("2024.5", 1, "年度として読めません"),
        ("", 1, "年度を入力してください"),
        (2024, -5, "マイナスの値"),
        (2024, "▲500", "マイナスの値"),
        (2024, "12.5", "円単位の整数"),
        (2024, "たくさん", "数値として読めません"),
    ],
)
def test_budget_bad_input(project: PlanItem, editor: Actor, year: Any, amount: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        services.budget_line_set(
            actor=editor, item=project, fiscal_year=year, kind="initial", amount_yen=amount
        )
    assert not BudgetLine.objects.exists()


# ---- logic models ---------------------------------------------------------------------------------


def test_each_save_is_a_new_immutable_version(modelled: PlanItem, editor: Actor) -> None:
    model = modelled.logic_model
    assert model.number == 1
    first = copy.deepcopy(model.document)
    services.node_save(
        actor=editor, item=modelled, stage="long", statement="市民の健康寿命が延びる", number="4"
    )
    services.link_add(actor=editor, item=modelled, source="n3", target="n4", rationale="受診で早期発見")
    model.refresh_from_db()
    assert model.number == 3
    versions = {v.number: v.document for v in LogicModelVersion.objects.filter(model=model)}
    assert versions[1] == first
    assert [n["id"] for n in versions[3]["nodes"]] == ["n1", "n2", "n3", "n4"]
    # saving the same document again makes no version
    services.logic_model_save(actor=editor, item=modelled, document=model.document)
    model.refresh_from_db()
    assert model.number == 3


def test_stale_save_conflicts(modelled: PlanItem, editor: Actor) -> None:
    services.node_save(actor=editor, item=modelled, stage="input", statement="予算", expected_number=1)
    with pytest.raises(Conflict, match="ほかの人が先に保存しました"):
        services.node_save(actor=editor, item=modelled, stage="input", statement="人員", expected_number=1)


def test_link_to_unknown_node_is_refused_and_nothing_saved(modelled: PlanItem, editor: Actor) -> None:
    with pytest.raises(InvalidInput, match="要素「n9」はこのロジックモデルにありません"):
        services.link_add(actor=editor, item=modelled, source="n1", target="n9")
    with pytest.raises(InvalidInput, match="段階「heaven」"):
        services.node_save(actor=editor, item=modelled, stage="heaven", statement="x")
    assert LogicModelVersion.objects.count() == 1


def test_link_to_a_node_of_another_model_is_refused(
    actors: Actors, modelled: PlanItem, editor: Actor
) -> None:
    other = services.plan_item_create(
        actor=editor, level="project", name="がん検診事業", unit_id=actors.org.health_div.pk
    )
    services.logic_model_save(
        actor=editor,
        item=other,
        document={"nodes": [{"id": "m1", "stage": "activity", "statement": "検診車"}]},
    )
    with pytest.raises(InvalidInput, match="要素「m1」はこのロジックモデルにありません"):
        services.link_add(actor=editor, item=modelled, source="n1", target="m1")


def test_copy_as_template(actors: Actors, modelled: PlanItem, editor: Actor) -> None:
    other = services.plan_item_create(
        actor=editor, level="project", name="がん検診受診勧奨事業", unit_id=actors.org.health_div.pk
    )
    copied = services.logic_model_copy(actor=editor, source=modelled, target=other)
    assert copied.document == modelled.logic_model.document
    assert copied.number == 1
    assert "コピー" in copied.versions.get().note
    with pytest.raises(PermissionDenied):
        services.logic_model_copy(actor=as_actor(actors, "other_editor"), source=modelled, target=other)


def test_item_update_and_link_rationale(actors: Actors, modelled: PlanItem, editor: Actor) -> None:
    updated = services.plan_item_update(
        actor=editor,
        item=modelled,
        lock_version=modelled.lock_version,
        name="特定健診・がん検診受診勧奨事業",
        plan_reference="施策3-2・3-3",
    )
    assert updated.name == "特定健診・がん検診受診勧奨事業"
    with pytest.raises(Conflict, match="ほかの人が先に変更しました"):
        services.plan_item_update(
            actor=editor, item=modelled, lock_version=modelled.lock_version, name="古い画面から"
        )
    with pytest.raises(InvalidInput, match="名称を入力してください"):
        services.plan_item_update(actor=editor, item=updated, lock_version=updated.lock_version, name="")
    with pytest.raises(PermissionDenied):
        services.plan_item_update(
            actor=as_actor(actors, "owner_viewer"), item=updated, lock_version=updated.lock_version, name="x"
        )
    model = services.link_update(
        actor=editor,
        item=modelled,
        link_id="l2",
        rationale="受け取った人の一部が受診する",
        assumptions="住所が正しい",
    )
    assert model.document["links"][1]["rationale"] == "受け取った人の一部が受診する"
    assert model.document["links"][1]["from"] == "n2"
    from machidata.ebpm.logic import warnings

    assert "link_without_rationale" not in {w.code for w in warnings(model.document, [])}


def test_numbers_are_read_like_staff_write_them() -> None:
    assert services.check_number("１，２３４円", label="x") == Decimal(1234)
    assert services.check_number("▲5", label="x") == Decimal(-5)
    assert services.check_number("33.33335", label="x") == Decimal("33.3334")  # 4 places, half up
    assert services.check_number(0.1, label="x") == Decimal("0.1")
    assert services.check_number("", label="x", required=False) is None
    with pytest.raises(InvalidInput, match="大きすぎます"):
        services.check_number("1" + "0" * 16, label="金額")
    with pytest.raises(InvalidInput, match="数値で入力"):
        services.check_number(True, label="金額")
    with pytest.raises(InvalidInput, match="数値で入力"):
        services.check_number(float("nan"), label="金額")


@pytest.mark.parametrize(
    ("kind", "ref", "message"),
    [
        ("analysis", "999999", "根拠の分析結果「999999」が見つかりません"),
        ("case", "999999", "根拠の事例「999999」が見つかりません"),
        ("dataset", "no-such-data", "根拠のデータセット「no-such-data」が見つかりません"),
    ],
)
def test_evidence_must_be_something_the_editor_can_see(
    modelled: PlanItem, editor: Actor, kind: str, ref: str, message: str
) -> None:
    nodes = [n["id"] for n in LogicModel.objects.get(item=modelled).document["nodes"]]
    with pytest.raises(InvalidInput, match=message):
        services.link_add(
            actor=editor, item=modelled, source=nodes[0], target=nodes[-1],
            rationale="r", evidence=[{"kind": kind, "ref": ref}],
        )  # fmt: skip
