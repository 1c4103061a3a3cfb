"""Making a chart public in headless Chromium (issue 7 point 5): the owner files the 公開申請 on the chart
page, the 課長 and データ戦略課 approve on the request page, the anonymous public sees the chart drawn
from the published version under the strict CSP (no other host, axe-core: no WCAG 2.1 AA violation),
and after the table's 非公開化 the public page answers 404. On a public dashboard the visitor filters and
cross-filters as on the staff page (points 3 and 5).
"""

from __future__ import annotations

import datetime as dt
import shutil
from typing import Any
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.test import Client

from machidata.access.models import ApproverDesignation, Classification, DesignationKind, Role
from machidata.access.policy import actor_for
from machidata.catalog.models import Table
from machidata.catalog.tests.table_fixtures import lake_home, make_table, write
from machidata.charts.models import ShareRequest
from machidata.charts.tests.public_fixtures import V1_ROWS, make_public_chart_candidate, publish
from machidata.core.testing import Actors, make_actors, make_dataset, make_user

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine"),
]
__all__ = ["lake_home"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def _cookie(user: Any, url: str) -> dict[str, Any]:
    client = Client()
    client.force_login(user)
    return {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
            "domain": urlparse(url).hostname, "path": "/"}  # fmt: skip


def _published_table() -> tuple[Actors, Table]:
    """The cast with a 課長 of the health 課, and its public table 区別人口（公開） published at V1_ROWS."""
    actors = make_actors()
    hdiv = actors.org.health_div
    actors.users["head"] = make_user("head", unit=hdiv, role=Role.VIEWER, first_name="課長")
    ApproverDesignation.objects.create(unit=hdiv, user=actors.users["head"], kind=DesignationKind.HEAD)
    dataset = make_dataset(
        hdiv, classification=Classification.PUBLIC, slug="pop-open", title="区別人口（公開）"
    )
    table = make_table(dataset)
    publish(table, write(table, V1_ROWS), actors.users["owner_editor"])
    return actors, table


def test_file_approve_twice_public_then_withdrawn(live_server: Any, lake_home: Any, browser: Any) -> None:
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")
    from machidata.publish.services import publication_act, publication_withdraw_request

    actors, table = _published_table()
    chart = make_public_chart_candidate(actors, table)
    base = live_server.url
    own_host = urlparse(base).netloc
    elsewhere: list[str] = []

    def page_as(name: str | None) -> Any:
        context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
        if name is not None:
            context.add_cookies([_cookie(actors.users[name], base)])
        page = context.new_page()
        page.on("request", lambda r: elsewhere.append(r.url) if urlparse(r.url).netloc not in {own_host, ""}
                and not r.url.startswith(("data:", "blob:")) else None)  # fmt: skip
        return context, page

    contexts = []
    try:
        context, owner = page_as("owner_editor")
        contexts.append(context)
        owner.goto(f"{base}/charts/{chart.uuid}/")
        owner.get_by_label("申請のメモ（任意）").fill("市のサイトで紹介したい")
        owner.get_by_role("button", name="公開申請する").click()
        owner.wait_for_url("**/charts/public-requests/*/")
        assert "決裁中" in owner.content()
        req = ShareRequest.objects.get()
        for name in ("head", "admin"):
            context, approver = page_as(name)
            contexts.append(context)
            approver.goto(f"{base}/publication/?scope=awaiting")
            approver.get_by_role("link", name=f"#{req.pk}").click()
            approver.get_by_role("button", name="承認").click()
            approver.wait_for_load_state()
            assert "決裁を記録しました" in approver.content()
        req.refresh_from_db()
        assert req.status == "approved"
        context, visitor = page_as(None)
        contexts.append(context)
        response = visitor.goto(f"{base}/open/charts/")
        assert response is not None
        assert response.status == 200
        assert visitor.get_by_role("link", name="区別の件数").count() == 1
        response = visitor.goto(f"{base}/open/charts/{chart.uuid}/")
        assert response is not None
        assert response.status == 200
        assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
        visitor.wait_for_selector("[data-vl-spec] svg.marks", timeout=20_000)
        text = visitor.content()
        assert "公開中の第1版" in text
        assert "CC BY 4.0" in text
        assert "熊本市 住民基本台帳" in text
        violations = axe_module.Axe().run(visitor, options=AXE_OPTIONS).response["violations"]
        assert not violations, [f"{v['id']} {v['help']}" for v in violations]
        # the table's publication is withdrawn through the publish room's own route
        withdraw = publication_withdraw_request(actor=actor_for(actors.users["owner_editor"]), dataset=table.dataset,
                                                note="誤りが見つかった")  # fmt: skip
        publication_act(actor=actor_for(actors.users["head"]), request=withdraw, decision="approve")
        gone = visitor.goto(f"{base}/open/charts/{chart.uuid}/")
        assert gone is not None
        assert gone.status == 404
    finally:
        for context in contexts:
            context.close()
    assert not elsewhere, elsewhere


def test_public_dashboard_filter_then_cross_filter(live_server: Any, lake_home: Any, browser: Any) -> None:
    """On the public dashboard a visitor picks a 年度 in the filter form, then clicks a bar of 区別の件数:
    the other chart (the total) is narrowed by both, under the strict CSP, with no request to another host."""
    from machidata.charts.services import chart_create, dashboard_update
    from machidata.charts.tests.public_fixtures import approve_all, as_, bar_document, make_board

    actors, table = _published_table()
    by_ward = make_public_chart_candidate(actors, table)
    total = bar_document(table)
    total["query"]["group_by"] = []
    total["visual"] = {"type": "number", "y": "件数", "options": {}}
    editor = as_(actors, "owner_editor")
    card = chart_create(actor=editor, title="合計", document=total, source="熊本市", sharing="staff")
    board = make_board(actors, [by_ward, card])
    board = dashboard_update(
        actor=editor, dashboard=board, lock_version=board.lock_version, title=board.title,
        description=board.description, sharing=board.sharing,
        filters=[{"column": "区", "kind": "value"}, {"column": "時刻", "kind": "fiscal_year"}],
    )  # fmt: skip
    approve_all(actors, board)
    base = live_server.url
    own_host = urlparse(base).netloc
    elsewhere: list[str] = []
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.on("request", lambda r: elsewhere.append(r.url) if urlparse(r.url).netloc not in {own_host, ""}
                and not r.url.startswith(("data:", "blob:")) else None)  # fmt: skip
        response = page.goto(f"{base}/open/dashboards/{board.uuid}/")
        assert response is not None
        assert response.status == 200
        assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
        page.wait_for_selector("[data-click-param] svg.marks", timeout=20_000)
        card_table = page.locator('section[aria-label="合計"] table.grid tbody')
        assert (card_table.text_content() or "").strip() == str(len(V1_ROWS))

        def fy2024(r: dict[str, Any]) -> bool:  # 4/1/2024 ≤ 時刻 < 4/1/2025 (the first row is 3/31 23:30)
            return dt.datetime(2024, 4, 1) <= r["時刻"] < dt.datetime(2025, 4, 1)

        page.select_option("#f1", "2024")
        page.get_by_role("button", name="絞り込む").click()
        page.wait_for_url("**f1=2024**")
        page.wait_for_selector("[data-click-param] svg.marks", timeout=20_000)
        assert (card_table.text_content() or "").strip() == str(sum(1 for r in V1_ROWS if fy2024(r)))
        assert page.locator("text=絞り込み: 時刻").count() == 2
        # a click on a bar of 区別の件数 filters the whole dashboard by its ward (the 年度 kept)
        page.locator('[data-click-param="f0"] svg [aria-roledescription="bar"]').first.click()
        page.wait_for_url("**f0=*")
        page.wait_for_selector("[data-click-param] svg.marks", timeout=20_000)
        ward = page.input_value("#f0")
        assert ward in {r["区"] for r in V1_ROWS}
        assert "f1=2024" in page.url
        want = sum(1 for r in V1_ROWS if fy2024(r) and r["区"] == ward)
        assert (card_table.text_content() or "").strip() == str(want)
        assert page.locator('section[aria-label="区別の件数"] table.grid tbody tr').count() == 1
        assert page.locator("text=絞り込み: 区・時刻").count() == 2
        page.get_by_role("link", name="絞り込みを外す").click()
        page.wait_for_load_state()
        assert (card_table.text_content() or "").strip() == str(len(V1_ROWS))
    finally:
        context.close()
    assert not elsewhere, elsewhere
