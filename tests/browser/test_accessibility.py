"""JIS X 8341-3:2016 level AA (WCAG 2.1 AA): axe-core finds no violations, and forms work by keyboard alone."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse

from machidata.catalog.models import Dataset

from .conftest import PASSWORD_SUFFIX, login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def assert_accessible(page: Any, path: str) -> None:
    page.goto(path)
    results = Axe().run(page, options=AXE_OPTIONS)
    violations = results.response["violations"]
    summary = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in violations
    ]
    assert not violations, f"{path}:\n" + "\n".join(summary)


def test_public_pages_have_no_violations(page: Any, site: dict[str, Any]) -> None:
    for path in (reverse("login"), reverse("catalog:list")):
        assert_accessible(page, site["url"] + path)


def test_staff_pages_have_no_violations(page: Any, site: dict[str, Any]) -> None:
    login(page, site, "admin")
    slug = site["dataset"].slug
    paths = [
        reverse("catalog:list"),
        reverse("catalog:list") + "?classification=internal",
        reverse("catalog:list") + "?q=存在しないことば",  # the empty state
        reverse("catalog:detail", args=[slug]),
        reverse("catalog:create"),
        reverse("catalog:edit", args=[slug]),
        reverse("catalog:retire", args=[slug]),
    ]
    paths += [
        reverse(name)
        for name in (
            "jobs:list",
            "audit:list",
            "access:units",
            "access:tokens",
            "access:import",
            "catalog:inventory_upload",
        )
    ]
    for path in paths:
        assert_accessible(page, site["url"] + path)


def test_narrow_screen_has_no_violations(browser: Any, site: dict[str, Any]) -> None:
    context = browser.new_context(locale="ja-JP", viewport={"width": 375, "height": 740})
    page = context.new_page()
    try:
        assert_accessible(page, site["url"] + reverse("catalog:list"))
        # nothing wider than the screen: no horizontal scrolling on a phone
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375
    finally:
        context.close()


def test_keyboard_only_login_and_create(page: Any, site: dict[str, Any]) -> None:
    """Sign in and register a dataset using nothing but the keyboard."""
    user = site["actors"].users["owner_editor"]
    page.goto(site["url"] + reverse("catalog:list"))
    page.keyboard.press("Tab")  # the first stop on every page is the skip link
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.goto(site["url"] + reverse("login"))
    assert page.evaluate("document.activeElement.id") == "id_username"  # autofocus
    page.keyboard.type(user.username)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_password"
    page.keyboard.type(f"pw-{user.username}{PASSWORD_SUFFIX}")
    page.keyboard.press("Enter")
    page.wait_for_url("**/catalog/")

    page.goto(site["url"] + reverse("catalog:create"))
    page.focus("#id_title")
    page.keyboard.type("キーボードだけで登録したデータ")
    # Tab through the form to the owner select and choose with the arrow keys
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "id_owner":
            break
    assert page.evaluate("document.activeElement.id") == "id_owner"
    page.keyboard.press("ArrowDown")
    # continue tabbing to the submit button; every stop must be visible and labelled
    for _ in range(80):
        page.keyboard.press("Tab")
        info = page.evaluate(
            "(() => { const e = document.activeElement; return [e.tagName, e.type || '', e.textContent.trim()]; })()"
        )
        if info[0] == "BUTTON" and info[2] == "登録":
            break
    assert info[2] == "登録"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    errors = page.locator(".form-errors, .field-errors").all_inner_texts()
    assert Dataset.objects.filter(title="キーボードだけで登録したデータ").exists(), errors


def test_keyboard_only_edit_and_retire(page: Any, site: dict[str, Any]) -> None:
    login(page, site, "owner_editor")
    d = site["dataset"]
    page.goto(site["url"] + reverse("catalog:edit", args=[d.slug]))
    page.focus("#id_title")
    page.keyboard.press("Control+A")
    page.keyboard.type("受診状況（改訂）")
    page.keyboard.press("Enter")  # Enter in a text input submits the form
    page.wait_for_url(f"**/catalog/{d.slug}/")
    d.refresh_from_db()
    assert d.title == "受診状況（改訂）"

    page.goto(site["url"] + reverse("catalog:retire", args=[d.slug]))
    page.focus("#id_reason")
    page.keyboard.type("後継のデータに統合したため")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "廃止する"
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/catalog/{d.slug}/")
    d.refresh_from_db()
    assert d.is_retired


def test_focus_is_visible(page: Any, site: dict[str, Any]) -> None:
    page.goto(site["url"] + reverse("catalog:list"))
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"


def test_data_pages_have_no_violations(page: Any, site: dict[str, Any], tmp_path: Any, settings: Any) -> None:
    """The ingest flow (upload, preview) and a table page with data, as the data owner."""
    from pathlib import Path

    from machidata.access.policy import actor_for
    from machidata.ingest.services import ingest_file, table_get_or_create

    settings.MACHIDATA_HOME = tmp_path
    d = site["dataset"]
    actor = actor_for(site["actors"].users["owner_editor"])
    csv_path = Path(tmp_path) / "kenshin.csv"
    csv_path.write_bytes(
        "区,受診者数,実施日\n中央区,１，２３４,令和6年4月1日\n東区,▲5,R6.4.2\n".encode("cp932")
    )
    table = table_get_or_create(actor=actor, dataset=d, name="kenshin", title="健診の受診者数")
    ingest_file(actor=actor, table=table, path=csv_path, source_name="kenshin.csv")

    login(page, site, "owner_editor")
    base = site["url"]
    for path in (
        reverse("catalog:table_detail", args=[d.slug, "kenshin"]),
        reverse("catalog:table_detail", args=[d.slug, "kenshin"]) + "?sort=-受診者数&filter=区:eq:中央区",
        reverse("catalog:table_schema_edit", args=[d.slug, "kenshin"]),
        reverse("catalog:table_create", args=[d.slug]),
        reverse("catalog:ingest_upload", args=[d.slug]),
    ):
        assert_accessible(page, base + path)
    # through the upload form to the preview page (its state lives in the session)
    page.goto(base + reverse("catalog:ingest_upload", args=[d.slug]))
    page.set_input_files("#id_file", str(csv_path))
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert "読み取り結果の確認" in page.content()
    results = Axe().run(page, options=AXE_OPTIONS)
    assert not results.response["violations"], [v["id"] for v in results.response["violations"]]
