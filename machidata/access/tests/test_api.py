"""API: /api/v1/departments and /api/v1/tokens."""

from __future__ import annotations

import json

from django.test import Client

from machidata.access.models import ApiToken
from machidata.core.testing import Actors, check_statuses, make_token, make_user

EVERYONE = dict.fromkeys(("anonymous", "staff", "owner_viewer", "owner_editor", "other_editor", "admin"), 200)


def test_departments(actors: Actors) -> None:
    check_statuses(actors, lambda c: c.get("/api/v1/departments"), EVERYONE, label="list")
    check_statuses(actors, lambda c: c.get("/api/v1/departments/200101"), EVERYONE, label="detail")
    check_statuses(
        actors, lambda c: c.get("/api/v1/departments/999999"), dict.fromkeys(EVERYONE, 404), label="missing"
    )
    client = actors.client("staff")
    bureaus = client.get("/api/v1/departments", {"kind": "bureau"}).json()
    assert [d["name"] for d in bureaus] == ["政策局", "健康福祉局", "消防局"]
    assert client.get("/api/v1/departments", {"kind": "局"}).json() == bureaus
    section = client.get("/api/v1/departments/200101").json()
    assert section == {
        "code": "200101",
        "name": "母子保健係",
        "full_name": "健康福祉局 健康づくり推進課 母子保健係",
        "kind": "section",
        "kind_label": "係",
        "parent_code": "200100",
        "mailbox": "",
        "phone": "",
        "valid_from": "2000-04-01",
        "valid_to": None,
    }


def test_tokens_statuses(actors: Actors) -> None:
    signed_in = {**EVERYONE, "anonymous": 401}
    check_statuses(actors, lambda c: c.get("/api/v1/tokens"), signed_in, label="list")
    check_statuses(
        actors,
        lambda c: c.post("/api/v1/tokens", json.dumps({"name": "BI"}), content_type="application/json"),
        {**dict.fromkeys(signed_in, 201), "anonymous": 401},
        label="create",
    )
    token = ApiToken.objects.filter(user=actors.users["staff"]).first()
    assert token is not None
    check_statuses(
        actors,
        lambda c: c.delete(f"/api/v1/tokens/{token.pk}"),
        {"anonymous": 401, "other_editor": 404, "admin": 404},
        label="delete other",
    )


def test_token_lifecycle_with_bearer(db: None) -> None:
    user = make_user()
    raw = make_token(user, "bootstrap")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    created = client.post("/api/v1/tokens", json.dumps({"name": "BIツール"}), content_type="application/json")
    assert created.status_code == 201
    body = created.json()
    assert body["token"].startswith("mdt_")
    assert body["name"] == "BIツール"
    listed = client.get("/api/v1/tokens").json()
    assert [t["name"] for t in listed] == ["BIツール", "bootstrap"]
    assert all("token" not in t for t in listed)
    assert client.delete(f"/api/v1/tokens/{body['id']}").status_code == 204
    assert Client(HTTP_AUTHORIZATION=f"Bearer {body['token']}").get("/api/v1/tokens").status_code == 401
    blank = client.post("/api/v1/tokens", json.dumps({"name": " "}), content_type="application/json")
    assert blank.status_code == 400
    assert blank.json()["detail"] == "トークンの名前を入力してください。"


def test_session_post_needs_csrf(db: None) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user())
    response = client.post("/api/v1/tokens", json.dumps({"name": "x"}), content_type="application/json")
    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_token_last_use_is_written_once_a_minute(db: None) -> None:
    """Each call would otherwise write to the database; the 最終使用日時 is kept to the minute."""
    import datetime as dt

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    raw = make_token(make_user(), "bi")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    def updates() -> int:
        with CaptureQueriesContext(connection) as seen:
            assert client.get("/api/v1/tokens").status_code == 200
        return sum(
            q["sql"].startswith("UPDATE") and "access_apitoken" in q["sql"] for q in seen.captured_queries
        )

    assert updates() == 1
    first = ApiToken.objects.get().last_used_at
    assert first is not None
    assert updates() == 0
    ApiToken.objects.update(last_used_at=timezone.now() - dt.timedelta(minutes=2))
    assert updates() == 1
    assert ApiToken.objects.get().last_used_at >= first
