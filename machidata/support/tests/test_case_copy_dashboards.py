"""横展開 copies a case's dashboards with their charts into the copier's 課 (issue 13 point 5)."""

from __future__ import annotations

from typing import Any

import pytest

from machidata.access.models import Classification
from machidata.audit.models import AuditEvent
from machidata.catalog.models import DatasetGrant, GrantLevel, Table
from machidata.catalog.tests.table_fixtures import ROWS, lake_home, make_table, write
from machidata.charts.models import Chart, Dashboard, Sharing
from machidata.charts.selectors import chart_get, dashboard_get
from machidata.charts.services import (
    chart_create,
    dashboard_add_chart,
    dashboard_add_text,
    dashboard_copy,
    dashboard_create,
)
from machidata.charts.tests.conftest import bar_document
from machidata.core.testing import Actors, make_dataset
from machidata.support.services_cases import case_copy, case_create, case_publish
from machidata.support.tests.conftest import actor_of
from machidata.support.tests.test_case_links import CASE

__all__ = ["lake_home"]

pytestmark = pytest.mark.django_db


def _table(actors: Actors, slug: str, classification: str) -> Table:
    table = make_table(make_dataset(actors.org.health_div, classification=classification, slug=slug))
    write(table, ROWS)
    return table


@pytest.fixture
def board(actors: Actors, lake_home: Any) -> dict[str, Any]:
    """A health 課 dashboard shared with all staff: a chart on a 庁内 table, one on a 所属限定 table, a text block."""
    owner = actor_of(actors, "owner_editor")
    internal = _table(actors, "kenshin-open", Classification.INTERNAL)
    restricted = _table(actors, "kenshin-own", Classification.RESTRICTED)
    charts = {}
    for key, table in (("internal", internal), ("restricted", restricted)):
        charts[key] = chart_create(
            actor=owner,
            title=f"区別の件数（{key}）",
            document=bar_document(table),
            sharing=Sharing.STAFF,
        )
    dashboard = dashboard_create(
        actor=owner, title="受診率の推移", sharing=Sharing.STAFF, filters=[{"column": "区", "kind": "value"}]
    )
    for chart in charts.values():
        dashboard = dashboard_add_chart(
            actor=owner, dashboard=dashboard, lock_version=dashboard.lock_version, chart_uuid=str(chart.uuid)
        )
    dashboard = dashboard_add_text(
        actor=owner, dashboard=dashboard, lock_version=dashboard.lock_version, text="北区に注目"
    )
    return {"dashboard": dashboard, "charts": charts, "internal": internal, "restricted": restricted}


def test_copy_makes_the_charts_the_division_can_read_and_flags_the_rest(
    actors: Actors, board: dict[str, Any]
) -> None:
    # the fire 課's 閲覧 holds a grant of their own on the 所属限定 entry; their 課 does not
    DatasetGrant.objects.create(
        dataset=board["restricted"].dataset, user=actors.users["staff"], level=GrantLevel.READ
    )
    copier = actor_of(actors, "staff")
    fire = actors.org.fire_div
    result = dashboard_copy(actor=copier, dashboard=board["dashboard"], unit_id=fire.pk, title="写し")
    made = result.dashboard
    assert (made.title, made.unit, made.owner, made.sharing) == (
        "写し",
        fire,
        actors.users["staff"],
        "department",
    )
    assert made.filters == [{"column": "区", "kind": "value"}]
    assert len(result.charts) == 1
    chart = result.charts[0]
    assert (chart.table, chart.unit, chart.owner, chart.sharing) == (
        board["internal"],
        fire,
        actors.users["staff"],
        Sharing.DEPARTMENT,
    )
    assert chart.uuid != board["charts"]["internal"].uuid
    assert chart.document["meta"]["uuid"] == str(chart.uuid)
    assert chart.document["query"] == board["charts"]["internal"].document["query"]
    # the 所属限定 chart stays behind as a note to re-point, in its place on the grid
    kinds = [i["kind"] for i in made.items]
    assert kinds == ["chart", "text", "text"]
    assert made.items[0]["chart"] == str(chart.uuid)
    note = made.items[1]["text"]
    assert "区別の件数（restricted）" in note
    assert "作り直して" in note
    assert result.to_repoint == [note]
    assert made.items[2]["text"] == "北区に注目"
    # the copies belong to the 課: a colleague of the fire 課 sees the dashboard and the chart
    colleague = actor_of(actors, "other_editor")
    assert dashboard_get(actor=colleague, uuid=made.uuid) == made
    assert chart_get(actor=colleague, uuid=chart.uuid) == chart
    # the original is untouched
    board["dashboard"].refresh_from_db()
    assert len(board["dashboard"].items) == 3
    assert [i["kind"] for i in board["dashboard"].items] == ["chart", "chart", "text"]
    events = AuditEvent.objects.filter(action__in=["chart.create", "dashboard.create"]).order_by("-id")[:2]
    assert {e.changes.get("copied_from") for e in events} == {
        board["charts"]["internal"].pk,
        board["dashboard"].pk,
    }


