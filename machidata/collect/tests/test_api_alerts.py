"""Alert API: own rules (create, list, get, delete), fired alerts, the e-mail choice; others' rules are 404."""

from __future__ import annotations

from typing import Any

import pytest

from machidata.collect.models import AlertRule
from machidata.collect.tests.test_alerts import indicator, record
from machidata.core.testing import Actors
from machidata.ebpm.models import Indicator

__all__ = ["indicator"]
pytestmark = pytest.mark.django_db(transaction=True)
BASE = "/api/v1/alerts"
J = "application/json"


def _create(actors: Actors, who: str, **body: Any) -> Any:
    return actors.client(who).post(f"{BASE}/rules", body, content_type=J)


def test_rules_and_alerts_of_the_caller(actors: Actors, indicator: Indicator) -> None:
    record(actors, indicator, 2023, 80)
    response = _create(
        actors, "staff", indicator=indicator.pk, condition="above", threshold=100, cooldown_hours=0
    )
    assert response.status_code == 201, response.content.decode()
    rule = response.json()
    assert rule["subject"] == "指標「受診者数」"
    assert (rule["state"], rule["last_period"], rule["last_value"]) == ("armed", "2023年度", 80.0)
    assert rule["condition_label"] == "100 を上回ったら"
    assert rule["chart"] is None
    record(actors, indicator, 2024, 130)
    client = actors.client("staff")
    fired = client.get(f"{BASE}/").json()
    assert fired["count"] == 1
    assert (fired["items"][0]["rule"], fired["items"][0]["period"], fired["items"][0]["value"]) == (
        rule["id"],
        "2024年度",
        130.0,
    )
    assert fired["items"][0]["notified"] is True
    listed = client.get(f"{BASE}/rules", {"page": 1, "page_size": 5}).json()
    assert [r["id"] for r in listed["items"]] == [rule["id"]]
    assert listed["items"][0]["state"] == "fired"
    # another member of staff sees none of it
    other = actors.client("other_editor")
    assert other.get(f"{BASE}/rules").json()["count"] == 0
    assert other.get(f"{BASE}/").json()["count"] == 0
    assert other.get(f"{BASE}/rules/{rule['id']}").status_code == 404
    assert other.delete(f"{BASE}/rules/{rule['id']}").status_code == 404
    assert client.delete(f"{BASE}/rules/{rule['id']}").status_code == 204
    assert not AlertRule.objects.exists()


def test_refusals(actors: Actors, indicator: Indicator) -> None:
    assert actors.client("anonymous").get(f"{BASE}/rules").status_code == 401
    bad = _create(actors, "staff", indicator=indicator.pk, condition="above")
    assert bad.status_code == 400
    assert "しきい値" in bad.json()["detail"]
    assert _create(actors, "staff", indicator=999999, condition="updated").status_code == 404
    assert _create(actors, "staff", chart="not-a-uuid", condition="updated").status_code == 404
    both = _create(actors, "staff", chart="x", indicator=indicator.pk, condition="updated")
    assert both.status_code == 400
    assert (
        _create(
            actors, "staff", indicator=indicator.pk, condition="updated", cooldown_hours=99999
        ).status_code
        == 422
    )
    assert actors.client("staff").get(f"{BASE}/rules", {"page": 0}).status_code == 422


def test_email_choice(actors: Actors) -> None:
    client = actors.client("staff")
    assert client.get(f"{BASE}/email").json() == {"mode": "immediate", "label": "すぐに1通ずつ"}
    changed = client.put(f"{BASE}/email", {"mode": "digest"}, content_type=J)
    assert changed.json() == {"mode": "digest", "label": "1日1回まとめて（毎朝）"}
    assert client.get(f"{BASE}/email").json()["mode"] == "digest"
    assert actors.client("owner_viewer").get(f"{BASE}/email").json()["mode"] == "immediate"
    assert client.put(f"{BASE}/email", {"mode": "weekly"}, content_type=J).status_code == 400
