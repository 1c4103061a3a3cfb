"""The public portal in Chromium: axe finds no WCAG 2.1 AA violation on any page type, in Japanese and in
English, and a citizen can find a dataset and reach its downloads with the keyboard alone."""

from __future__ import annotations

from typing import Any

import pytest

from machidata.catalog.models import Dataset
from machidata.portal.tests.conftest import cast, dataset, published, v1

from .test_accessibility import assert_accessible

__all__ = ["cast", "dataset", "published", "v1"]  # fixtures: a dataset published through the real route

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_every_portal_page_type_has_no_violations(page: Any, live_server: Any, published: Dataset) -> None:
    code = published.owner.code
    for prefix in ("", "/en"):
        for path in (
            "/open/",
            "/open/search/",
            "/open/search/?q=保健&group=kenko-fukushi",
            "/open/search/?q=ない言葉",  # the empty result
            f"/open/organizations/{code}/",
            "/open/datasets/hoken-center/",
        ):
            assert_accessible(page, live_server.url + prefix + path)


def _tab_to(page: Any, predicate: str, limit: int = 60) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const e = document.activeElement; return {predicate}; }})()"):
            return
    raise AssertionError(f"no focusable element where {predicate}")


def test_keyboard_only_search_to_download(page: Any, live_server: Any, published: Dataset) -> None:
    page.goto(live_server.url + "/open/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    _tab_to(page, "e.id === 'q'")
    page.keyboard.type("保健")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/open/search/" in page.url
    _tab_to(page, "e.tagName === 'A' && e.textContent.includes('保健センター一覧')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/open/datasets/hoken-center/")
    _tab_to(page, "e.tagName === 'A' && e.getAttribute('href').endsWith('facilities.xlsx')")
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    assert info.value.suggested_filename.endswith(".xlsx")
    # and to the English page of the same dataset, still by keyboard
    page.keyboard.press("Home")
    page.evaluate("document.activeElement.blur()")
    _tab_to(page, "e.getAttribute('hreflang') === 'en'")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/en/open/datasets/hoken-center/")
    assert page.locator("html").get_attribute("lang") == "en"