def test_charts_the_copier_may_not_see_are_left_out_without_their_title(
    actors: Actors, board: dict[str, Any]
) -> None:
    copier = actor_of(actors, "other_editor")  # no grant: the 所属限定 chart is hidden from them
    result = dashboard_copy(actor=copier, dashboard=board["dashboard"], unit_id=actors.org.fire_div.pk)
    assert len(result.charts) == 1
    assert [i["kind"] for i in result.dashboard.items] == ["chart", "text"]
    assert result.to_repoint == ["見る権限のないグラフ1件は写していません。"]
    assert "restricted" not in str(result.dashboard.items)


def test_case_copy_copies_its_dashboards_to_the_copiers_division(
    actors: Actors, board: dict[str, Any]
) -> None:
    owner = actor_of(actors, "owner_editor")
    case = case_create(actor=owner, values=CASE, links={"dashboards": [board["dashboard"].pk]})
    case_publish(actor=owner, case=case)
    charts_before = Chart.objects.count()
    result = case_copy(actor=actor_of(actors, "other_editor"), case=case)
    assert len(result.dashboards) == 1
    made = result.dashboards[0]
    assert made.unit == actors.org.fire_div
    assert made.title == "受診率の推移（横展開）"
    assert list(result.case.dashboards.all()) == [made]  # the copy links the 課's own dashboard
    assert result.charts == 1
    assert Chart.objects.count() == charts_before + 1
    assert any("見る権限のないグラフ1件" in reason for reason in result.skipped)
    event = AuditEvent.objects.filter(action="case.copy").latest("id")
    assert event.changes["dashboards"] == [made.pk]


def test_admin_copying_into_a_division_checks_what_that_division_can_read(
    actors: Actors, board: dict[str, Any]
) -> None:
    admin = actor_of(actors, "admin")  # 管理 reads the 所属限定 table; the fire 課 cannot
    result = dashboard_copy(actor=admin, dashboard=board["dashboard"], unit_id=actors.org.fire_div.pk)
    assert [c.table for c in result.charts] == [board["internal"]]
    assert len(result.to_repoint) == 1
    assert "表「" in result.to_repoint[0]  # the 所属限定 entry is discoverable by staff: named
    # copied for the health 課 itself, both charts come along
    own = dashboard_copy(actor=admin, dashboard=board["dashboard"], unit_id=actors.org.health_div.pk)
    assert {c.table for c in own.charts} == {board["internal"], board["restricted"]}
    assert own.to_repoint == []
    assert Dashboard.objects.filter(unit=actors.org.health_div).count() == 2


def test_api_copy_reports_the_new_dashboards(actors: Actors, board: dict[str, Any]) -> None:
    owner = actor_of(actors, "owner_editor")
    case = case_create(actor=owner, values=CASE, links={"dashboards": [board["dashboard"].pk]})
    case_publish(actor=owner, case=case)
    response = actors.client("other_editor").post(f"/api/v1/support/cases/{case.pk}/copy")
    assert response.status_code == 201, response.content
    data = response.json()
    made = Dashboard.objects.get(unit=actors.org.fire_div)
    assert data["dashboards"] == [str(made.uuid)]
    assert data["charts"] == 1
    assert data["case"]["links"]["dashboards"] == [str(made.uuid)]
    page = actors.client("other_editor").post(f"/support/cases/{case.pk}/copy/", follow=True)
    html = page.content.decode()
    assert "ダッシュボード「受診率の推移（横展開）」を課で共有する形で作りました。" in html
    assert "グラフ1件をダッシュボードと一緒に写しました。" in html
