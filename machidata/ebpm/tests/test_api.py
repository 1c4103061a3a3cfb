"""EBPM API: items, logic model get/put with Japanese validation errors, indicators and actuals; statuses by actor."""

from __future__ import annotations

import copy

import pytest

from machidata.core.testing import Actors, check_statuses
from machidata.ebpm import services, services_indicators
from machidata.ebpm.models import LogicModelVersion, PlanItem
from machidata.ebpm.tests.conftest import DOC, as_actor

pytestmark = pytest.mark.django_db
BASE = "/api/v1/ebpm"
J = "application/json"
STAFF_OK = {
    "staff": 200,
    "owner_viewer": 200,
    "owner_editor": 200,
    "other_editor": 200,
    "admin": 200,
    "anonymous": 401,
}


def test_items_list_get_create(actors: Actors, modelled: PlanItem) -> None:
    check_statuses(actors, lambda c: c.get(f"{BASE}/items"), STAFF_OK)
    check_statuses(actors, lambda c: c.get(f"{BASE}/items/{modelled.pk}"), STAFF_OK)
    names = [i["name"] for i in actors.client("staff").get(f"{BASE}/items?level=project").json()]
    assert names == ["特定健診受診勧奨事業"]
    body = {
        "level": "project",
        "name": "歯科健診事業",
        "unit_id": actors.org.health_div.pk,
        "parent_id": modelled.parent_id,
    }
    check_statuses(
        actors,
        lambda c: c.post(f"{BASE}/items", body, content_type=J),
        {"anonymous": 401, "staff": 403, "owner_viewer": 403, "other_editor": 403},
    )
    r = actors.client("owner_editor").post(f"{BASE}/items", body, content_type=J)
    assert r.status_code == 201, r.content
    assert r.json()["stage_label"] == "構想"
    r = actors.client("owner_editor").post(
        f"{BASE}/items", {**body, "parent_id": None, "level": "measure"}, content_type=J
    )
    assert r.status_code == 400
    assert "施策には上位の政策" in r.json()["detail"]
    assert actors.client("staff").get(f"{BASE}/items/999999").status_code == 404


def test_item_detail_has_budget_and_history(actors: Actors, modelled: PlanItem) -> None:
    editor = as_actor(actors, "owner_editor")
    services.budget_line_set(
        actor=editor, item=modelled, fiscal_year=2025, kind="initial", amount_yen=3_000_000
    )
    services.plan_item_move(actor=editor, item=modelled, stage="request", note="要求")
    data = actors.client("staff").get(f"{BASE}/items/{modelled.pk}").json()
    assert data["budget"] == [
        {"fiscal_year": 2025, "kind": "initial", "kind_label": "当初予算", "amount_yen": 3_000_000}
    ]
    assert [(h["stage_from"], h["stage_to"]) for h in data["stage_history"]] == [("idea", "request")]


def test_logic_model_get_put(actors: Actors, modelled: PlanItem) -> None:
    url = f"{BASE}/items/{modelled.pk}/logic-model"
    check_statuses(actors, lambda c: c.get(url), STAFF_OK)
    data = actors.client("staff").get(url).json()
    assert data["version"] == 1
    assert {w["code"] for w in data["warnings"]} == {"outcome_without_indicator", "link_without_rationale"}
    doc = copy.deepcopy(DOC)
    doc["links"][1]["rationale"] = "受け取った案内で受診を決める"
    body = {"document": doc, "expected_version": 1, "note": "根拠を記入"}
    check_statuses(
        actors,
        lambda c: c.put(url, body, content_type=J),
        {"anonymous": 401, "staff": 403, "owner_viewer": 403, "other_editor": 403},
    )
    r = actors.client("owner_editor").put(url, body, content_type=J)
    assert r.status_code == 200, r.content
    assert r.json()["version"] == 2
    assert {w["code"] for w in r.json()["warnings"]} == {"outcome_without_indicator"}
    r = actors.client("owner_editor").put(url, body, content_type=J)  # stale
    assert r.status_code == 409
    bad = copy.deepcopy(doc)
    bad["nodes"][0]["stage"] = "dream"
    bad["links"].append({"from": "n1", "to": "x9"})
    r = actors.client("owner_editor").put(url, {"document": bad}, content_type=J)
    assert r.status_code == 400
    detail = r.json()["detail"]
    assert "段階「dream」" in detail
    assert "要素「x9」はこのロジックモデルにありません" in detail
    assert LogicModelVersion.objects.count() == 2


