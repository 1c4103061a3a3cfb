"""Analysis API: run, list, fetch; 400 with Japanese reasons; 401 signed out; someone else's analysis 404."""

from __future__ import annotations

import pytest

from machidata.analysis.tests.test_services import DID
from machidata.catalog.models import Table
from machidata.core.testing import Actors

pytestmark = pytest.mark.django_db(transaction=True)
BASE = "/api/v1/analyses"
J = "application/json"


def test_run_list_and_fetch(actors: Actors, counter_table: Table) -> None:
    client = actors.client("owner_editor")
    spec = {
        "design": "its",
        "time": "日付",
        "grain": "day",
        "outcome": "来庁者数",
        "intervention": "2025-07-01",
    }
    response = client.post(
        f"{BASE}/", {"title": "全区の来庁者", "table_id": counter_table.pk, "spec": spec}, content_type=J
    )
    assert response.status_code == 201, response.content.decode()
    created = response.json()
    assert created["status"] == "done"
    assert created["table_version"] == counter_table.current_version.number  # type: ignore[union-attr]
    # Only 中央区 gains 20 a day from July: the sum over five wards rises by 20.
    assert created["result"]["ci_low"] < 20 < created["result"]["ci_high"]
    listed = client.get(f"{BASE}/").json()
    assert listed["count"] == 1
    assert [a["id"] for a in listed["items"]] == [created["id"]]
    fetched = client.get(f"{BASE}/{created['id']}").json()
    assert fetched["result"]["interpretation"] == created["result"]["interpretation"]
    assert actors.client("owner_viewer").get(f"{BASE}/{created['id']}").status_code == 404
    assert actors.client("anonymous").get(f"{BASE}/").status_code == 401


def test_refusals_answer_400_with_reasons(actors: Actors, counter_table: Table) -> None:
    client = actors.client("owner_editor")
    spec = {**DID, "intervention": "2025-04-02"}  # one day before: too few pre-periods
    response = client.post(
        f"{BASE}/", {"title": "早すぎる", "table_id": counter_table.pk, "spec": spec}, content_type=J
    )
    assert response.status_code == 400
    body = response.json()
    assert "介入前" in body["detail"]
    assert "periods" in body["errors"]
    hidden = actors.client("staff").post(
        f"{BASE}/", {"title": "x", "table_id": counter_table.pk, "spec": DID}, content_type=J
    )
    assert hidden.status_code == 404


def test_sample_size(actors: Actors) -> None:
    client = actors.client("staff")
    body = {"kind": "means", "effect_size": 0.5}
    answer = client.post(f"{BASE}/sample-size", body, content_type=J)
    assert answer.status_code == 200
    assert answer.json()["n_treated"] == 64  # Cohen: 63.77 per group, rounded up
    rates = client.post(
        f"{BASE}/sample-size", {"kind": "proportions", "p_control": 0.3, "p_treated": 0.4}, content_type=J
    )
    assert rates.json()["n_control"] == 356  # G*Power / Cohen's tables
    missing = client.post(f"{BASE}/sample-size", {"kind": "proportions", "p_control": 0.3}, content_type=J)
    assert missing.status_code == 400
    assert "期待する割合" in missing.json()["detail"]
    assert actors.client("anonymous").post(f"{BASE}/sample-size", body, content_type=J).status_code == 401


def test_staggered_adoption_runs_and_refuses_without_comparison(actors: Actors, counter_table: Table) -> None:
    client = actors.client("owner_editor")
    spec = {
        **DID,
        "design": "did_staggered",
        "grain": "month",
        "treated_units": "中央区=2025-07, 東区=2025-08",
    }
    done = client.post(
        f"{BASE}/", {"title": "時期違い", "table_id": counter_table.pk, "spec": spec}, content_type=J
    )
    assert done.status_code == 201, done.content.decode()
    assert done.json()["result"]["design"] == "did_staggered"
    wards = ", ".join(f"{w}=2025-07" for w in ("中央区", "東区", "西区", "南区", "北区"))
    refused = client.post(
        f"{BASE}/",
        {"title": "全区同時", "table_id": counter_table.pk, "spec": {**spec, "treated_units": wards}},
        content_type=J,
    )
    assert refused.status_code == 400
    assert "まだ介入を受けていない" in refused.json()["detail"]
    assert "comparison" in refused.json()["errors"]


def test_the_list_comes_a_page_at_a_time(actors: Actors, counter_table: Table) -> None:
    client = actors.client("owner_editor")
    spec = {
        "design": "before_after",
        "time": "日付",
        "grain": "day",
        "outcome": "来庁者数",
        "intervention": "2025-07-01",
    }
    made = []
    for n in range(3):
        response = client.post(
            f"{BASE}/", {"title": f"前後比較 {n}", "table_id": counter_table.pk, "spec": spec}, content_type=J
        )
        assert response.status_code == 201, response.content.decode()
        made.append(response.json()["id"])
    first = client.get(f"{BASE}/", {"page_size": 2}).json()
    second = client.get(f"{BASE}/", {"page_size": 2, "page": 2}).json()
    assert first["count"] == second["count"] == 3
    # newest first, no item twice, none left out
    assert [a["id"] for a in first["items"] + second["items"]] == made[::-1]
    assert client.get(f"{BASE}/", {"page": 0}).status_code == 422
    assert actors.client("owner_viewer").get(f"{BASE}/").json()["count"] == 0
