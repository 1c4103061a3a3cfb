"""The EBPM demo: three invented 事業 with logic models, idempotent, and the ambulance indicator counted per 年度."""

from __future__ import annotations

import collections
import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from django.contrib.auth import get_user_model

from machidata.access.policy import actor_for
from machidata.catalog.models import Table
from machidata.core.testing import make_dataset, make_unit
from machidata.ebpm.demo import HEALTH, KYUKYU, LABEL, STRATEGY, load_ebpm_demo, load_ebpm_demo_reporting
from machidata.ebpm.models import Evaluation, EvaluationPlan, Indicator, LogicModelVersion, PlanItem
from machidata.ebpm.selectors_evaluations import evaluation_figures
from machidata.ebpm.strategy import strategy_board
from machidata.jp.fiscal import fiscal_year
from machidata.lake.protocol import write_version

pytestmark = pytest.mark.django_db(transaction=True)
User = get_user_model()
SCHEMA = pa.schema([("覚知日時", pa.timestamp("us")), ("区", pa.string())])


def test_demo_loads_once_and_computes_the_ambulance_indicator(settings: Any, tmp_path: Path) -> None:
    settings.MACHIDATA_HOME = tmp_path
    make_unit("健康づくり推進課", code=HEALTH)
    kyukyu = make_unit("救急課", code=KYUKYU)
    make_unit("データ戦略課", code=STRATEGY)
    dataset = make_dataset(kyukyu, slug="ambulance-dispatch-records", classification="confidential")
    table = Table.objects.create(
        dataset=dataset, name="dispatches", title="救急出動記録", storage_key=uuid.uuid4().hex
    )
    start = dt.datetime(2022, 3, 31, 23, 30)
    rows = [{"覚知日時": start + dt.timedelta(hours=9 * i), "区": "中央区"} for i in range(400)]
    write_version(
        table=table, batches=[pa.RecordBatch.from_pylist(rows, schema=SCHEMA)], schema=SCHEMA, mode="replace",
        job_id="demo-test", source_name="test",
    )  # fmt: skip
    summary = load_ebpm_demo()
    assert summary.skipped == []
    projects = PlanItem.objects.filter(level="project")
    assert projects.count() == 3
    assert all(LABEL in p.name for p in PlanItem.objects.all())
    assert all(p.logic_model.number == 1 for p in projects)
    ind = Indicator.objects.get(source_kind="query")
    expected = collections.Counter(fiscal_year(r["覚知日時"]) for r in rows)
    assert {a.fiscal_year: int(a.value) for a in ind.actuals.all()} == dict(expected)
    assert ind.status != "check", ind.status_reason
    counts = (PlanItem.objects.count(), Indicator.objects.count(), LogicModelVersion.objects.count())
    again = load_ebpm_demo()
    assert again.skipped == []
    assert (PlanItem.objects.count(), Indicator.objects.count(), LogicModelVersion.objects.count()) == counts
    # evaluations and plans: once, labelled, with the cost computed from the demo's own 決算 and actual
    assert Evaluation.objects.count() == 3
    assert EvaluationPlan.objects.count() == 2
    assert all(e.self_assessment.startswith(LABEL) for e in Evaluation.objects.all())
    assert again.evaluations == 3
    ambulance = Evaluation.objects.get(item__code="D-1-1-1", fiscal_year=2024)
    kyukyu_steward = actor_for(User.objects.get(memberships__unit=kyukyu))
    figures = evaluation_figures(actor=kyukyu_steward, evaluation=ambulance)
    assert figures.cost_per_output.value == round(Decimal(4_512_300) / 36)
    assert EvaluationPlan.objects.get(item=ambulance.item).indicator_id == ind.pk
    # the strategy's KPI board builds on the demo's strategy 事業 (its five indicators, by name)
    board = {r.definition.key: r for r in strategy_board(actor=kyukyu_steward)}
    for key in ("skill", "consultations", "conscious", "where", "catalog"):
        linked = board[key].indicator
        assert linked is not None, key
        assert linked.logic_model.item.code == "D-3-1-1", key
    assert board["rules"].indicator is None


def test_demo_without_the_organisation_is_skipped() -> None:
    said: list[str] = []
    summary = load_ebpm_demo_reporting(say=lambda text, **kw: said.append(text))
    assert summary.skipped
    assert summary.skipped[0] in said[-1]
    assert not PlanItem.objects.exists()


def test_demo_maps_the_board_to_the_synthetic_staff_survey(settings: Any, tmp_path: Path) -> None:
    from machidata.access.models import Role
    from machidata.core.testing import make_user
    from machidata.ebpm.models import BoardSurveyLink
    from machidata.surveys.demo import load_surveys_demo

    settings.MACHIDATA_HOME = tmp_path
    make_unit("健康づくり推進課", code=HEALTH)
    make_unit("救急課", code=KYUKYU)
    strategy_unit = make_unit("データ戦略課", code=STRATEGY)
    admin = make_user(unit=strategy_unit, role=Role.ADMIN)
    assert load_surveys_demo(users={"admin": admin})["survey_round"] == 2
    assert not [s for s in load_ebpm_demo().skipped if "アンケート" in s]
    assert sorted(BoardSurveyLink.objects.values_list("key", flat=True)) == ["skill", "where"]
    board = {r.definition.key: r for r in strategy_board(actor=actor_for(admin), today=dt.date(2025, 6, 1))}
    skill = board["skill"]
    assert skill.live is not None
    assert set(skill.live.rounds) == {2024}  # the 2023 round is before the board's years
    label, n = skill.live.rounds[2024]
    assert label == "2024年度"
    assert n > 0
    assert Decimal(0) < skill.live.values[2024] < Decimal(100)
    load_ebpm_demo()
    assert BoardSurveyLink.objects.count() == 2  # once
