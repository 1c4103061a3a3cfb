"""Shared set-up of the public-sharing tests: a 課長 and 代決者, a 公開 table with a published version."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from machidata.access.models import ApproverDesignation, Classification, DesignationKind, Role
from machidata.access.policy import Actor, actor_for
from machidata.catalog.models import Licence, Table, TableVersion
from machidata.catalog.tests.table_fixtures import make_rows, make_table, write
from machidata.charts.models import Chart, Dashboard, Sharing
from machidata.charts.services import chart_create, dashboard_add_chart, dashboard_add_text, dashboard_create
from machidata.charts.services_public import share_request_act, share_request_create
from machidata.core.testing import Actors, make_dataset, make_user
from machidata.publish.models import PublicationRequest, PublishedVersion, RequestStatus

V1_ROWS = make_rows(25)  # 5 rows per ward
V2_ROWS = make_rows(50)  # 10 rows per ward


def bar_document(table: Table, **visual: Any) -> dict[str, Any]:
    """Count of rows by ward (bar chart)."""
    return {
        "query": {"table": {"dataset": table.dataset.slug, "name": table.name}, "filters": [],
                  "group_by": [{"column": "区"}], "measures": [{"op": "count"}]},
        "visual": {"type": "bar", "x": "区", "y": "件数", "options": {}, **visual},
        "meta": {},
    }  # fmt: skip


def as_(actors: Actors, name: str) -> Actor:
    """The policy actor of a named test user."""
    return actor_for(actors.users[name])


@pytest.fixture
def cast(actors: Actors) -> Actors:
    """The standard actors plus the 課長 (``head``) and 代決者 (``deputy``) of 健康づくり推進課."""
    hdiv = actors.org.health_div
    actors.users["head"] = make_user("head", unit=hdiv, role=Role.VIEWER, first_name="課長")
    actors.users["deputy"] = make_user("deputy", unit=hdiv, role=Role.VIEWER, first_name="課長補佐")
    ApproverDesignation.objects.create(unit=hdiv, user=actors.users["head"], kind=DesignationKind.HEAD)
    ApproverDesignation.objects.create(unit=hdiv, user=actors.users["deputy"], kind=DesignationKind.DEPUTY)
    return actors


def publish(table: Table, version: TableVersion, by: Any) -> PublishedVersion:
    """The state an approved dataset 公開申請 leaves (publish room): the dataset 公開, the version published."""
    licence, _ = Licence.objects.get_or_create(
        code="cc-by-4.0", defaults={"name": "CC BY 4.0", "is_open": True}
    )
    dataset = table.dataset
    type(dataset).objects.filter(pk=dataset.pk).update(classification=Classification.PUBLIC)
    req = PublicationRequest.objects.create(
        dataset=dataset, route_name="full", steps=[], status=RequestStatus.APPROVED, licence=licence,
        attribution="熊本市健康づくり推進課", requested_by=by,
    )  # fmt: skip
    return PublishedVersion.objects.create(table=table, version=version, request=req)


def unpublish(table: Table) -> None:
    """The state an approved 非公開化 leaves for the table: none of its versions is published any more."""
    PublishedVersion.objects.filter(table=table).update(withdrawn_at=timezone.now())


@pytest.fixture
def open_table(cast: Actors, lake_home: Any) -> Table:
    """A 公開 table of 健康づくり推進課 whose first version (5 rows per ward) is published."""
    dataset = make_dataset(cast.org.health_div, classification=Classification.PUBLIC, slug="pop-open",
                           title="区別人口（公開）")  # fmt: skip
    table = make_table(dataset)
    version = write(table, V1_ROWS)
    publish(table, version, cast.users["owner_editor"])
    return Table.objects.get(pk=table.pk)


def make_public_chart_candidate(
    cast: Actors, table: Table, *, sharing: str = Sharing.STAFF, **visual: Any
) -> Chart:
    """A bar chart of ``table`` by ``owner_editor`` (count by ward)."""
    return chart_create(
        actor=as_(cast, "owner_editor"), title="区別の件数", document=bar_document(table, **visual),
        source="熊本市 住民基本台帳", sharing=sharing,
    )  # fmt: skip


def approve_all(cast: Actors, obj: Chart | Dashboard, *, by: tuple[str, str] = ("head", "admin")) -> Any:
    """File a 公開申請 as ``owner_editor`` and approve both steps."""
    req = share_request_create(actor=as_(cast, "owner_editor"), obj=obj)
    for name in by:
        req = share_request_act(actor=as_(cast, name), request=req, decision="approve")
    return req


def make_board(cast: Actors, charts: list[Chart]) -> Dashboard:
    """A staff-shared dashboard with a text block and ``charts``."""
    editor = as_(cast, "owner_editor")
    board = dashboard_create(
        actor=editor, title="区のようす", description="区ごとの件数", sharing=Sharing.STAFF
    )
    board = dashboard_add_text(
        actor=editor, dashboard=board, lock_version=board.lock_version, text="説明の文章"
    )
    for chart in charts:
        board = dashboard_add_chart(
            actor=editor, dashboard=board, lock_version=board.lock_version, chart_uuid=str(chart.uuid)
        )
    return board
