"""Campaign API: create, get with status, template, upload a return (201 / 400 with the report), rows, statuses by actor."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest

from machidata.catalog.models import Table
from machidata.collect.models import Recipient, RecipientStatus
from machidata.collect.tests.conftest import fill
from machidata.core.testing import Actors, check_statuses

pytestmark = pytest.mark.django_db(transaction=True)
BASE = "/api/v1/campaigns"
J = "application/json"


def _create(actors: Actors, **extra: Any) -> dict[str, Any]:
    body = {
        "table": "riyousha/visitors",
        "title": "4月の利用者数",
        "deadline": "2999-04-30",
        "instructions": "お願いします",
        "facilities": ["第1合成小学校", "第2合成小学校"],
        **extra,
    }
    response = actors.client("owner_editor").post(f"{BASE}/", body, content_type=J)
    assert response.status_code == 201, response.content.decode()
    return dict(response.json())


def test_create_get_template_upload_and_status(actors: Actors, visitors: Table) -> None:
    created = _create(actors, units=[actors.org.fire_div.pk])
    cid = created["id"]
    assert [r["name"] for r in created["recipients"]] == ["警防課", "第1合成小学校", "第2合成小学校"]
    assert created["progress"] == {"total": 3, "answered": 0, "needs_fix": 0, "waiting": 3, "percent": 0}
    assert [c["header"] for c in created["columns"]] == ["日付", "区分", "利用者数", "備考"]
    client = actors.client("owner_editor")
    rid = created["recipients"][1]["id"]
    template = client.get(f"{BASE}/{cid}/recipients/{rid}/template")
    assert template.status_code == 200
    assert template["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "回答" in openpyxl.load_workbook(io.BytesIO(template.content)).sheetnames

    bad = fill(template.content, [["2025-04-01", "夜", 3, ""]])
    response = client.post(f"{BASE}/{cid}/recipients/{rid}/returns", {"file": _upload(bad)})
    assert response.status_code == 400
    body = response.json()
    assert "選択肢" in body["detail"]
    assert body["errors"]["report"]["issues"][0]["column"] == "区分"
    assert Recipient.objects.get(pk=rid).status == RecipientStatus.NEEDS_FIX

    good = fill(template.content, [["2025-04-01", "午前", 3, ""], ["2025-04-01", "午後", 4, "雨"]])
    response = client.post(f"{BASE}/{cid}/recipients/{rid}/returns", {"file": _upload(good)})
    assert response.status_code == 201, response.content.decode()
    assert response.json()["rows"] == 2
    assert response.json()["status"] == "accepted"
    rows = client.post(
        f"{BASE}/{cid}/recipients/{created['recipients'][2]['id']}/rows",
        {"rows": [{"日付": "2025-04-02", "区分": "午前", "利用者数": "8"}]},
        content_type=J,
    )
    assert rows.status_code == 201, rows.content.decode()
    status = client.get(f"{BASE}/{cid}/status").json()
    assert status == {"total": 3, "answered": 2, "needs_fix": 0, "waiting": 1, "percent": 67}
    listed = client.get(f"{BASE}/").json()
    assert [(c["id"], c["recipients"], c["answered"]) for c in listed] == [(cid, 3, 2)]


def _upload(data: bytes) -> Any:
    f = io.BytesIO(data)
    f.name = "kaitou.xlsx"
    return f


def test_statuses_by_actor(actors: Actors, visitors: Table) -> None:
    created = _create(actors, units=[actors.org.fire_div.pk])
    cid = created["id"]
    facility = created["recipients"][1]["id"]
    check_statuses(
        actors,
        lambda c: c.get(f"{BASE}/{cid}"),
        {"anonymous": 401, "staff": 200, "owner_viewer": 200, "owner_editor": 200, "admin": 200},
    )
    check_statuses(
        actors,
        lambda c: c.get(f"{BASE}/{cid}/status"),
        {"staff": 404, "other_editor": 404, "owner_viewer": 200, "admin": 200},
    )
    check_statuses(
        actors,
        lambda c: c.get(f"{BASE}/{cid}/recipients/{facility}/template"),
        {"staff": 404, "owner_viewer": 403, "owner_editor": 200, "admin": 200},
    )
    # A recipient 課 sees itself only.
    seen = actors.client("staff").get(f"{BASE}/{cid}").json()
    assert [r["name"] for r in seen["recipients"]] == ["警防課"]
    assert seen["progress"] is None
    refused = actors.client("other_editor").post(
        f"{BASE}/",
        {"table": "riyousha/visitors", "title": "x", "deadline": "2999-01-01", "facilities": ["a"]},
        content_type=J,
    )
    assert refused.status_code == 403  # discoverable (所属限定) but not theirs to edit
    missing_file = actors.client("owner_editor").post(f"{BASE}/{cid}/recipients/{facility}/returns", {})
    assert missing_file.status_code == 400
    assert "multipart" in missing_file.json()["detail"]
