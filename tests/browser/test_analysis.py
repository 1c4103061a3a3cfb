"""Analysis in the browser: a design run from the form shows its result and chart; a long analysis's page follows
its job's progress (htmx polling) until the result link appears; both pages pass axe-core."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.urls import reverse

from machidata.analysis.models import Analysis
from machidata.analysis.tests.conftest import COUNTER_SCHEMA, counter_rows
from machidata.catalog.models import Table
from machidata.catalog.tests.table_fixtures import lake_home, write
from machidata.jobs.models import Job, JobStatus

from .conftest import login
from .test_accessibility import assert_accessible

__all__ = ["lake_home"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _counter_table(site: dict[str, Any]) -> Table:
    table = Table.objects.create(
        dataset=site["dataset"], name="visits", title="窓口の来庁者数（合成）", storage_key=uuid.uuid4().hex
    )
    write(table, counter_rows(), schema=COUNTER_SCHEMA)
    return table


def test_did_from_the_form_shows_result_chart_and_checks(
    page: Any, site: dict[str, Any], lake_home: Any
) -> None:
    table = _counter_table(site)
    login(page, site, "owner_editor")
    page.goto(site["url"] + reverse("analysis:list"))
    page.fill("#id_title", "窓口の受付時間変更")
    page.select_option("#id_table", str(table.pk))
    page.select_option("#id_design", "did_twfe")
    page.fill("#id_time", "日付")
    page.select_option("#id_grain", "day")
    page.fill("#id_outcome", "来庁者数")
    page.fill("#id_unit", "区")
    page.fill("#id_treated_units", "中央区")
    page.fill("#id_intervention", "2025-07-01")
    with page.expect_navigation():
        page.click("form.form button[type=submit]")
    page.wait_for_selector(".chart svg, .chart canvas", timeout=30_000)
    summary = page.locator("section:has(#summary-h)").inner_text()
    assert "信頼区間" in summary
    assert "レベル" in summary
    checks = page.locator("section:has(#checks-h)").inner_text()
    assert "介入前の傾向" in checks
    assert "プラセボ" in checks
    analysis = Analysis.objects.get(title="窓口の受付時間変更")
    assert analysis.result["ci_low"] < 20 < analysis.result["ci_high"]
    assert_accessible(page, site["url"] + reverse("analysis:detail", args=[analysis.pk]))


def test_running_analysis_page_follows_its_job_to_the_result(
    page: Any, site: dict[str, Any], lake_home: Any
) -> None:
    table = _counter_table(site)
    owner = site["actors"].users["owner_editor"]
    job = Job.objects.create(
        kind="analysis.run",
        title="分析「区別の予測」",
        status=JobStatus.RUNNING,
        created_by=owner,
        progress_done=1,
        progress_total=5,
        phase="「北区」を予測しています（2/5）",
    )
    analysis = Analysis.objects.create(
        title="区別の予測", design="forecast", owner=owner, table=table, spec={"design": "forecast"}, job=job
    )
    login(page, site, "owner_editor")
    url = site["url"] + reverse("analysis:detail", args=[analysis.pk])
    page.goto(url)
    assert page.locator("#job-progress-bar").get_attribute("value") == "1"
    assert "「北区」を予測しています（2/5）" in page.locator("#job-progress").inner_text()
    # the runner moves on: the page follows without a reload
    Job.objects.filter(pk=job.pk).update(progress_done=4, phase="「南区」を予測しています（5/5）")
    page.wait_for_selector("#job-progress:has-text('「南区」を予測しています（5/5）')", timeout=10_000)
    assert page.locator("#job-progress-bar").get_attribute("value") == "4"
    assert_accessible(page, url)
    page.goto(url)
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.SUCCEEDED,
        progress_done=5,
        result={
            "message": "分析「区別の予測」が終わりました。",
            "link": {"url": reverse("analysis:detail", args=[analysis.pk]), "label": "結果を見る"},
        },
    )
    page.wait_for_selector("#job-progress a:has-text('結果を見る')", timeout=10_000)
