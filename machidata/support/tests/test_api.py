"""The support API across actors: requester 課, another 課, 管理 and anonymous."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from machidata.core.testing import Actors, check_statuses, make_dataset
from machidata.support.models import Attendance, Consultation, Course, Session
from machidata.support.tests.conftest import answers

pytestmark = pytest.mark.django_db
BASE = "/api/v1/support"


def post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


def test_consultation_read_matrix(actors: Actors, consultation: Consultation) -> None:
    url = f"{BASE}/consultations/{consultation.pk}"
    check_statuses(
        actors,
        lambda c: c.get(url),
        {
            "anonymous": 401,
            "staff": 404,
            "owner_viewer": 200,
            "owner_editor": 200,
            "other_editor": 404,
            "admin": 200,
        },
    )
    listed = actors.client("staff").get(f"{BASE}/consultations").json()
    assert listed == []
    mine = actors.client("owner_editor").get(f"{BASE}/consultations?status=open").json()
    assert [c["id"] for c in mine] == [consultation.pk]
    assert mine[0]["unit_name"] == "健康づくり推進課"
    assert mine[0]["minutes"] == 0


def test_open_and_work_a_consultation(actors: Actors) -> None:
    dataset = make_dataset(actors.org.fire_div)
    staff = actors.client("staff")
    created = post(
        staff,
        f"{BASE}/consultations",
        {"kind": "support", "topic": "救急の分析", "description": "伴走", "datasets": [dataset.slug]},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "open"
    assert body["datasets"] == [dataset.slug]
    pk = body["id"]
    bad = post(
        staff,
        f"{BASE}/consultations",
        {"kind": "support", "topic": "t", "description": "d", "datasets": ["nope"]},
    )
    assert bad.status_code == 400
    assert "関係するデータが見つかりません" in bad.json()["detail"]
    admin = actors.client("admin")
    admin_name = actors.users["admin"].get_username()
    # the requester may not assign: 403 with a Japanese reason; another 課 does not see it at all
    check_statuses(
        actors,
        lambda c: post(c, f"{BASE}/consultations/{pk}/assign", {"assignee": admin_name}),
        {"anonymous": 401, "staff": 403, "owner_editor": 404},
    )
    assert (
        post(admin, f"{BASE}/consultations/{pk}/close", {"outcome": "x"})
        .json()["detail"]
        .startswith("担当者が決まっていない")
    )
    assert (
        post(admin, f"{BASE}/consultations/{pk}/assign", {"assignee": admin_name}).json()["status"]
        == "in_progress"
    )
    entry = post(admin, f"{BASE}/consultations/{pk}/entries", {"minutes": 90, "note": "打合せ"})
    assert entry.status_code == 201
    closed = post(admin, f"{BASE}/consultations/{pk}/close", {"outcome": "分析できた"}).json()
    assert (closed["status"], closed["minutes"], len(closed["entries"])) == ("closed", 90, 1)
    assert post(staff, f"{BASE}/consultations/{pk}/withdraw", {}).status_code == 400
    assert post(admin, f"{BASE}/consultations/{pk}/reopen", {}).json()["status"] == "in_progress"


def test_courses_and_test(actors: Actors, course: Course) -> None:
    check_statuses(actors, lambda c: c.get(f"{BASE}/courses"), {"anonymous": 401, "staff": 200, "admin": 200})
    questions = actors.client("staff").get(f"{BASE}/courses/{course.pk}/test").json()
    assert len(questions) == 3
    assert "is_correct" not in json.dumps(questions)
    given = {str(q): c for q, c in answers(course, 2).items()}
    result = post(actors.client("staff"), f"{BASE}/courses/{course.pk}/attempts", {"answers": given})
    assert result.status_code == 201
    assert (result.json()["score"], result.json()["passed"]) == (67, False)
    listed = actors.client("staff").get(f"{BASE}/courses").json()
    assert listed[0]["understanding"] == {"scored": 1, "mean": 67.0, "pass_rate": 0.0}
    assert (
        post(
            actors.client("anonymous"), f"{BASE}/courses/{course.pk}/attempts", {"answers": given}
        ).status_code
        == 401
    )
    assert actors.client("staff").get(f"{BASE}/courses/{course.pk + 99}/test").status_code == 404


def test_attendance_admin_only(actors: Actors, session: Session) -> None:
    url = f"{BASE}/sessions/{session.pk}/attendance"
    body = {"staff_name": "名簿 花子", "unit_code": actors.org.health_div.code, "score": 75}
    check_statuses(
        actors,
        lambda c: post(c, url, body),
        {"anonymous": 401, "staff": 404, "owner_viewer": 404, "owner_editor": 404, "other_editor": 404},
    )
    created = post(actors.client("admin"), url, body)
    assert created.status_code == 201
    assert Attendance.objects.get().score == 75
    check_statuses(actors, lambda c: c.get(url), {"anonymous": 401, "staff": 404, "admin": 200})
    assert actors.client("admin").get(url).json()[0]["unit_name"] == "健康づくり推進課"
    assert post(actors.client("admin"), url, body).status_code == 400  # already recorded


def test_figures(actors: Actors, consultation: Consultation, session: Session) -> None:
    Attendance.objects.create(session=session, staff_name="a", unit=actors.org.fire_div, score=90)
    for path in ("coverage", "summary", "core-staff"):
        check_statuses(
            actors, lambda c, p=path: c.get(f"{BASE}/{p}"), {"anonymous": 401, "staff": 200, "admin": 200}
        )
    cov = actors.client("staff").get(f"{BASE}/coverage?fy=2024").json()
    assert cov == [
        {
            "unit_code": actors.org.fire_div.code,
            "unit_name": "警防課",
            "headcount": 2,
            "headcount_source": "accounts",
            "trained": 1,
            "by_rank": {"manager": 0, "general": 0, "core": 0, "unknown": 1},
            "coverage": 50.0,
        }
    ]
    summary = actors.client("staff").get(f"{BASE}/summary?fy=2024").json()
    assert summary == [
        {
            "month": "2024-06",
            "unit": "警防課",
            "questions": 0,
            "supports": 0,
            "attendances": 1,
            "scored": 1,
            "mean_score": 90.0,
        }
    ]
