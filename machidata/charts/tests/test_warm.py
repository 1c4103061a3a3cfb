"""Warming a fresh process: the dashboards' chart queries are compiled at start, so the first page compiles nothing."""

from __future__ import annotations

import pytest

from machidata.access.policy import actor_for
from machidata.catalog.models import Table
from machidata.charts.models import Sharing
from machidata.charts.selectors import dashboard_render
from machidata.charts.services import dashboard_add_chart, dashboard_create
from machidata.charts.tests.conftest import make_chart
from machidata.charts.warm import chart_queries, warm_dashboards
from machidata.core.testing import Actors
from machidata.engine import run

pytestmark = pytest.mark.django_db


def test_warm_up_compiles_what_the_first_dashboard_then_only_reads_from_the_cache(
    actors: Actors, table: Table, settings: pytest.FixtureRequest
) -> None:
    settings.MACHIDATA_QUERY_CACHE_SECONDS = 0  # type: ignore[attr-defined]  # every render runs its query
    owner = actor_for(actors.users["owner_editor"])
    chart = make_chart(actors, table, sharing=Sharing.STAFF)
    board = dashboard_create(actor=owner, title="区の概況", sharing=Sharing.STAFF)
    board = dashboard_add_chart(actor=owner, dashboard=board, lock_version=1, chart_uuid=str(chart.uuid))
    run._aggregate_sql.cache_clear()
    # the chart as its 課 sees it, and with the row count that 秘匿 adds for everyone else
    assert len(chart_queries(chart.document)) == 2
    assert warm_dashboards() == 2
    warmed = run._aggregate_sql.cache_info()
    assert (warmed.misses, warmed.currsize) == (2, 2)
    for viewer in ("owner_editor", "admin"):  # the owner 課, and 管理 outside it (suppressed)
        panels = dashboard_render(actor=actor_for(actors.users[viewer]), dashboard=board)
        assert panels[0].rendered is not None
        assert sum(r["件数"] or 0 for r in panels[0].rendered.data.rows) > 0
    after = run._aggregate_sql.cache_info()
    assert after.misses == warmed.misses  # nothing compiled on the pages
    assert after.hits == warmed.hits + 2


def test_warm_up_stops_at_its_budget_and_skips_nothing_it_cannot_read(actors: Actors, table: Table) -> None:
    owner = actor_for(actors.users["owner_editor"])
    chart = make_chart(actors, table, sharing=Sharing.STAFF)
    board = dashboard_create(actor=owner, title="区の概況", sharing=Sharing.STAFF)
    dashboard_add_chart(actor=owner, dashboard=board, lock_version=1, chart_uuid=str(chart.uuid))
    assert warm_dashboards(budget_s=-1) == 0
    assert warm_dashboards(dashboards=0) == 0
