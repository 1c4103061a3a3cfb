"""Charts in headless Chromium under the strict CSP: vega-embed draws the SVG, no CSP violation, no other host."""

from __future__ import annotations

import shutil
from typing import Any
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from machidata.catalog.models import Table
from machidata.charts.models import Sharing
from machidata.charts.tests.conftest import ROWS, make_chart
from machidata.core.testing import Actors

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine"),
]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def _session_cookie(user: Any, url: str) -> dict[str, Any]:
    client = Client()
    client.force_login(user)
    host = urlparse(url).hostname
    return {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
            "domain": host, "path": "/"}  # fmt: skip


def test_chart_page_draws_under_the_strict_csp(actors: Actors, table: Table, live_server: Any) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    chart = make_chart(actors, table, sharing=Sharing.DEPARTMENT)
    url = live_server.url + reverse("charts:detail", args=[chart.uuid])
    builder = live_server.url + reverse("charts:new") + f"?table={table.dataset.slug}/{table.name}"
    own_host = urlparse(live_server.url).netloc
    elsewhere: list[str] = []
    problems: list[str] = []
    # Sessions are made before Playwright starts: its event loop forbids the ORM in this thread.
    viewer = _session_cookie(actors.users["owner_viewer"], live_server.url)
    editor = _session_cookie(actors.users["owner_editor"], live_server.url)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context()
        context.add_cookies([viewer])
        page = context.new_page()
        page.on(
            "request",
            lambda r: (
                elsewhere.append(r.url)
                if urlparse(r.url).netloc not in {own_host, ""} and not r.url.startswith("data:")
                else None
            ),
        )
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        response = page.goto(url)
        assert response is not None
        assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
        page.wait_for_selector(".chart svg.marks", timeout=15_000)
        labels = page.locator(".chart svg text").all_text_contents()
        assert "中央区" in labels
        assert (
            page.locator(".chart .vega-actions").count() == 0
        )  # no action menu, so no "Open in Vega Editor"
        # the builder's preview is drawn too, and redrawn by htmx after a change
        context.clear_cookies()
        context.add_cookies([editor])
        page.goto(builder)
        page.wait_for_selector("#preview svg.marks", timeout=15_000)
        page.select_option("#id_type", "line")
        page.wait_for_selector("#preview svg.marks path", timeout=15_000)
        browser.close()
    assert not elsewhere, elsewhere
    assert not [m for m in problems if "Content Security Policy" in m or "unsafe-eval" in m], problems


AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def test_chart_pages_have_no_accessibility_violations(actors: Actors, table: Table, live_server: Any) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")
    from machidata.access.policy import actor_for
    from machidata.charts.services import chart_create, dashboard_add_chart, dashboard_create
    from machidata.charts.tests.test_pivot import pivot_document

    chart = make_chart(actors, table, sharing=Sharing.DEPARTMENT)
    actor = actor_for(actors.users["owner_editor"])
    pivot = chart_create(actor=actor, title="区と年度の件数", document=pivot_document(table, suppress=True),
                         sharing=Sharing.DEPARTMENT)  # fmt: skip
    board = dashboard_create(
        actor=actor, title="概況", sharing=Sharing.DEPARTMENT,
        filters=[{"column": "区", "kind": "value"}, {"column": "時刻", "kind": "fiscal_year"}],
    )  # fmt: skip
    dashboard_add_chart(actor=actor, dashboard=board, lock_version=1, chart_uuid=str(chart.uuid))
    dashboard_add_chart(actor=actor, dashboard=board, lock_version=2, chart_uuid=str(pivot.uuid))
    paths = [
        reverse("charts:detail", args=[pivot.uuid]),
        reverse("charts:edit", args=[pivot.uuid]),
        reverse("charts:dashboard_edit", args=[board.uuid]),
        reverse("charts:list"),
        reverse("charts:new") + f"?table={table.dataset.slug}/{table.name}",
        reverse("charts:detail", args=[chart.uuid]),
        reverse("charts:edit", args=[chart.uuid]),
        reverse("charts:dashboards"),
        reverse("charts:dashboard_new"),
        reverse("charts:dashboard", args=[board.uuid]),
    ]
    editor = _session_cookie(actors.users["owner_editor"], live_server.url)
    failures = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context()
        context.add_cookies([editor])
        page = context.new_page()
        for path in paths:
            page.goto(live_server.url + path)
            if page.locator("[data-vl-spec]").count():
                page.wait_for_selector("[data-vl-spec] svg.marks", timeout=15_000)
            violations = axe_module.Axe().run(page, options=AXE_OPTIONS).response["violations"]
            failures += [
                f"{path}: {v['id']} {v['help']} {[n['target'] for n in v['nodes']][:3]}" for v in violations
            ]
        browser.close()
    assert not failures, "\n".join(failures)


