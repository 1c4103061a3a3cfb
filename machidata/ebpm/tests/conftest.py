"""Fixtures of the EBPM tests: a 施策 and a 事業 of 健康づくり推進課 with a small logic model."""

from __future__ import annotations

from typing import Any

import pytest

from machidata.access.policy import Actor, actor_for
from machidata.core.testing import Actors
from machidata.ebpm import services
from machidata.ebpm.models import PlanItem

DOC: dict[str, Any] = {
    "stage_set": "six",
    "nodes": [
        {"id": "n1", "stage": "activity", "number": "1", "statement": "健診の案内を個別に送る"},
        {"id": "n2", "stage": "output", "number": "2", "statement": "案内を受け取った人が増える"},
        {"id": "n3", "stage": "short", "number": "3", "statement": "特定健診の受診率が上がる"},
    ],
    "links": [
        {"id": "l1", "from": "n1", "to": "n2", "rationale": "個別案内は受診を促す"},
        {"id": "l2", "from": "n2", "to": "n3", "rationale": ""},
    ],
    "external_factors": ["感染症の流行"],
}


def as_actor(actors: Actors, name: str) -> Actor:
    return actor_for(actors.users[name])


@pytest.fixture
def editor(actors: Actors) -> Actor:
    return as_actor(actors, "owner_editor")


@pytest.fixture
def project(actors: Actors, editor: Actor) -> PlanItem:
    """施策「健康づくりの推進」(政策 above it) and its 事業「特定健診受診勧奨事業」."""
    admin = as_actor(actors, "admin")
    unit = actors.org.health_div.pk
    policy = services.plan_item_create(
        actor=admin, level="policy", name="健康で長生きできるまち", unit_id=unit
    )
    measure = services.plan_item_create(
        actor=admin, level="measure", name="健康づくりの推進", unit_id=unit, parent_id=policy.pk
    )
    return services.plan_item_create(
        actor=editor, level="project", name="特定健診受診勧奨事業", unit_id=unit, parent_id=measure.pk, code="3-2-1",
        plan_reference="第7次総合計画 施策3-2",
    )  # fmt: skip


@pytest.fixture
def modelled(project: PlanItem, editor: Actor) -> PlanItem:
    """The project with :data:`DOC` saved as version 1."""
    services.logic_model_save(actor=editor, item=project, document=DOC, note="最初の版")
    return project


@pytest.fixture
def restricted_count(actors: Actors, modelled: PlanItem, settings: Any, tmp_path: Any) -> Any:
    """An activity indicator of ``modelled`` counting a 所属限定 table's rows per 年度 (救急出動記録, 健康づくり推進課).

    Its figures may reach only those who may read the table. Needs ``django_db(transaction=True)``.
    """
    import uuid

    from machidata.catalog.models import Table
    from machidata.core.testing import make_dataset
    from machidata.ebpm import services_indicators
    from machidata.ebpm.tests.test_services_indicators import QUERY, TIMES, _write

    settings.MACHIDATA_HOME = tmp_path
    dataset = make_dataset(actors.org.health_div, slug="kyukyu", title="救急出動")  # 所属限定
    table = Table.objects.create(
        dataset=dataset, name="dispatches", title="救急出動記録", storage_key=uuid.uuid4().hex
    )
    _write(table, TIMES)
    return services_indicators.indicator_create(
        actor=as_actor(actors, "owner_editor"), item=modelled, node_id="n2", name="出動件数", kind="activity",
        responsible_unit_id=actors.org.health_div.pk, source_kind="query", table_id=table.pk, query=QUERY,
    )  # fmt: skip
