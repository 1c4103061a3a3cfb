"""Regenerate the screenshots of docs/guide/charts.md (グラフ・ダッシュボード).

Run it against a demo instance (the demo loads two charts and a dashboard over the real
飲食店営業許可一覧, owned by the demo account ``admin``):

    export MACHIDATA_HOME=/tmp/guide-home; rm -rf $MACHIDATA_HOME
    .venv/bin/machidata demo --load-only
    .venv/bin/machidata serve --port 8791 &
    .venv/bin/python docs/guide/charts_screenshots.py     # writes docs/guide/img/charts-*.png
    kill %1
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

BASE = os.environ.get("MACHIDATA_GUIDE_URL", "http://127.0.0.1:8791")
OUT = Path(__file__).resolve().parent / "img"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def shot(page: Page, name: str, selector: str = "main") -> None:
    """Save one element as a PNG."""
    path = OUT / name
    page.locator(selector).first.screenshot(path=str(path))
    sys.stdout.write(f"{name}: {path.stat().st_size // 1024} KB\n")


def main() -> None:
    """Sign in as the demo 管理 account and take the builder, a chart and the dashboard."""
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=ARGS
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{BASE}/login/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", "demo-admin-2024")
        page.click("button[type=submit]")
        page.goto(f"{BASE}/charts/")
        page.click("text=飲食店営業許可の件数（許可日の年度別）")
        page.wait_for_selector(".chart svg.marks")
        shot(page, "charts-02-detail.png")
        page.click("text=編集する")
        page.wait_for_selector("#preview svg.marks")
        shot(page, "charts-01-builder.png", ".chart-builder")
        page.goto(f"{BASE}/charts/dashboards/")
        page.click("text=飲食店営業許可の概況（デモ）")
        page.wait_for_selector(".dash-panel svg.marks")
        page.wait_for_timeout(500)
        shot(page, "charts-03-dashboard.png")
        page.goto(f"{BASE}/charts/")
        page.click("text=業種と年度の飲食店営業許可（ピボット表）")
        page.wait_for_selector("table.pivot")
        shot(page, "charts-04-pivot.png")
        browser.close()


if __name__ == "__main__":
    main()
