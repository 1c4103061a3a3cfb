"""Support pages for every role: who sees what (404 for hidden), the queue, forms and the test."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from machidata.core.testing import Actors, check_statuses
from machidata.support import services
from machidata.support.models import (
    Attendance,
    Consultation,
    ConsultationStatus,
    Course,
    Session,
    TestAttempt,
)
from machidata.support.tests.conftest import actor_of, answers

pytestmark = pytest.mark.django_db

EVERY_STAFF = {
    "anonymous": 302,
    "staff": 200,
    "owner_viewer": 200,
    "owner_editor": 200,
    "other_editor": 200,
    "admin": 200,
}
REQUESTER_AND_ADMIN = {
    "anonymous": 302,
    "staff": 404,
    "owner_viewer": 200,
    "owner_editor": 200,
    "other_editor": 404,
    "admin": 200,
}
ADMIN_ONLY = {
    "anonymous": 302,
    "staff": 404,
    "owner_viewer": 404,
    "owner_editor": 404,
    "other_editor": 404,
    "admin": 200,
}


def test_pages_for_every_staff(actors: Actors, consultation: Consultation, session: Session) -> None:
    for name in ("home", "consultations", "consultation_new", "training", "coverage", "core", "summary"):
        url = reverse(f"support:{name}")
        check_statuses(actors, lambda c, url=url: c.get(url), EVERY_STAFF, label=name)


def test_consultation_detail_visible_to_requesting_division_and_admin(
    actors: Actors, consultation: Consultation
) -> None:
    url = reverse("support:consultation", args=[consultation.pk])
    check_statuses(actors, lambda c: c.get(url), REQUESTER_AND_ADMIN)
    body = actors.client("owner_editor").get(url).content.decode()
    assert "健診データの集計方法" in body
    assert "担当者を割り当てる" not in body  # the requester does not get the admin forms
    assert "担当者を割り当てる" in actors.client("admin").get(url).content.decode()
    assert actors.client("admin").get(reverse("support:consultation", args=[999])).status_code == 404


def test_list_shows_only_own_division(actors: Actors, consultation: Consultation) -> None:
    url = reverse("support:consultations")
    assert "健診データの集計方法" in actors.client("owner_viewer").get(url).content.decode()
    assert "健診データの集計方法" not in actors.client("staff").get(url).content.decode()
    admin = actors.client("admin").get(url + "?status=open").content.decode()
    assert "健診データの集計方法" in admin
    assert "担当者" in admin
    assert "健診データの集計方法" not in actors.client("admin").get(url + "?status=closed").content.decode()


def test_queue_pages(actors: Actors, settings) -> None:  # type: ignore[no-untyped-def]
    settings.MACHIDATA_PAGE_SIZE = 2
    for i in range(5):
        services.consultation_open(
            actor=actor_of(actors, "staff"), kind="question", topic=f"相談{i}", description="d"
        )
    body = actors.client("admin").get(reverse("support:consultations") + "?page=3").content.decode()
    assert "3 / 3 ページ" in body
    assert "相談0" in body
    assert "相談4" not in body


def test_open_through_the_form(actors: Actors) -> None:
    client = actors.client("staff")
    response = client.post(
        reverse("support:consultation_new"),
        {
            "kind": "support",
            "topic": "救急搬送の分析",
            "description": "伴走してほしい",
            "urgency": "normal",
            "unit": actors.org.fire_div.pk,
        },
    )
    c = Consultation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("support:consultation", args=[c.pk])
    assert c.kind == "support"
    refused = client.post(
        reverse("support:consultation_new"),
        {
            "kind": "question",
            "topic": "",
            "description": "",
            "urgency": "normal",
            "unit": actors.org.fire_div.pk,
        },
    )
    assert refused.status_code == 200
    assert Consultation.objects.count() == 1


def test_admin_actions_and_refusals(actors: Actors, consultation: Consultation) -> None:
    admin = actors.client("admin")
    pk = consultation.pk
    close = reverse("support:close", args=[pk])
    response = admin.post(close, {"outcome": "済"}, follow=True)
    assert "担当者が決まっていない相談は完了できません" in response.content.decode()
    admin.post(reverse("support:assign", args=[pk]), {"assignee": actors.users["admin"].pk})
    admin.post(
        reverse("support:log", args=[pk]),
        {"on_date": dt.date.today().isoformat(), "minutes": 30, "note": "電話"},
    )
    admin.post(close, {"outcome": "解決"})
    consultation.refresh_from_db()
    assert consultation.status == ConsultationStatus.CLOSED
    # other actors: hidden answers 404, the requester gets the Japanese refusal
    for name in ("assign", "log", "close", "reopen"):
        url = reverse(f"support:{name}", args=[pk])
        check_statuses(
            actors,
            lambda c, url=url: c.post(url, {}),
            {"anonymous": 302, "staff": 404, "other_editor": 404, "owner_editor": 302},
            label=name,
        )
    consultation.refresh_from_db()
    assert consultation.status == ConsultationStatus.CLOSED


def test_withdraw_by_requester(actors: Actors, consultation: Consultation) -> None:
    url = reverse("support:withdraw", args=[consultation.pk])
    check_statuses(actors, lambda c: c.post(url, {}), {"anonymous": 302, "staff": 404, "other_editor": 404})
    actors.client("owner_viewer").post(url, {"reason": "解決した"})
    consultation.refresh_from_db()
    assert consultation.status == ConsultationStatus.WITHDRAWN


def test_take_a_test(actors: Actors, course: Course) -> None:
    url = reverse("support:test", args=[course.pk])
    check_statuses(actors, lambda c: c.get(url), EVERY_STAFF)
    client = actors.client("staff")
    incomplete = client.post(url, {})
    assert incomplete.status_code == 400
    assert "答えていない問題が3問" in incomplete.content.decode()
    data = {f"q{q}": c for q, c in answers(course, 3).items()}
    done = client.post(url, data)
    assert done.status_code == 200
    assert "100点" in done.content.decode()
    assert TestAttempt.objects.get().score == 100
    assert client.get(reverse("support:test", args=[course.pk + 99])).status_code == 404


def test_session_attendance_page_is_admin_only(actors: Actors, session: Session) -> None:
    url = reverse("support:session", args=[session.pk])
    check_statuses(actors, lambda c: c.get(url), ADMIN_ONLY)
    admin = actors.client("admin")
    admin.post(url, {"form": "record", "user": actors.users["staff"].pk})
    assert Attendance.objects.get().unit == actors.org.fire_div
    sheet = SimpleUploadedFile(
        "名簿.csv", f"氏名,所属コード\n名簿 花子,{actors.org.health_div.code}\n".encode("cp932"), "text/csv"
    )
    response = admin.post(url, {"form": "import", "file": sheet}, follow=True)
    assert "1人の受講を取り込みました" in response.content.decode()
    bad = SimpleUploadedFile("名簿.csv", "氏名,所属コード\nx,000\n".encode(), "text/csv")
    refused = admin.post(url, {"form": "import", "file": bad})
    assert refused.status_code == 400
    assert "2行目: 所属コード「000」の所属が見つかりません。" in refused.content.decode()
    remove = reverse("support:attendance_remove", args=[Attendance.objects.first().pk])  # type: ignore[union-attr]
    check_statuses(actors, lambda c: c.post(remove), {"anonymous": 302, "staff": 404, "owner_editor": 404})
    admin.post(remove)
    assert Attendance.objects.count() == 1


def test_core_register_add_for_admin_only(actors: Actors) -> None:
    url = reverse("support:core")
    data = {"user": actors.users["owner_editor"].pk, "field_name": "GIS", "since": "2024-04-01"}
    check_statuses(actors, lambda c: c.post(url, data), {"anonymous": 302, "staff": 404, "owner_editor": 404})
    response = actors.client("admin").post(url, data)
    assert response.status_code == 302
    assert "GIS" in actors.client("staff").get(url).content.decode()


def test_summary_and_coverage_show_figures(
    actors: Actors, consultation: Consultation, session: Session
) -> None:
    from django.utils import timezone

    Attendance.objects.create(session=session, staff_name="名簿 花子", unit=actors.org.health_div, score=80)
    fy = 2024
    body = actors.client("staff").get(reverse("support:coverage") + f"?fy={fy}").content.decode()
    assert "健康づくり推進課" in body
    assert "利用者数" in body
    this_fy = actors.client("staff").get(reverse("support:summary")).content.decode()
    assert "相談 1件" in this_fy
    assert timezone.localdate().strftime("%Y-%m") in this_fy
    assert "健診" not in this_fy  # the summary carries no topics
