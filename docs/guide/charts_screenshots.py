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

from guide_browser import BASE, admin_page, shot


def main() -> None:
    """Sign in as the demo 管理 account and take the builder, a chart and the dashboard."""
    with admin_page() as page:
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


if __name__ == "__main__":
    main()
