"""The public 事業 pages (/open/projects/, issue 9 point 7): no axe-core violations, the chart drawn under the CSP."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from machidata.access.policy import actor_for

from .test_accessibility import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOC = {
    "nodes": [
        {"id": "n1", "stage": "activity", "number": "1", "statement": "健診の案内を個別に送る"},
        {"id": "n2", "stage": "short", "number": "2", "statement": "特定健診の受診率が上がる"},
    ],
    "links": [{"id": "l1", "from": "n1", "to": "n2", "rationale": "個別案内は受診を促す"}],
}


def test_public_project_pages(page: Any, site: dict[str, Any], settings: Any) -> None:
    from machidata.ebpm import services, services_indicators, services_pages

    users = site["actors"].users
    editor, admin = actor_for(users["owner_editor"]), actor_for(users["admin"])
    unit = site["actors"].org.health_div.pk
    item = services.plan_item_create(actor=editor, level="project", name="特定健診受診勧奨事業", unit_id=unit)
    services.logic_model_save(actor=editor, item=item, document=DOC)
    ind = services_indicators.indicator_create(
        actor=editor,
        item=item,
        node_id="n2",
        name="受診率",
        kind="outcome",
        unit_label="%",
        responsible_unit_id=unit,
    )
    for year, target, actual in ((2023, "35", "34.8"), (2024, "37", "36.1")):
        services_indicators.indicator_target_set(actor=editor, indicator=ind, fiscal_year=year, value=target)
        services_indicators.indicator_actual_record(
            actor=editor, indicator=ind, fiscal_year=year, value=actual, evidence="法定報告"
        )
    settings.MACHIDATA_PUBLICATION_ROUTES = {
        "ebpm_page": [{"key": "strategy", "label": "確認", "who": "admin"}]
    }
    req = services_pages.page_request_create(actor=editor, item=item)
    services_pages.page_request_act(actor=admin, request=req, decision="approve")
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(site["url"]) else None)
    assert_accessible(page, site["url"] + reverse("ebpm_public:list"))
    assert_accessible(page, site["url"] + reverse("ebpm_public:detail", args=[item.pk]))
    page.wait_for_selector(".chart svg, .chart canvas", timeout=10_000)  # vega-embed drew the trend
    assert page.locator("figure.logic-model svg").count() == 1
    assert outside == []