def test_indicators_and_actuals(actors: Actors, modelled: PlanItem) -> None:
    editor = as_actor(actors, "owner_editor")
    ind = services_indicators.indicator_create(
        actor=editor,
        item=modelled,
        node_id="n3",
        name="特定健診受診率",
        kind="outcome",
        responsible_unit_id=actors.org.health_div.pk,
    )
    services_indicators.indicator_target_set(actor=editor, indicator=ind, fiscal_year=2024, value=40)
    services_indicators.indicator_target_set(
        actor=editor, indicator=ind, fiscal_year=2024, value=42, revise=True, note="改定"
    )
    check_statuses(actors, lambda c: c.get(f"{BASE}/indicators?item_id={modelled.pk}"), STAFF_OK)
    services_indicators.indicator_schedule_set(actor=editor, indicator=ind, data_month=11)
    data = actors.client("staff").get(f"{BASE}/indicators/{ind.pk}").json()
    assert data["data_month"] == 11
    assert [(t["value"], t["superseded_at"] is None) for t in data["targets"]] == [
        (40.0, False),
        (42.0, True),
    ]
    url = f"{BASE}/indicators/{ind.pk}/actuals"
    body = {"fiscal_year": "令和6年度", "value": "43.5", "status": "final", "evidence": "法定報告"}
    check_statuses(
        actors,
        lambda c: c.post(url, body, content_type=J),
        {"anonymous": 401, "staff": 403, "owner_viewer": 403, "other_editor": 403},
    )
    r = actors.client("owner_editor").post(url, body, content_type=J)
    assert r.status_code == 201, r.content
    assert actors.client("staff").get(url).json()[0]["value"] == 43.5
    assert actors.client("staff").get(f"{BASE}/indicators/{ind.pk}").json()["status_label"] == "達成"
    r = actors.client("owner_editor").post(url, {**body, "fiscal_year": 3000}, content_type=J)
    assert r.status_code == 400
    assert "ありえない年度" in r.json()["detail"]
    r = actors.client("owner_editor").post(url, {**body, "value": "abc"}, content_type=J)
    assert r.status_code == 400


def test_stage_budget_indicator_and_target_writes(actors: Actors, modelled: PlanItem) -> None:
    base = f"{BASE}/items/{modelled.pk}"
    refused = {"anonymous": 401, "staff": 403, "owner_viewer": 403, "other_editor": 403}
    check_statuses(actors, lambda c: c.post(f"{base}/stage", {"stage": "request"}, content_type=J), refused)
    editor = actors.client("owner_editor")
    r = editor.post(f"{base}/stage", {"stage": "request", "note": "要求"}, content_type=J)
    assert r.status_code == 200
    assert r.json()["stage"] == "request"
    assert editor.post(f"{base}/stage", {"stage": "evaluation"}, content_type=J).status_code == 409
    check_statuses(
        actors,
        lambda c: c.put(
            f"{base}/budget", {"fiscal_year": 2025, "kind": "initial", "amount_yen": 1}, content_type=J
        ),
        refused,
    )
    r = editor.put(
        f"{base}/budget",
        {"fiscal_year": "令和7年度", "kind": "initial", "amount_yen": "2,000,000"},
        content_type=J,
    )
    assert r.json()["budget"] == [
        {"fiscal_year": 2025, "kind": "initial", "kind_label": "当初予算", "amount_yen": 2_000_000}
    ]
    r = editor.put(
        f"{base}/budget", {"fiscal_year": 1800, "kind": "initial", "amount_yen": 1}, content_type=J
    )
    assert r.status_code == 400
    assert "ありえない年度" in r.json()["detail"]
    body = {
        "node_id": "n3",
        "name": "受診率",
        "kind": "outcome",
        "responsible_unit_id": actors.org.health_div.pk,
        "unit_label": "%",
    }
    check_statuses(actors, lambda c: c.post(f"{base}/indicators", body, content_type=J), refused)
    r = editor.post(f"{base}/indicators", body, content_type=J)
    assert r.status_code == 201, r.content
    ind = r.json()["id"]
    r = editor.post(f"{base}/indicators", {**body, "node_id": "zz"}, content_type=J)
    assert r.status_code == 400
    assert "要素「zz」" in r.json()["detail"]
    url = f"{BASE}/indicators/{ind}/targets"
    check_statuses(actors, lambda c: c.post(url, {"fiscal_year": 2025, "value": 40}, content_type=J), refused)
    assert editor.post(url, {"fiscal_year": 2025, "value": 40}, content_type=J).status_code == 201
    assert editor.post(url, {"fiscal_year": 2025, "value": 42}, content_type=J).status_code == 409
    r = editor.post(url, {"fiscal_year": 2025, "value": 42, "revise": True, "note": "改定"}, content_type=J)
    assert r.status_code == 201
    targets = actors.client("staff").get(f"{BASE}/indicators/{ind}").json()["targets"]
    assert [(t["value"], t["superseded_at"] is None) for t in targets] == [(40.0, False), (42.0, True)]
    assert editor.post(url, {"fiscal_year": 2026, "value": None}, content_type=J).json()["value"] is None


def test_logic_model_versions(actors: Actors, modelled: PlanItem) -> None:
    editor = as_actor(actors, "owner_editor")
    services.node_save(actor=editor, item=modelled, stage="long", statement="健康寿命が延びる")
    url = f"{BASE}/items/{modelled.pk}/logic-model/versions"
    check_statuses(actors, lambda c: c.get(url), STAFF_OK)
    listed = actors.client("staff").get(url).json()
    assert [(v["number"], v["note"]) for v in listed] == [(2, "要素n4を追加"), (1, "最初の版")]
    assert listed[0]["document"] is None
    first = actors.client("staff").get(f"{url}/1").json()
    assert [n["id"] for n in first["document"]["nodes"]] == ["n1", "n2", "n3"]
    assert actors.client("staff").get(f"{url}/9").status_code == 404
