"""Issue 9's "done when", walked in the browser by a 課 editor: a 事業 from 構想 to 評価.

Create the 事業, describe it as a logic model (nodes and a link), attach an indicator computed from a
catalog table, see its status, move it through the lifecycle, record the 決算 and the yearly evaluation,
and hand the finance division the 査定 view (XLSX) and the evaluation sheet. Every page visited has no
axe-core violations. With ``MACHIDATA_GUIDE_SHOTS=1`` the walk also writes the screenshots of
docs/guide/ebpm.md (docs/guide/img/ebpm-*.png).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from machidata.access.policy import actor_for

from .conftest import login
from .test_accessibility import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "guide" / "img"
QUERY = '{"group_by": [{"column": "覚知日時", "grain": "fiscal_year", "as": "年度"}], "measures": [{"op": "count"}]}'
TIMES = [
    dt.datetime(2023, 5, 1, 9),
    dt.datetime(2024, 4, 2, 10),
    dt.datetime(2024, 8, 1, 12),
    dt.datetime(2025, 1, 5, 7),
]


def _shot(page: Any, name: str, selector: str = "main") -> None:
    if os.environ.get("MACHIDATA_GUIDE_SHOTS"):
        # form controls do not inherit the page's web font; this machine has no Japanese system font
        page.evaluate(
            "document.querySelectorAll('select, input, textarea, button')"
            ".forEach(e => { e.style.fontFamily = 'inherit'; })"
        )
        page.wait_for_timeout(200)
        page.locator(selector).first.screenshot(path=str(SHOTS / f"ebpm-{name}.png"))


def _visit(page: Any, url: str, shot: str = "", selector: str = "main") -> None:
    assert_accessible(page, url)
    if shot:
        _shot(page, shot, selector)


def _submit(page: Any, button: Any) -> None:
    with page.expect_navigation():
        button.click()


def _table(site: dict[str, Any]) -> Any:
    import pyarrow as pa

    from machidata.catalog.models import Table
    from machidata.lake.protocol import write_version

    schema = pa.schema([("覚知日時", pa.timestamp("us")), ("区", pa.string())])
    table = Table.objects.create(
        dataset=site["dataset"], name="consultations", title="健診の相談記録", storage_key=uuid.uuid4().hex
    )
    rows = [{"覚知日時": t, "区": "中央区"} for t in TIMES]
    write_version(
        table=table, batches=[pa.RecordBatch.from_pylist(rows, schema=schema)], schema=schema, mode="replace",
        job_id="walk", source_name="walk",
    )  # fmt: skip
    return table


def test_a_project_from_idea_to_evaluation(
    page: Any, site: dict[str, Any], settings: Any, tmp_path: Path
) -> None:
    from machidata.ebpm import services
    from machidata.ebpm.models import Evaluation, Indicator, PlanItem

    settings.MACHIDATA_HOME = tmp_path
    url, org = site["url"], site["actors"].org
    admin = actor_for(site["actors"].users["admin"])
    policy = services.plan_item_create(
        actor=admin, level="policy", name="健康で長生きできるまち", unit_id=org.health_div.pk
    )
    measure = services.plan_item_create(
        actor=admin, level="measure", name="健康づくりの推進", unit_id=org.health_div.pk, parent_id=policy.pk
    )
    table = _table(site)
    login(page, site, "owner_editor")

    # 1. the 事業, at 構想
    _visit(page, url + reverse("ebpm:new"), "new")
    page.select_option("#i-level", "project")
    page.fill("#i-name", "特定健診受診勧奨事業")
    page.fill("#i-code", "3-2-1")
    page.select_option("#i-unit", str(org.health_div.pk))
    page.select_option("#i-parent", str(measure.pk))
    page.fill("#i-plan", "第7次総合計画 施策3-2")
    _submit(page, page.locator("main button[type=submit]"))
    item = PlanItem.objects.get(name="特定健診受診勧奨事業")
    assert item.stage == "idea"
    assert "構想" in page.content()

    # 2. the logic model: three boxes and two links, one with its rationale
    edit = url + reverse("ebpm:model_edit", args=[item.pk])
    _visit(page, edit)
    for stage, number, statement in (
        ("activity", "1", "健診の案内を個別に送る"),
        ("output", "2", "案内を受け取った人が増える"),
        ("short", "3", "特定健診の受診率が上がる"),
    ):
        page.select_option("#new-stage", stage)
        page.fill("#new-number", number)
        page.fill("#new-statement", statement)
        _submit(page, page.locator("#new-statement ~ button"))
    for source, target, why in ((0, 1, "個別の案内は届いた人の行動を促す"), (1, 2, "")):
        page.select_option("#l-from", index=source)
        page.select_option("#l-to", index=target)
        page.fill("#l-why", why)
        _submit(page, page.get_by_role("button", name="つながりを加える"))
    item.refresh_from_db()
    doc = PlanItem.objects.get(pk=item.pk).logic_model.document
    assert next(n["statement"] for n in doc["nodes"]) == "健診の案内を個別に送る"
    assert len(doc["links"]) == 2
    _visit(page, edit, "model-edit")
    _visit(page, url + reverse("ebpm:detail", args=[item.pk]), "logic-model-page", "figure.logic-model")

    # 3. an indicator computed from the catalog table, with a target
    _visit(page, url + reverse("ebpm:indicator_new", args=[item.pk]))
    page.select_option("#x-node", index=1)
    page.fill("#x-name", "健診の相談件数")
    page.select_option("#x-kind", "activity")
    page.fill("#x-unit", "件")
    page.fill("#x-month", "5")
    page.check("input[name=source_kind][value=query]")
    page.fill("#x-table", str(table.pk))
    page.fill("#x-q", QUERY)
    page.fill("#x-yc", "年度")
    page.fill("#x-vc", "件数")
    _shot(page, "indicator-new")
    _submit(page, page.get_by_role("button", name="設定する"))
    ind = Indicator.objects.get(name="健診の相談件数")
    assert {a.fiscal_year: int(a.value) for a in ind.actuals.all()} == {2023: 1, 2024: 3}
    assert all(
        a.version_number == table.versions.order_by("-number").first().number for a in ind.actuals.all()
    )
    page.fill("#t-year", "2024")
    page.fill("#t-value", "2")
    _submit(page, page.locator("#t-value ~ button[type=submit]"))
    ind.refresh_from_db()
    assert ind.get_status_display() in page.content()
    assert ind.status == "achieved"
    _visit(page, url + reverse("ebpm:indicator", args=[ind.pk]), "indicator")

    # 4. the lifecycle, the 決算 and an evaluation plan
    detail = url + reverse("ebpm:detail", args=[item.pk])
    page.goto(detail)
    page.fill("#b-year", "2024")
    page.select_option("#b-kind", "settlement")
    page.fill("#b-amount", "900000")
    _submit(page, page.get_by_role("button", name="記録する").first)
    for label in ("予算要求", "予算化", "実施", "評価"):
        _submit(page, page.get_by_role("button", name=f"「{label}」へ進める"))
    item.refresh_from_db()
    assert item.stage == "evaluation"
    _visit(page, detail, "item")
    _visit(page, url + reverse("ebpm:calendar"), "calendar")
    _visit(page, url + reverse("ebpm:strategy"), "strategy")

    # 5. the yearly evaluation
    _visit(page, url + reverse("ebpm:evaluation_new", args=[item.pk]))
    page.fill("#v-year", "2024")
    page.fill("#v-self", "相談件数は目標を上回った。受診率への効果は次年度に検証する。")
    page.select_option("#v-out", str(ind.pk))
    page.select_option("#v-dir", "continue")
    page.fill("#v-amt", "1000000")
    _shot(page, "evaluation-form")
    _submit(page, page.get_by_role("button", name="記録する"))
    evaluation = Evaluation.objects.get(item=item, fiscal_year=2024)
    assert evaluation.direction == "continue"
    assert "300,000" in page.content() or "300000" in page.content()  # 900,000 円 ÷ 3 件
    _visit(page, url + reverse("ebpm:evaluation", args=[evaluation.pk]), "evaluation")

    # 6. the finance division's 査定 view and its XLSX, and the evaluation sheet
    _visit(page, url + reverse("ebpm:review") + "?year=2024", "review")
    with page.expect_download() as download:
        page.get_by_role("link", name="Excel（XLSX）").click()
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    values = [c for row in book.active.iter_rows(values_only=True) for c in row]
    assert "特定健診受診勧奨事業" in values
    assert "継続" in values
    page.goto(detail)
    with page.expect_download() as sheet:
        page.get_by_role("button", name="評価シートを書き出す").click()
    ws = load_workbook(io.BytesIO(Path(sheet.value.path()).read_bytes()))["事業評価シート"]
    texts = [str(c) for row in ws.iter_rows(values_only=True) for c in row if c is not None]
    assert any(re.search("相談件数は目標を上回った", t) for t in texts)
