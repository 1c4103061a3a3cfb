"""Dashboards: sharing, the grid, shared filters applied to charts that have the column, hidden charts per viewer."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.urls import reverse

from machidata.access.policy import actor_for
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Table
from machidata.charts.models import Dashboard, Sharing
from machidata.charts.services import dashboard_add_chart, dashboard_add_text, dashboard_create
from machidata.charts.tests.conftest import ROWS, make_chart
from machidata.core.errors import Conflict, InvalidInput
from machidata.core.testing import Actors, check_statuses

pytestmark = pytest.mark.django_db


def _board(actors: Actors, table: Table, *, sharing: str = Sharing.STAFF) -> Dashboard:
    actor = actor_for(actors.users["owner_editor"])
    chart = make_chart(actors, table, sharing=Sharing.STAFF)
    board = dashboard_create(actor=actor, title="区の概況", sharing=sharing,
                             filters=[{"column": "区", "kind": "value"}, {"column": "日付", "kind": "date_range"}])  # fmt: skip
    board = dashboard_add_text(actor=actor, dashboard=board, lock_version=1, text="令和6年度の速報です。")
    return dashboard_add_chart(
        actor=actor, dashboard=board, lock_version=2, chart_uuid=str(chart.uuid), width=6
    )


def test_dashboard_visibility_and_hidden_panels(actors: Actors, table: Table) -> None:
    board = _board(actors, table, sharing=Sharing.STAFF)
    url = reverse("charts:dashboard", args=[board.uuid])
    check_statuses(
        actors, lambda c: c.get(url), {"anonymous": 302, "staff": 200, "owner_viewer": 200, "admin": 200}
    )
    owner_page = actors.client("owner_viewer").get(url).content.decode()
    assert "令和6年度の速報です。" in owner_page
    assert 'data-vl-spec="spec-1"' in owner_page
    # Staff of another 課 see the dashboard (shared with all staff) but not the chart of a 所属限定 table.
    staff_page = actors.client("staff").get(url).content.decode()
    assert "このグラフは表示できません" in staff_page
    assert "data-vl-spec" not in staff_page
    private = _board(actors, table, sharing=Sharing.PRIVATE)
    check_statuses(actors, lambda c: c.get(reverse("charts:dashboard", args=[private.uuid])),
                   {"staff": 404, "owner_viewer": 404, "owner_editor": 200, "admin": 200})  # fmt: skip


def test_shared_filters_apply_to_charts_with_the_column(actors: Actors, table: Table) -> None:
    board = _board(actors, table)
    url = reverse("charts:dashboard", args=[board.uuid])
    body = actors.client("owner_viewer").get(url, {"f0": "中央区"}).content.decode()
    expected = Counter(r["区"] for r in ROWS)
    assert f"<td>中央区</td><td>{expected['中央区']}</td>" in body
    assert "<td>東区</td>" not in body
    assert "絞り込み: 区" in body
    first_days = sum(1 for r in ROWS if r["日付"].isoformat() <= "2024-04-05")
    dated = actors.client("owner_viewer").get(url, {"f1_to": "2024-04-05"}).content.decode()
    shown = sum(int(c) for c in re.findall(r"<td>[^<]+区</td><td>(\d+)</td>", dated))
    assert shown == first_days


def test_edits_are_owner_only_audited_and_locked(actors: Actors, table: Table) -> None:
    board = _board(actors, table)
    assert AuditEvent.objects.filter(action__startswith="dashboard.").count() == 3
    with pytest.raises(Conflict):
        dashboard_add_text(
            actor=actor_for(actors.users["owner_editor"]), dashboard=board, lock_version=1, text="古い"
        )
    with pytest.raises(InvalidInput):
        dashboard_create(actor=actor_for(actors.users["owner_editor"]), title=" ", sharing="public")
    remove = reverse("charts:dashboard_remove", args=[board.uuid, 0])
    assert actors.client("owner_viewer").post(remove, {"lock_version": board.lock_version}).status_code == 403
    assert actors.client("owner_editor").post(remove, {"lock_version": board.lock_version}).status_code == 302
    board.refresh_from_db()
    assert [i["kind"] for i in board.items] == ["chart"]


@pytest.mark.parametrize("chart", ["", "not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_adding_a_missing_or_malformed_chart_is_refused_not_a_crash(
    actors: Actors, table: Table, chart: str
) -> None:
    """Found by the authorization matrix: an empty chart id raised Django's ValidationError (500)."""
    board = _board(actors, table)
    url = reverse("charts:dashboard_add_chart", args=[board.uuid])
    client = actors.client("owner_editor")  # (signing in is audited too)
    before = AuditEvent.objects.count()
    response = client.post(url, {"lock_version": board.lock_version, "chart": chart})
    assert response.status_code == 404
    board.refresh_from_db()
    assert [i["kind"] for i in board.items] == ["text", "chart"]
    assert AuditEvent.objects.count() == before


