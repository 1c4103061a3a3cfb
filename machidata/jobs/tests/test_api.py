"""Job API: list (paged), detail and cancel; owner and 管理 only, anonymous 401."""

from __future__ import annotations

import pytest
from django.test import Client

from machidata.access.policy import actor_for
from machidata.core.testing import Actors, check_statuses, make_token
from machidata.jobs.models import Job, JobStatus
from machidata.jobs.tests.conftest import queued_job

pytestmark = pytest.mark.django_db

BASE = "/api/v1/jobs"
DETAIL_EXPECTED = {
    "anonymous": 401,
    "staff": 404,
    "owner_viewer": 200,
    "owner_editor": 404,
    "other_editor": 404,
    "admin": 200,
}


def test_list_statuses_and_scope(actors: Actors, done_job: Job) -> None:
    check_statuses(
        actors, lambda c: c.get(f"{BASE}/"), dict.fromkeys(DETAIL_EXPECTED, 200) | {"anonymous": 401}
    )
    mine = actors.client("owner_viewer").get(f"{BASE}/").json()
    assert mine["count"] == 1
    assert mine["items"][0]["id"] == done_job.pk
    assert actors.client("staff").get(f"{BASE}/").json() == {"items": [], "count": 0}
    assert actors.client("admin").get(f"{BASE}/").json()["count"] == 1


def test_list_is_paged(actors: Actors) -> None:
    owner = actor_for(actors.users["owner_viewer"])
    jobs = [queued_job(actor=owner, title=f"処理{i}") for i in range(3)]
    page = actors.client("owner_viewer").get(f"{BASE}/?page=2&page_size=2").json()
    assert page["count"] == 3
    assert [item["id"] for item in page["items"]] == [jobs[0].pk]


def test_detail_statuses_and_shape(actors: Actors, done_job: Job) -> None:
    check_statuses(actors, lambda c: c.get(f"{BASE}/{done_job.pk}"), DETAIL_EXPECTED)
    body = actors.client("owner_viewer").get(f"{BASE}/{done_job.pk}").json()
    assert body["status"] == "succeeded"
    assert body["status_label"] == "完了"
    assert body["result"] == {"rows": 12, "actor": actors.users["owner_viewer"].username}
    assert (body["progress_done"], body["progress_total"], body["percent"]) == (12, 12, 100)
    assert body["progress_unit_label"] == "行"
    assert body["created_by"] == actors.users["owner_viewer"].username
    assert body["error"] == ""
    missing = actors.client("admin").get(f"{BASE}/{done_job.pk + 999}")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "処理が見つかりません。"


def test_cancel_statuses(actors: Actors) -> None:
    job = queued_job(actor=actor_for(actors.users["owner_viewer"]))
    url = f"{BASE}/{job.pk}/cancel"
    check_statuses(
        actors,
        lambda c: c.post(url),
        {"anonymous": 401, "staff": 404, "owner_editor": 404, "other_editor": 404},
    )
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    check_statuses(actors, lambda c: c.post(url), {"owner_viewer": 200})
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    again = actors.client("admin").post(url)
    assert again.status_code == 409
    assert "取り消せません" in again.json()["detail"]


def test_bearer_token_works_and_cancel_needs_csrf_with_session(actors: Actors) -> None:
    user = actors.users["owner_viewer"]
    job = queued_job(actor=actor_for(user))
    token = make_token(user)
    ok = Client().get(f"{BASE}/{job.pk}", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post(f"{BASE}/{job.pk}/cancel").status_code == 403
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    via_token = Client(enforce_csrf_checks=True).post(
        f"{BASE}/{job.pk}/cancel", headers={"Authorization": f"Bearer {token}"}
    )
    assert via_token.status_code == 200
    assert via_token.json()["status"] == "cancelled"
