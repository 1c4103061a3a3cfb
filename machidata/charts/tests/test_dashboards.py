"""Dashboards: sharing, the grid, shared filters applied to charts that have the column, hidden charts per viewer."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

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


def _items(board: Dashboard) -> list[tuple[str, int]]:
    board.refresh_from_db()
    return [(i["kind"], i["width"]) for i in board.items]


def test_items_move_and_resize_by_buttons(actors: Actors, table: Table) -> None:
    board = _board(actors, table)  # [text (12), chart (6)]
    client = actors.client("owner_editor")

    def press(index: int, move: str) -> Any:
        return client.post(
            reverse("charts:dashboard_item", args=[board.uuid, index, move]),
            {"lock_version": Dashboard.objects.get(pk=board.pk).lock_version},
        )

    response = press(1, "up")
    assert response.status_code == 302
    assert response["Location"].endswith("#moved-0-up")
    assert _items(board) == [("chart", 6), ("text", 12)]
    press(0, "up")  # the first cannot go further up: nothing changes
    assert _items(board) == [("chart", 6), ("text", 12)]
    press(0, "wider")
    assert _items(board) == [("chart", 8), ("text", 12)]
    press(0, "wider")
    press(0, "wider")  # 12 is the widest
    assert _items(board) == [("chart", 12), ("text", 12)]
    for _ in range(6):
        press(1, "narrower")
    assert _items(board) == [("chart", 12), ("text", 3)]  # 3 is the narrowest
    press(0, "down")
    assert _items(board) == [("text", 3), ("chart", 12)]
    assert client.post(reverse("charts:dashboard_item", args=[board.uuid, 0, "sideways"]),
                       {"lock_version": 1}).status_code == 404  # fmt: skip
    # a stale page is refused, and only the owner (or 管理) may rearrange
    stale = client.post(reverse("charts:dashboard_item", args=[board.uuid, 0, "down"]), {"lock_version": 1})
    assert stale.status_code == 302
    assert _items(board) == [("text", 3), ("chart", 12)]
    lock = Dashboard.objects.get(pk=board.pk).lock_version
    url = reverse("charts:dashboard_item", args=[board.uuid, 0, "down"])
    assert actors.client("owner_viewer").post(url, {"lock_version": lock}).status_code == 403
    assert AuditEvent.objects.filter(action="dashboard.item_wider").count() == 3
    page = client.get(reverse("charts:dashboard", args=[board.uuid])).content.decode()
    assert 'id="item-0-up"' in page
    assert "disabled" in page
    assert "「区別の件数」を前へ移動" in page


def test_filters_are_edited_after_creation_and_fiscal_year_filters(actors: Actors, table: Table) -> None:
    board = _board(actors, table)
    client = actors.client("owner_editor")
    edit = reverse("charts:dashboard_edit", args=[board.uuid])
    form = client.get(edit).content.decode()
    assert 'value="区"' in form
    assert 'value="日付"' in form
    response = client.post(edit, {"title": "区の概況（年度別）", "description": "", "sharing": "staff",
                                  "value_filter": "区", "fy_filter": "時刻", "lock_version": board.lock_version})  # fmt: skip
    assert response.status_code == 302
    board.refresh_from_db()
    assert board.title == "区の概況（年度別）"
    assert board.filters == [{"column": "区", "kind": "value"}, {"column": "時刻", "kind": "fiscal_year"}]
    assert AuditEvent.objects.filter(action="dashboard.update").count() == 1
    # stale and refused edits
    assert client.post(edit, {"title": "古い", "sharing": "staff", "lock_version": 1}).status_code == 409
    assert actors.client("owner_viewer").get(edit).status_code == 403
    # the 年度 filter: 4/1 00:00 ≤ 時刻 < next 4/1, so 3/31 23:30 belongs to the year before
    url = reverse("charts:dashboard", args=[board.uuid])
    for year in (2023, 2024):
        body = actors.client("owner_viewer").get(url, {"f1": str(year)}).content.decode()
        shown = sum(int(c) for c in re.findall(r"<td>[^<]+区</td><td>(\d+)</td>", body))
        assert shown == sum(
            1 for r in ROWS if (r["時刻"].year if r["時刻"].month >= 4 else r["時刻"].year - 1) == year
        )
    page = actors.client("owner_viewer").get(url).content.decode()
    assert "令和6年度（2024年度）" in page
    assert "合計区分" not in page
    # nonsense in the query string is ignored, not a server error
    assert actors.client("owner_viewer").get(url, {"f1": "令和", "f0": "x" * 500}).status_code == 200


def test_period_end_includes_the_whole_last_day(actors: Actors, table: Table) -> None:
    actor = actor_for(actors.users["owner_editor"])
    chart = make_chart(actors, table)
    board = dashboard_create(actor=actor, title="時刻", sharing=Sharing.STAFF,
                             filters=[{"column": "時刻", "kind": "date_range"}])  # fmt: skip
    board = dashboard_add_chart(actor=actor, dashboard=board, lock_version=1, chart_uuid=str(chart.uuid))
    body = (
        actors.client("owner_viewer")
        .get(reverse("charts:dashboard", args=[board.uuid]), {"f0_from": "2024-03-31", "f0_to": "2024-03-31"})
        .content.decode()
    )
    shown = sum(int(c) for c in re.findall(r"<td>[^<]+区</td><td>(\d+)</td>", body))
    assert shown == sum(1 for r in ROWS if r["時刻"].date().isoformat() == "2024-03-31") == 1
    bad = actors.client("owner_viewer").get(
        reverse("charts:dashboard", args=[board.uuid]), {"f0_to": "2024-02-31"}
    )
    assert bad.status_code == 200


def test_exports_carry_the_filters_on_screen(actors: Actors, table: Table) -> None:
    board = _board(actors, table)
    page = actors.client("owner_viewer").get(reverse("charts:dashboard", args=[board.uuid]), {"f0": "東区"})
    assert "pdf/?f0=%E6%9D%B1%E5%8C%BA" in page.content.decode()


def test_each_view_by_staff_is_recorded_for_the_usage_figures(actors: Actors, table: Table) -> None:
    board = _board(actors, table, sharing=Sharing.STAFF)
    url = reverse("charts:dashboard", args=[board.uuid])
    before = AuditEvent.objects.filter(action="dashboard.view").count()
    actors.client("owner_viewer").get(url)
    actors.client("staff").get(url)
    actors.client("anonymous").get(url)  # sent to the login page: no view
    private = _board(actors, table, sharing=Sharing.PRIVATE)
    actors.client("staff").get(reverse("charts:dashboard", args=[private.uuid]))  # 404: no view
    views = AuditEvent.objects.filter(action="dashboard.view").order_by("id")[before:]
    assert [(e.actor.username, e.object_id) for e in views] == [
        (actors.users["owner_viewer"].username, str(board.pk)),
        (actors.users["staff"].username, str(board.pk)),
    ]


@pytest.mark.django_db
def test_a_dashboard_checks_a_shared_table_once_per_render(
    actors: Actors, table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    from machidata.charts import selectors

    editor = actor_for(actors.users["owner_editor"])
    board = dashboard_create(actor=editor, title="同じ表", sharing=Sharing.DEPARTMENT)
    for _ in range(3):
        chart = make_chart(actors, table, sharing=Sharing.DEPARTMENT)
        board = dashboard_add_chart(actor=editor, dashboard=board, lock_version=board.lock_version,
                                    chart_uuid=str(chart.uuid))  # fmt: skip
    checked: list[str] = []
    original = selectors.table_get

    def counting(**kwargs: Any) -> Table:
        checked.append(kwargs["name"])
        return original(**kwargs)

    monkeypatch.setattr(selectors, "table_get", counting)
    panels = selectors.dashboard_render(actor=actor_for(actors.users["owner_viewer"]), dashboard=board)
    assert [p.rendered is not None for p in panels] == [True, True, True]
    assert checked == [table.name]  # one access check for the three charts of one table
    selectors.dashboard_render(actor=actor_for(actors.users["owner_viewer"]), dashboard=board)
    assert checked == [table.name, table.name]  # never kept across renders (nor viewers)
    outsider = selectors.dashboard_render(actor=actor_for(actors.users["staff"]), dashboard=board)
    assert all(p.rendered is None for p in outsider)


def _slide_texts(content: bytes) -> list[str]:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(content)) as z:
        names = sorted(n for n in z.namelist() if n.startswith("ppt/slides/slide") and n.endswith(".xml"))
        return [" ".join(re.findall(r"<a:t>([^<]*)</a:t>", z.read(n).decode())) for n in names]


def test_api_exports_the_dashboard_as_its_page_does(actors: Actors, table: Table) -> None:
    board = _board(actors, table, sharing=Sharing.STAFF)
    api = f"/api/v1/dashboards/{board.uuid}/export"
    client = actors.client("owner_viewer")
    page = client.get(reverse("charts:dashboard_export", args=[board.uuid, "pptx"]), {"f0": "中央区"})
    got = client.get(f"{api}/pptx", {"f0": "中央区"})
    assert got.status_code == 200
    assert got["Content-Disposition"] == f"attachment; filename=dashboard-{board.uuid}.pptx"
    texts = _slide_texts(got.content)
    assert len(texts) == 2
    assert "出典: テスト" in texts[1]
    assert texts == _slide_texts(page.content)  # same slides, same footers, same filter
    pdf = client.get(f"{api}/pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    events = AuditEvent.objects.filter(action="dashboard.export").order_by("id")
    assert [(e.changes["format"], e.changes["filters"]) for e in events] == [
        ("pptx", {"区": "中央区"}), ("pptx", {"区": "中央区"}), ("pdf", {})
    ]  # fmt: skip
    # Staff of another 課: the chart over a 所属限定 table is left out, as on the page.
    assert len(_slide_texts(actors.client("staff").get(f"{api}/pptx").content)) == 1
    assert actors.client("anonymous").get(f"{api}/pptx").status_code == 401
    assert client.get(f"{api}/docx").status_code == 404
    private = _board(actors, table, sharing=Sharing.PRIVATE)
    check_statuses(actors, lambda c: c.get(f"/api/v1/dashboards/{private.uuid}/export/pdf"),
                   {"anonymous": 401, "staff": 404, "owner_viewer": 404, "owner_editor": 200})  # fmt: skip


def test_dashboard_and_chart_lists_page(actors: Actors, table: Table) -> None:
    for _ in range(3):
        _board(actors, table, sharing=Sharing.STAFF)  # each makes one chart too
    client = actors.client("owner_viewer")
    for path in ("/api/v1/dashboards/", "/api/v1/charts/"):
        first = client.get(path, {"page_size": 2}).json()
        second = client.get(path, {"page_size": 2, "page": 2}).json()
        assert (first["count"], len(first["items"]), len(second["items"])) == (3, 2, 1)
        uuids = {i["uuid"] for i in first["items"]} | {i["uuid"] for i in second["items"]}
        assert len(uuids) == 3
        assert client.get(path, {"page": 0}).status_code == 422


def test_a_render_decides_each_tables_access_once_not_per_chart(
    actors: Actors, table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    from machidata.catalog import table_selectors
    from machidata.charts.selectors import dashboard_render

    actor = actor_for(actors.users["owner_editor"])
    board = dashboard_create(actor=actor, title="三つのグラフ", sharing=Sharing.STAFF)
    for n in range(3):
        chart = make_chart(actors, table, sharing=Sharing.STAFF)
        board = dashboard_add_chart(
            actor=actor, dashboard=board, lock_version=n + 1, chart_uuid=str(chart.uuid)
        )
    calls: list[str] = []
    real = table_selectors.can

    def counting(who: Any, action: Any, dataset: Any) -> bool:
        calls.append(str(action))
        return real(who, action, dataset)

    monkeypatch.setattr(table_selectors, "can", counting)
    panels = dashboard_render(actor=actor, dashboard=board)
    assert [p.rendered is not None for p in panels] == [True, True, True]
    assert len(calls) == 3  # READ for table_get, DISCOVER and READ for the version: once for the 3 charts
    # each render decides again (nothing is kept between pages): another 課 without READ sees no chart
    calls.clear()
    hidden = dashboard_render(actor=actor_for(actors.users["staff"]), dashboard=board)
    assert [p.kind for p in hidden] == ["hidden", "hidden", "hidden"]