def test_new_dashboard_page_and_list(actors: Actors, table: Table) -> None:
    client = actors.client("owner_editor")
    response = client.post(
        reverse("charts:dashboard_new"),
        {"title": "救急の概況", "sharing": "department", "value_filter": "区"},
    )
    assert response.status_code == 302
    board = Dashboard.objects.get(title="救急の概況")
    assert board.filters == [{"column": "区", "kind": "value"}]
    assert "救急の概況" in actors.client("owner_viewer").get(reverse("charts:dashboards")).content.decode()
    assert (
        "表示できるダッシュボードはありません"
        in actors.client("staff").get(reverse("charts:dashboards")).content.decode()
    )


def test_dashboard_api(actors: Actors, table: Table) -> None:
    board = _board(actors, table, sharing=Sharing.DEPARTMENT)
    got = actors.client("owner_viewer").get(f"/api/v1/dashboards/{board.uuid}")
    assert got.status_code == 200
    assert [i["kind"] for i in got.json()["items"]] == ["text", "chart"]
    assert actors.client("staff").get(f"/api/v1/dashboards/{board.uuid}").status_code == 404
    assert actors.client("staff").get("/api/v1/dashboards/").json()["count"] == 0


def test_dashboard_exports_pdf_and_pptx_with_footers(actors: Actors, table: Table) -> None:
    import io
    import zipfile

    board = _board(actors, table, sharing=Sharing.STAFF)
    client = actors.client("owner_viewer")
    pdf = client.get(reverse("charts:dashboard_export", args=[board.uuid, "pdf"]), {"f0": "中央区"})
    assert pdf.content.startswith(b"%PDF")
    pptx = client.get(reverse("charts:dashboard_export", args=[board.uuid, "pptx"]))
    with zipfile.ZipFile(io.BytesIO(pptx.content)) as z:
        slides = sorted(n for n in z.namelist() if n.startswith("ppt/slides/slide") and n.endswith(".xml"))
        assert len(slides) == 2
        chart_slide = z.read(slides[-1]).decode()
        assert "出典: テスト" in chart_slide
        assert "データ: 第1版" in chart_slide
        assert any(n.startswith("ppt/media/") for n in z.namelist())
    events = AuditEvent.objects.filter(action="dashboard.export").order_by("id")
    assert [e.changes["format"] for e in events] == ["pdf", "pptx"]
    assert events[0].changes["filters"] == {"区": "中央区"}
    # Staff of another 課 may export the dashboard, but the chart they cannot see is left out.
    staff = actors.client("staff").get(reverse("charts:dashboard_export", args=[board.uuid, "pptx"]))
    with zipfile.ZipFile(io.BytesIO(staff.content)) as z:
        assert len([n for n in z.namelist() if n.startswith("ppt/slides/slide") and n.endswith(".xml")]) == 1
