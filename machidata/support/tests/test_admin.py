"""The admin pages of the support room: 管理 only, and every save audited."""

from __future__ import annotations

import pytest

from machidata.audit.models import AuditEvent
from machidata.core.testing import Actors, check_statuses
from machidata.support.models import Course, Question

pytestmark = pytest.mark.django_db


def test_admin_pages_for_admin_only(actors: Actors, course: Course) -> None:
    actors.users["admin"].is_staff = True
    actors.users["admin"].save()
    for path in ("course", "question", "session", "headcount"):
        url = f"/admin/support/{path}/"
        check_statuses(
            actors, lambda c, url=url: c.get(url), {"anonymous": 302, "staff": 302, "admin": 200}, label=path
        )


def test_question_with_choices_is_audited(actors: Actors, course: Course) -> None:
    actors.users["admin"].is_staff = True
    actors.users["admin"].save()
    data = {
        "course": course.pk,
        "text": "新しい問題",
        "explanation": "",
        "order": 9,
        "choices-TOTAL_FORMS": "2",
        "choices-INITIAL_FORMS": "0",
        "choices-MIN_NUM_FORMS": "0",
        "choices-MAX_NUM_FORMS": "1000",
        "choices-0-text": "正しい",
        "choices-0-is_correct": "on",
        "choices-0-order": "0",
        "choices-1-text": "誤り",
        "choices-1-order": "1",
    }
    response = actors.client("admin").post("/admin/support/question/add/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    q = Question.objects.get(text="新しい問題")
    assert q.choices.count() == 2
    actions = list(AuditEvent.objects.filter(object_id=str(q.pk)).values_list("action", flat=True))
    assert sorted(actions) == ["question.create", "question.update"]
