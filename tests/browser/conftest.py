"""Headless Chromium (Debian's, since Playwright cannot download its own browser here) against live_server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse

from machidata.access.models import Classification
from machidata.catalog.models import Category, DataFormat, Licence
from machidata.core.testing import make_actors, make_dataset

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = pytest.mark.browser
PASSWORD_SUFFIX = "-long-enough"  # core.testing.make_user: password "pw-<username>-long-enough"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for the session."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (make test installs it when run as root)")
    # Playwright's sync API runs an event loop in this thread; the Django ORM calls made by the
    # test itself (fixtures, assertions) are synchronous and safe here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page (own cookies) per test."""
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture
def site(live_server: Any) -> dict[str, Any]:
    actors = make_actors()
    Category.objects.create(code="health", name="健康・福祉")
    Licence.objects.create(code="cc-by-4.0", name="CC BY 4.0", is_open=True)
    DataFormat.objects.create(code="csv", name="CSV")
    d = make_dataset(
        actors.org.health_div,
        title="乳幼児健診の受診状況",
        description="## 概要\n\n区ごとの受診率です。\n\n- 1歳6か月児\n- 3歳児",
        classification=Classification.INTERNAL,
        keywords=["健診", "乳幼児"],
    )
    return {"url": live_server.url, "actors": actors, "dataset": d}


def login(page: Any, site: dict[str, Any], name: str) -> None:
    user = site["actors"].users[name]
    page.goto(site["url"] + reverse("login"))
    page.fill("#id_username", user.username)
    page.fill("#id_password", f"pw-{user.username}{PASSWORD_SUFFIX}")
    with page.expect_navigation():
        page.click("button[type=submit]")
