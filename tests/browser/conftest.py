"""Headless Chromium (Debian's, since Playwright cannot download its own browser here) against live_server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

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