def test_dashboard_items_move_by_keyboard(actors: Actors, table: Table, live_server: Any) -> None:
    """Tab to a panel's 後ろへ移動 button, press Enter: the order changes and the focus comes back to the button."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from machidata.access.policy import actor_for
    from machidata.charts.services import dashboard_add_chart, dashboard_add_text, dashboard_create

    chart = make_chart(actors, table, sharing=Sharing.DEPARTMENT)
    actor = actor_for(actors.users["owner_editor"])
    board = dashboard_create(actor=actor, title="並べ替え", sharing=Sharing.DEPARTMENT)
    board = dashboard_add_chart(actor=actor, dashboard=board, lock_version=1, chart_uuid=str(chart.uuid))
    dashboard_add_text(actor=actor, dashboard=board, lock_version=2, text="あとがき")
    editor = _session_cookie(actors.users["owner_editor"], live_server.url)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context()
        context.add_cookies([editor])
        page = context.new_page()
        page.goto(live_server.url + reverse("charts:dashboard", args=[board.uuid]))
        for _ in range(200):  # Tab until the first panel's 後ろへ移動 button has the focus
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement && document.activeElement.id") == "item-0-down":
                break
        else:
            raise AssertionError("the button is not reachable by Tab")
        page.keyboard.press("Enter")
        page.wait_for_url("**#moved-1-down")
        page.wait_for_load_state("domcontentloaded")
        headings = page.locator(".dash-panel").all_inner_texts()
        assert headings[0].startswith("あとがき")
        assert "区別の件数" in headings[1]
        focused = page.evaluate("document.activeElement && document.activeElement.id")
        assert focused == "item-1-up"  # the last panel cannot go further down: its next button has the focus
        page.keyboard.press("Enter")
        page.wait_for_url("**#moved-0-up")
        headings = page.locator(".dash-panel").all_inner_texts()
        assert "区別の件数" in headings[0]
        browser.close()


def test_click_a_bar_cross_filters_the_dashboard_and_drills_down(
    actors: Actors, table: Table, live_server: Any
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    from machidata.access.policy import actor_for
    from machidata.charts.services import dashboard_add_chart, dashboard_create

    chart = make_chart(actors, table, sharing=Sharing.DEPARTMENT)
    actor = actor_for(actors.users["owner_editor"])
    board = dashboard_create(
        actor=actor, title="概況", sharing=Sharing.DEPARTMENT, filters=[{"column": "区", "kind": "value"}]
    )
    dashboard_add_chart(actor=actor, dashboard=board, lock_version=1, chart_uuid=str(chart.uuid))
    viewer = _session_cookie(actors.users["owner_viewer"], live_server.url)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context()
        context.add_cookies([viewer])
        page = context.new_page()
        page.goto(live_server.url + reverse("charts:dashboard", args=[board.uuid]))
        page.wait_for_selector(".chart svg.marks")
        page.locator('.chart svg [aria-roledescription="bar"]').first.click()
        page.wait_for_url("**f0=*")
        assert "絞り込み: 区" in page.content()
        chosen = page.input_value("#f0")
        assert chosen in {r["区"] for r in ROWS}
        assert page.locator("table.grid tbody tr").count() == 1  # only the clicked ward is left
        page.goto(live_server.url + reverse("charts:detail", args=[chart.uuid]))
        page.wait_for_selector(".chart svg.marks")
        page.locator('.chart svg [aria-roledescription="bar"]').first.click()
        page.wait_for_url("**/catalog/**filter=*")
        assert "filter=%E5%8C%BA:eq:" in page.url or "filter=区:eq:" in page.url
        browser.close()


def _swap_japanese(value: Any) -> Any:
    """The same spec with every Japanese string reversed (中央区 → 区央中): tofu cannot tell the two apart."""
    if isinstance(value, str):
        return value[::-1] if any("\u3040" <= c <= "\u9fff" for c in value) else value
    if isinstance(value, list):
        return [_swap_japanese(v) for v in value]
    if isinstance(value, dict):
        return {k: _swap_japanese(v) for k, v in value.items()}
    return value


def test_staff_builds_a_fiscal_year_chart_puts_it_on_a_dashboard_filters_and_exports(
    actors: Actors, table: Table, live_server: Any, tmp_path: Any
) -> None:
    """Issue 7's browser walk: sign in, build a bar chart by fiscal year in the builder, save it to a new
    dashboard, filter the dashboard by ward, export PNG and PPTX; screenshots are kept as artifacts."""
    import os
    from pathlib import Path

    from machidata.charts.render import render

    sync_api = pytest.importorskip("playwright.sync_api")
    artifacts = Path(os.environ.get("MACHIDATA_TEST_ARTIFACTS") or tmp_path) / "charts-walkthrough"
    artifacts.mkdir(parents=True, exist_ok=True)
    user = actors.users["owner_editor"]
    builder = live_server.url + reverse("charts:new") + f"?table={table.dataset.slug}/{table.name}"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(locale="ja-JP", accept_downloads=True).new_page()
        # sign in through the login page, as staff do
        page.goto(live_server.url + reverse("login"))
        page.fill("#id_username", user.username)
        page.fill("#id_password", f"pw-{user.username}-long-enough")
        page.get_by_role("button", name="ログイン").click()
        page.wait_for_url(lambda url: "/login/" not in url)
        # the builder: bars of the row count by fiscal year of 日付
        page.goto(builder)
        page.select_option("#id_type", "bar")
        page.select_option("#id_x", "日付")
        page.select_option("#id_x_grain", "fiscal_year")
        page.select_option("#id_y_op", "count")
        page.wait_for_selector("#preview svg.marks", timeout=15_000)
        page.fill("#id_title", "年度別の件数")
        page.select_option("#id_sharing", "department")
        page.screenshot(path=str(artifacts / "builder.png"), full_page=True)
        page.get_by_role("button", name="保存する").click()
        page.wait_for_selector(".chart svg.marks", timeout=15_000)
        chart_url = page.url
        labels = page.locator(".chart svg text").all_text_contents()
        assert any(label.startswith("令和") and label.endswith("年度") for label in labels), labels
        # export PNG from the chart page
        with page.expect_download() as png_download:
            page.get_by_role("link", name="PNG画像").click()
        png = Path(png_download.value.path()).read_bytes()
        # a new dashboard with a ward filter, then the chart on it
        page.goto(live_server.url + reverse("charts:dashboard_new"))
        page.fill("#id_title", "区の概況")
        page.select_option("#id_sharing", "department")
        page.fill("#id_value_filter", "区")
        page.get_by_role("button", name="作る").click()
        page.wait_for_selector("#id_chart")
        page.select_option("#id_chart", label="年度別の件数")
        page.get_by_role("button", name="追加", exact=True).first.click()
        page.wait_for_selector(".chart svg.marks", timeout=15_000)
        unfiltered = page.locator(".chart svg text").all_text_contents()
        page.fill("#f0", "中央区")
        page.get_by_role("button", name="絞り込む").click()
        page.wait_for_url("**f0=*")
        page.wait_for_selector(".chart svg.marks", timeout=15_000)
        filtered = page.locator(".chart svg text").all_text_contents()
        # 25 rows, 5 per ward: the axis reaches 25 before the filter and only 5 after it
        assert "25" in unfiltered
        assert "25" not in filtered
        assert "5" in filtered
        page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)
        with page.expect_download() as pptx_download:
            page.get_by_role("link", name="PowerPoint（1グラフ1枚）").click()
        pptx = Path(pptx_download.value.path()).read_bytes()
        spec_url = chart_url.replace("/charts/", "/api/v1/charts/").rstrip("/") + "/spec"
        spec = page.request.get(spec_url).json()["spec"]
        browser.close()
    assert png.startswith(b"\x89PNG")
    assert pptx.startswith(b"PK")  # an Office Open XML package
    # Japanese glyphs, not tofu: with tofu, reversing every Japanese string would draw the same picture.
    assert png != render(_swap_japanese(spec), "png")
    assert (artifacts / "builder.png").stat().st_size > 0
    assert (artifacts / "dashboard.png").stat().st_size > 0
