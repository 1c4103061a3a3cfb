"""Data request API across actors: 401 for the anonymous public, 404 for requests not theirs."""

from __future__ import annotations

import pytest
from django.test import Client

from machidata.access.models import Classification
from machidata.core.testing import Actors, check_statuses, make_dataset, make_token
from machidata.datarequests.models import DataRequest, RequestStatus

pytestmark = pytest.mark.django_db

BASE = "/api/v1/data-requests"
J = "application/json"


def test_list_and_detail_statuses(cast: Actors, routed: DataRequest) -> None:
    check_statuses(
        cast,
        lambda c: c.get(f"{BASE}/"),
        dict.fromkeys(("requester", "staff", "owner_viewer", "owner_editor", "other_editor", "admin"), 200)
        | {"anonymous": 401},
    )
    check_statuses(
        cast,
        lambda c: c.get(f"{BASE}/{routed.pk}"),
        {
            "anonymous": 401,
            "requester": 200,
            "staff": 404,
            "owner_viewer": 200,
            "owner_editor": 200,
            "other_editor": 404,
            "admin": 200,
        },
    )
    assert cast.client("staff").get(f"{BASE}/").json() == {"items": [], "count": 0}
    dept = cast.client("owner_editor").get(f"{BASE}/?scope=department&status=routed").json()
    assert [item["id"] for item in dept["items"]] == [routed.pk]
    body = cast.client("requester").get(f"{BASE}/{routed.pk}").json()
    assert body["status"] == "routed"
    assert body["status_label"] == "担当課へ回付"
    assert body["routed_unit"]["name"] == "健康づくり推進課"
    assert body["requester_unit"]["name"] == "警防課"
    assert [(e["kind"], e["status_to"]) for e in body["events"]] == [
        ("created", "received"),
        ("routed", "routed"),
    ]
    missing = cast.client("admin").get(f"{BASE}/{routed.pk + 99}")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "データの要望が見つかりません。"
    bad = cast.client("admin").get(f"{BASE}/?status=bogus")
    assert bad.status_code == 422


def test_create_via_api(cast: Actors) -> None:
    payload = {
        "title": "バス停別の乗降客数",
        "description": "停留所別・時間帯別",
        "purpose": "路線再編の検討",
    }
    check_statuses(cast, lambda c: c.post(f"{BASE}/", payload, content_type=J), {"anonymous": 401})
    created = cast.client("requester").post(f"{BASE}/", payload, content_type=J)
    assert created.status_code == 201
    assert created.json()["status"] == "received"
    invalid = cast.client("requester").post(f"{BASE}/", payload | {"purpose": " "}, content_type=J)
    assert invalid.status_code == 400
    assert invalid.json() == {
        "detail": "入力内容を確認してください。",
        "errors": {"purpose": "利用目的を入力してください。"},
    }
    assert DataRequest.objects.count() == 1


def test_steps_via_api(cast: Actors, received: DataRequest) -> None:
    url = f"{BASE}/{received.pk}"
    route = {"unit_id": cast.org.health_div.pk}
    check_statuses(
        cast,
        lambda c: c.post(f"{url}/route", route, content_type=J),
        {"anonymous": 401, "requester": 403, "staff": 404, "owner_editor": 404},
    )
    assert cast.client("admin").post(f"{url}/route", route, content_type=J).json()["status"] == "routed"
    dataset = make_dataset(cast.org.health_div, classification=Classification.INTERNAL)
    answer = {"kind": "exists", "dataset": dataset.slug, "text": "この表です"}
    check_statuses(
        cast,
        lambda c: c.post(f"{url}/answer", answer, content_type=J),
        {"anonymous": 401, "requester": 403, "other_editor": 404},
    )
    done = cast.client("owner_viewer").post(f"{url}/answer", answer, content_type=J)
    assert done.status_code == 200
    assert (done.json()["answer_kind"], done.json()["answer_dataset"]) == ("exists", dataset.slug)
    again = cast.client("admin").post(f"{url}/answer", answer, content_type=J)
    assert again.status_code == 409
    assert (
        again.json()["detail"]
        == "「回答済み」の要望には回答できません（回答できるのは担当課へ回付した要望だけです）。"
    )
    comment = cast.client("requester").post(f"{url}/comments", {"body": "助かりました"}, content_type=J)
    assert comment.status_code == 201
    assert comment.json()["body"] == "助かりました"
    withdraw = cast.client("requester").post(f"{url}/withdraw", {}, content_type=J)
    assert withdraw.status_code == 409


def test_answer_dataset_hidden_when_it_became_confidential(cast: Actors, routed: DataRequest) -> None:
    dataset = make_dataset(cast.org.health_div, classification=Classification.INTERNAL)
    answer = {"kind": "exists", "dataset": dataset.slug}
    cast.client("owner_editor").post(f"{BASE}/{routed.pk}/answer", answer, content_type=J)
    type(dataset).objects.filter(pk=dataset.pk).update(classification=Classification.CONFIDENTIAL)
    assert cast.client("requester").get(f"{BASE}/{routed.pk}").json()["answer_dataset"] is None
    assert cast.client("owner_editor").get(f"{BASE}/{routed.pk}").json()["answer_dataset"] == dataset.slug


def test_withdraw_via_token_and_session_csrf(cast: Actors, received: DataRequest) -> None:
    user = cast.users["requester"]
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post(f"{BASE}/{received.pk}/withdraw", {}, content_type=J).status_code == 403
    token = make_token(user)
    via_token = Client(enforce_csrf_checks=True).post(
        f"{BASE}/{received.pk}/withdraw", {}, content_type=J, headers={"Authorization": f"Bearer {token}"}
    )
    assert via_token.status_code == 200
    received.refresh_from_db()
    assert received.status == RequestStatus.WITHDRAWN
