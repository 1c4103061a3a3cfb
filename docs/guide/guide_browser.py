"""What the guide's screenshot scripts share: the demo server's address, Chromium, signing in, saving a shot.

Each ``<room>_screenshots.py`` beside this file runs against a demo instance (see its docstring) with
``with admin_page() as page: ...`` and ``shot(page, "<room>-NN-name.png")``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

BASE = os.environ.get("MACHIDATA_GUIDE_URL", "http://127.0.0.1:8791")
OUT = Path(__file__).resolve().parent / "img"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def shot(page: Page, name: str, selector: str = "main") -> None:
    """Save one element as a PNG in docs/guide/img."""
    path = OUT / name
    page.locator(selector).first.screenshot(path=str(path))
    sys.stdout.write(f"{name}: {path.stat().st_size // 1024} KB\n")


@contextmanager
def admin_page() -> Iterator[Page]:
    """A Chromium page signed in as the demo 管理 account (``admin``), closed afterwards."""
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=ARGS
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{BASE}/login/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", os.environ.get("MACHIDATA_GUIDE_PASSWORD", "demo-admin-2024"))
        page.click("button[type=submit]")
        try:
            yield page
        finally:
            browser.close()
