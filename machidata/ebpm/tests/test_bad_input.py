"""Issue 9's bad input, case by case through the API (clear Japanese 400s, never a 500), where the other
tests cover a case on one path only: impossible 年度 on every year field, negative counts where not
allowed, duplicate targets, a sheet whose 年度 is out of range. (The renamed column → 要確認 is in
test_services_indicators and test_api_sheets; template layout mismatches in test_sheets and test_api_sheets.)"""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import load_workbook

from machidata.access.policy import Actor
from machidata.core.testing import Actors
from machidata.ebpm import services_indicators
from machidata.ebpm.models import Indicator, PlanItem

pytestmark = pytest.mark.django_db
BASE = "/api/v1/ebpm"
J = "application/json"


@pytest.fixture
def count(actors: Actors, modelled: PlanItem, editor: Actor) -> Indicator:
    return services_indicators.indicator_create(
        actor=editor, item=modelled, node_id="n2", name="案内の送付数", kind="activity",
        responsible_unit_id=actors.org.health_div.pk, unit_label="通",
    )  # fmt: skip


@pytest.mark.parametrize("year", ["1800", "2101", "令和99年度", "来年", "-2024"])
def test_impossible_years_on_every_year_field(
    actors: Actors, modelled: PlanItem, count: Indicator, year: str
) -> None:
    client = actors.client("owner_editor")
    answers = [
        client.post(
            f"{BASE}/indicators/{count.pk}/targets", {"fiscal_year": year, "value": 1}, content_type=J
        ),
        client.post(
            f"{BASE}/indicators/{count.pk}/actuals",
            {"fiscal_year": year, "value": 1, "evidence": "x"},
            content_type=J,
        ),
        client.put(
            f"{BASE}/items/{modelled.pk}/budget",
            {"fiscal_year": year, "kind": "initial", "amount_yen": 1},
            content_type=J,
        ),
        client.post(
            f"{BASE}/items/{modelled.pk}/indicators",
            {
                "node_id": "n3",
                "name": "受診率",
                "kind": "outcome",
                "responsible_unit_id": actors.org.health_div.pk,
                "baseline_value": 30,
                "baseline_year": year,
            },
            content_type=J,
        ),
        client.post(
            f"{BASE}/items/{modelled.pk}/evaluation-plans",
            {"indicator_id": count.pk, "design": "before_after", "fiscal_year": year},
            content_type=J,
        ),
    ]
    for r in answers:
        assert r.status_code in (400, 422), (r.request["PATH_INFO"], r.status_code, r.content)
        assert "年度" in r.json()["detail"], r.json()
    assert not count.targets.exists()
    assert not count.actuals.exists()
    assert not modelled.budget_lines.exists()


def test_negative_counts_refused_where_not_allowed(
    actors: Actors, modelled: PlanItem, count: Indicator
) -> None:
    client = actors.client("owner_editor")
    for url, body, words in (
        (
            f"{BASE}/indicators/{count.pk}/actuals",
            {"fiscal_year": 2024, "value": "-3", "evidence": "x"},
            "実績値にマイナスの値",
        ),
        (
            f"{BASE}/indicators/{count.pk}/targets",
            {"fiscal_year": 2024, "value": "▲3"},
            "目標値にマイナスの値",
        ),
    ):
        r = client.post(url, body, content_type=J)
        assert r.status_code == 400
        assert words in r.json()["detail"]
    r = client.put(
        f"{BASE}/items/{modelled.pk}/budget",
        {"fiscal_year": 2024, "kind": "initial", "amount_yen": -1},
        content_type=J,
    )
    assert r.status_code == 400
    assert "マイナス" in r.json()["detail"]


def test_duplicate_targets_need_a_revision_with_a_reason(actors: Actors, count: Indicator) -> None:
    client = actors.client("owner_editor")
    url = f"{BASE}/indicators/{count.pk}/targets"
    assert client.post(url, {"fiscal_year": 2025, "value": 40}, content_type=J).status_code == 201
    r = client.post(url, {"fiscal_year": 2025, "value": 42}, content_type=J)
    assert r.status_code == 409
    assert "2025年度の目標はすでにあります" in r.json()["detail"]
    r = client.post(url, {"fiscal_year": 2025, "value": 42, "revise": True}, content_type=J)
    assert r.status_code == 400
    r = client.post(
        url, {"fiscal_year": 2025, "value": 42, "revise": True, "note": "国の目標改定"}, content_type=J
    )
    assert r.status_code == 201
    targets = client.get(f"{BASE}/indicators/{count.pk}").json()["targets"]
    assert [(t["value"], t["superseded_at"] is None) for t in targets] == [(40.0, False), (42.0, True)]


def test_a_sheet_with_an_impossible_year_names_the_cell(actors: Actors, modelled: PlanItem) -> None:
    from machidata.ebpm.sheets import default_template

    cells = {
        str(k): str(c) for k, c, _ in default_template()["_mapping"].iter_rows(min_row=2, values_only=True)
    }
    client = actors.client("owner_editor")
    book: Any = load_workbook(
        io.BytesIO(client.get(f"{BASE}/items/{modelled.pk}/evaluation-sheet.xlsx").content)
    )
    book["事業評価シート"][cells["fiscal_year"]] = 2500
    book["事業評価シート"][cells["direction"]] = "継続"
    book["事業評価シート"][cells["self_assessment"]] = "書いた"
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    out.name = "sheet.xlsx"
    r = client.post(f"{BASE}/items/{modelled.pk}/evaluation-sheet", {"file": out})
    assert r.status_code == 400
    assert f"{cells['fiscal_year']} の年度が読めません（「2500」" in r.json()["detail"]
    assert not modelled.evaluations.exists()
