"""The guides, Q&A, forum, FAQ and case library API across actors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from machidata.access.models import Classification
from machidata.core.testing import Actors, check_statuses, make_dataset
from machidata.support.models import Case, CaseStatus, ForumTopic
from machidata.support.services_guides import guide_create
from machidata.support.services_qa import question_ask
from machidata.support.tests.conftest import actor_of
from machidata.support.tests.test_help_services import CASE

pytestmark = pytest.mark.django_db
BASE = "/api/v1/support"
STAFF = {
    "anonymous": 401,
    "staff": 200,
    "owner_viewer": 200,
    "owner_editor": 200,
    "other_editor": 200,
    "admin": 200,
}


def send(client: Client, method: str, url: str, body: dict[str, Any]) -> Any:
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")


def test_guides_api(actors: Actors) -> None:
    guide_create(
        actor=actor_of(actors, "admin"),
        slug="open-data",
        title="オープンデータ化",
        body="本文",
        checklist=["a"],
    )
    check_statuses(actors, lambda c: c.get(f"{BASE}/guides"), STAFF)
    check_statuses(actors, lambda c: c.get(f"{BASE}/guides/open-data"), STAFF)
    check_statuses(actors, lambda c: c.get(f"{BASE}/guides/nothing"), {"staff": 404, "admin": 404})
    body = {"title": "オープンデータ化", "body": "第2版", "checklist": ["a", "b"], "base_version": 1}
    check_statuses(
        actors,
        lambda c: send(c, "put", f"{BASE}/guides/open-data", body),
        {"anonymous": 401, "staff": 403, "owner_editor": 403},
    )
    out = send(actors.client("admin"), "put", f"{BASE}/guides/open-data", body).json()
    assert (out["version"], out["checklist"]) == (2, ["a", "b"])
    assert send(actors.client("admin"), "put", f"{BASE}/guides/open-data", body).status_code == 409
    versions = actors.client("staff").get(f"{BASE}/guides/open-data/versions").json()
    assert [v["version"] for v in versions] == [2, 1]
    assert actors.client("staff").get(f"{BASE}/guides/open-data?version=1").json()["body"] == "本文"


def test_questions_api_hides_undiscoverable(actors: Actors) -> None:
    org = actors.org
    ds = make_dataset(org.health_div, classification=Classification.INTERNAL)
    secret = make_dataset(org.health_div, classification=Classification.CONFIDENTIAL, discoverable=False)
    sq = question_ask(actor=actor_of(actors, "owner_editor"), dataset=secret, body="機密")
    check_statuses(actors, lambda c: c.get(f"{BASE}/datasets/{ds.slug}/questions"), STAFF)
    check_statuses(
        actors,
        lambda c: c.get(f"{BASE}/datasets/{secret.slug}/questions"),
        {"anonymous": 401, "staff": 404, "other_editor": 404, "owner_viewer": 200, "admin": 200},
    )
    check_statuses(
        actors,
        lambda c: send(c, "post", f"{BASE}/questions/{sq.pk}/answer", {"answer": "x"}),
        {"anonymous": 401, "staff": 404, "other_editor": 404},
    )
    resp = send(actors.client("staff"), "post", f"{BASE}/datasets/{ds.slug}/questions", {"body": "単位は？"})
    assert resp.status_code == 201
    qid = resp.json()["id"]
    check_statuses(
        actors,
        lambda c: send(c, "post", f"{BASE}/questions/{qid}/answer", {"answer": "人です"}),
        {"anonymous": 401, "staff": 403, "other_editor": 403, "owner_viewer": 200, "admin": 200},
    )
    check_statuses(
        actors,
        lambda c: send(c, "post", f"{BASE}/questions/{qid}/faq", {"is_faq": True}),
        {"anonymous": 401, "staff": 403, "owner_editor": 403, "admin": 200},
    )
    send(actors.client("admin"), "post", f"{BASE}/questions/{sq.pk}/answer", {"answer": "回答"})
    send(actors.client("admin"), "post", f"{BASE}/questions/{sq.pk}/faq", {"is_faq": True})
    check_statuses(actors, lambda c: c.get(f"{BASE}/faq"), STAFF)
    assert [q["id"] for q in actors.client("staff").get(f"{BASE}/faq").json()["questions"]] == [qid]
    assert {q["id"] for q in actors.client("owner_viewer").get(f"{BASE}/faq").json()["questions"]} == {
        qid,
        sq.pk,
    }


def test_forum_api(actors: Actors) -> None:
    ForumTopic.objects.create(slug="analysis", name="集計・分析")
    check_statuses(actors, lambda c: c.get(f"{BASE}/forum/topics"), STAFF)
    body = {"topic": "analysis", "title": "地図の作り方", "body": "区別の塗り分け"}
    check_statuses(
        actors, lambda c: send(c, "post", f"{BASE}/forum/threads", body), {"anonymous": 401, "staff": 201}
    )
    assert (
        send(actors.client("staff"), "post", f"{BASE}/forum/threads", {**body, "topic": "x"}).status_code
        == 400
    )
    tid = actors.client("staff").get(f"{BASE}/forum/threads?q=塗り分け").json()[0]["id"]
    assert actors.client("staff").get(f"{BASE}/forum/threads?q=グラフ").json() == []
    check_statuses(
        actors,
        lambda c: send(c, "post", f"{BASE}/forum/threads/{tid}/replies", {"body": "返信"}),
        {"anonymous": 401, "other_editor": 201},
    )
    check_statuses(actors, lambda c: c.get(f"{BASE}/forum/threads/{tid}"), STAFF)
    check_statuses(
        actors,
        lambda c: send(c, "post", f"{BASE}/forum/threads/{tid}/faq", {"is_faq": True}),
        {"anonymous": 401, "staff": 403, "admin": 200},
    )
    assert actors.client("staff").get(f"{BASE}/forum/threads/99999").status_code == 404


def test_cases_api(actors: Actors) -> None:
    ds = make_dataset(actors.org.health_div, classification=Classification.CONFIDENTIAL, discoverable=False)
    ref = Case.objects.create(**CASE, is_reference=True, status=CaseStatus.PUBLISHED, folded="北区")
    ref.datasets.add(ds)
    check_statuses(actors, lambda c: c.get(f"{BASE}/cases?field=health&q=北区"), STAFF)
    check_statuses(actors, lambda c: c.get(f"{BASE}/cases/{ref.pk}"), STAFF)
    # the related dataset is named only to those who may discover it
    assert actors.client("staff").get(f"{BASE}/cases/{ref.pk}").json()["datasets"] == []
    assert actors.client("owner_viewer").get(f"{BASE}/cases/{ref.pk}").json()["datasets"] == [ds.slug]
    created = send(actors.client("staff"), "post", f"{BASE}/cases", {**CASE, "datasets": []})
    assert created.status_code == 201
    assert created.json()["status"] == "draft"
    cid = created.json()["id"]
    assert (
        send(actors.client("staff"), "post", f"{BASE}/cases", {**CASE, "datasets": [ds.slug]}).status_code
        == 400
    )
    assert send(actors.client("staff"), "post", f"{BASE}/cases", {**CASE, "field": "nope"}).status_code == 400
    check_statuses(
        actors,
        lambda c: c.get(f"{BASE}/cases/{cid}"),
        {"anonymous": 401, "staff": 200, "other_editor": 200, "owner_editor": 404, "admin": 200},
    )
    check_statuses(
        actors,
        lambda c: send(c, "put", f"{BASE}/cases/{ref.pk}", {**CASE, "title": "変更"}),
        {"anonymous": 401, "staff": 403, "owner_editor": 403},
    )
    check_statuses(
        actors,
        lambda c: c.post(f"{BASE}/cases/{cid}/publish"),
        {"anonymous": 401, "owner_editor": 404, "staff": 200},
    )
    copy = actors.client("owner_editor").post(f"{BASE}/cases/{cid}/copy")
    assert copy.status_code == 201
    copied = copy.json()["case"]
    assert (copied["copied_from"], copied["status"], copied["unit"]) == (
        cid,
        "draft",
        actors.org.health_div.code,
    )
    assert actors.client("anonymous").get(f"{BASE}/cases").status_code == 401
