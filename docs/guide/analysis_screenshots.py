"""Regenerate the screenshots of docs/guide/analysis.md (分析) and docs/guide/surveys.md (アンケート集計).

Run it against a demo instance. The demo saves the analyses this script opens (machidata/demo/analyses.py:
the ambulance forecast, the counter rule change as ITS, DiD and staggered DiD, the synthetic control on the
yearly centre table) and the synthetic staff survey; the before/after comparison is run here through the form,
and a second hourly forecast is submitted to show a job's progress bar:

    export MACHIDATA_HOME=/tmp/guide-home; rm -rf $MACHIDATA_HOME
    .venv/bin/machidata demo --load-only
    .venv/bin/machidata serve --port 8791 &
    .venv/bin/python docs/guide/analysis_screenshots.py     # writes docs/guide/img/analysis-*.png, surveys-*.png
    kill %1
"""

from __future__ import annotations

import os

from guide_browser import BASE, admin_page, shot
from playwright.sync_api import Page

COUNTER = "区役所 窓口来庁者数（時間帯別） / 区役所窓口の来庁者数（令和6〜7年度、合成）"
AMBULANCE = "救急出動記録"
# The ambulance table and its saved forecast are the 救急課 data owner's (machidata/prep/demo.py).
KYUKYU = ("steward-kyukyu", os.environ.get("MACHIDATA_GUIDE_KYUKYU_PASSWORD", "demo-kyukyu-2024"))


def _sign_in(page: Page, username: str, password: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{BASE}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _open_saved(page: Page, title: str) -> None:
    page.goto(f"{BASE}/analysis/")
    page.click(f"a:has-text('{title}')")
    page.wait_for_selector("#summary-h")
    page.wait_for_selector(".chart svg, .chart canvas", timeout=90_000)


def _result(page: Page, name: str) -> None:
    """The result block: summary, chart and checks (the export and reproduction sections are left out)."""
    shot(page, f"{name}-result.png", "section:has(#summary-h)")
    shot(page, f"{name}-chart.png", "section:has(#chart-h)")
    shot(page, f"{name}-checks.png", "section:has(#checks-h)")


def _table_value(page: Page, label_part: str) -> str:
    options = page.locator("#id_table option")
    for i in range(options.count()):
        if label_part in (options.nth(i).text_content() or ""):
            return options.nth(i).get_attribute("value") or ""
    raise SystemExit(f"no table like {label_part!r} in the form: load the demo first")


def _fill(page: Page, table: str, title: str, **fields: str) -> None:
    page.goto(f"{BASE}/analysis/")
    page.fill("#id_title", title)
    page.select_option("#id_table", _table_value(page, table))
    for name, value in fields.items():
        if name in {"design", "grain"}:
            page.select_option(f"#id_{name}", value)
        else:
            page.fill(f"#id_{name}", value)


def analyses(page: Page) -> None:
    page.goto(f"{BASE}/analysis/")
    shot(page, "analysis-01-list.png")
    # before/after: run through the form on the synthetic counter log
    _fill(
        page,
        "区役所窓口の来庁者数",
        "窓口の予約制の前後比較（中央区、合成データ）",
        design="before_after",
        time="日時",
        grain="month",
        outcome="来庁者数",
        unit="区",
        only_units="中央区",
        intervention="2025-10-01",
    )
    shot(page, "analysis-02-form.png", "form.form")
    page.click("form.form button[type=submit]")
    page.wait_for_selector("#summary-h")
    page.wait_for_selector(".chart svg, .chart canvas", timeout=90_000)
    _result(page, "analysis-03-before-after")
    _open_saved(page, "窓口の予約制の効果（中央区、中断時系列分析、合成データ）")
    _result(page, "analysis-04-its")
    _open_saved(page, "窓口の予約制の効果（中央区と他の区、差の差分析、合成データ）")
    _result(page, "analysis-05-did")
    _open_saved(page, "窓口の予約制の効果（区ごとに開始時期が違う、合成データ）")
    _result(page, "analysis-06-staggered")
    _open_saved(page, "コンビニ交付の効果（第1地区、合成コントロール法、合成データ）")
    _result(page, "analysis-07-synth")
    page.goto(f"{BASE}/analysis/sample-size/?kind=means&effect_size=0.5&alpha=0.05&power=0.8&ratio=1")
    shot(page, "analysis-10-power.png")
    _sign_in(page, *KYUKYU)
    _open_saved(page, "来月の救急出動件数の予測（区別・時間別）")
    _result(page, "analysis-08-forecast")
    # a long analysis is a job: the result page shows its progress bar until it is done
    _fill(
        page,
        AMBULANCE,
        "来週の救急出動件数の予測（区別・時間別）",
        design="forecast",
        time="覚知日時",
        grain="hour",
        unit="区",
        horizon="168",
        since="2024-12-01",
    )
    page.click("form.form button[type=submit]")
    page.wait_for_selector("#progress-h")
    page.wait_for_selector("#job-progress:has-text('を予測しています')", timeout=180_000)
    shot(page, "analysis-09-progress.png", "section:has(#progress-h)")


def _select_containing(page: Page, selector: str, text: str) -> None:
    options = page.locator(f"{selector} option")
    for i in range(options.count()):
        if text in (options.nth(i).text_content() or ""):
            page.select_option(selector, options.nth(i).get_attribute("value") or "")
            return


def surveys(page: Page) -> None:
    """The synthetic staff survey: simple tables, then obstacles (課題) by bureau (所属局) as table and heat map."""
    page.goto(f"{BASE}/surveys/")
    shot(page, "surveys-01-list.png")
    page.click("main table a[href*='/surveys/']")
    page.click("main a:has-text('単純集計')")
    page.wait_for_load_state()
    shot(page, "surveys-02-tables.png")
    page.go_back()
    page.click("main a:has-text('クロス集計')")
    _select_containing(page, "#id_by", "所属")
    _select_containing(page, "#id_of", "課題")
    page.click("main button:has-text('集計する')")
    page.wait_for_selector(".chart svg, .chart canvas", timeout=90_000)
    shot(page, "surveys-03-crosstab.png")


def main() -> None:
    """Sign in as 管理 and take the analysis and survey screenshots."""
    with admin_page() as page:
        surveys(page)
        analyses(page)  # ends signed in as the 救急課 data owner


if __name__ == "__main__":
    main()
