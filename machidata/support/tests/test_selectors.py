"""Visibility of consultations (requesting 課 and 管理 only), understanding and coverage figures."""

from __future__ import annotations

import datetime as dt

import pytest

from machidata.access.policy import ANONYMOUS, restrict_unit_owned
from machidata.core.errors import NotFound
from machidata.core.testing import Actors, make_dataset, make_user
from machidata.support import selectors, services
from machidata.support.models import Attendance, Consultation, Course, Headcount, Rank, Session
from machidata.support.tests.conftest import actor_of, answers, make_course

pytestmark = pytest.mark.django_db

SEES = {"staff": False, "owner_viewer": True, "owner_editor": True, "other_editor": False, "admin": True}


@pytest.mark.parametrize(("name", "sees"), SEES.items())
def test_consultation_visible_to_requesting_division_and_admin(
    actors: Actors, consultation: Consultation, name: str, sees: bool
) -> None:
    actor = actor_of(actors, name)
    assert list(selectors.consultation_list(actor=actor)) == ([consultation] if sees else [])
    if sees:
        assert selectors.consultation_get(actor=actor, pk=consultation.pk) == consultation
    else:
        with pytest.raises(NotFound, match="相談が見つかりません"):
            selectors.consultation_get(actor=actor, pk=consultation.pk)


def test_anonymous_sees_nothing(consultation: Consultation) -> None:
    assert not restrict_unit_owned(Consultation.objects.all(), ANONYMOUS).exists()
    with pytest.raises(NotFound):
        selectors.consultation_get(actor=ANONYMOUS, pk=consultation.pk)


def test_missing_is_the_same_not_found(actors: Actors) -> None:
    with pytest.raises(NotFound, match="相談が見つかりません"):
        selectors.consultation_get(actor=actor_of(actors, "admin"), pk=999)


def test_related_datasets_follow_the_viewers_discover_rights(actors: Actors) -> None:
    hidden_from_staff = make_dataset(actors.org.health_div, classification="confidential")
    c = services.consultation_open(
        actor=actor_of(actors, "owner_editor"),
        kind="question",
        topic="t",
        description="d",
        dataset_ids=[hidden_from_staff.pk],
    )
    assert list(selectors.consultation_datasets(actor=actor_of(actors, "owner_editor"), consultation=c)) == [
        hidden_from_staff
    ]
    # 管理 administers every entry's metadata, so it may discover it too
    assert selectors.consultation_datasets(actor=actor_of(actors, "admin"), consultation=c).count() == 1


def test_queue_filters_and_minutes(actors: Actors, consultation: Consultation) -> None:
    admin = actor_of(actors, "admin")
    other = services.consultation_open(
        actor=actor_of(actors, "staff"),
        kind="support",
        topic="救急の分析",
        description="伴走",
        urgency="high",
    )
    services.consultation_assign(actor=admin, consultation=other, assignee_id=actors.users["admin"].pk)
    services.consultation_log(actor=admin, consultation=other, minutes=50, note="a")
    services.consultation_log(actor=admin, consultation=other, minutes=25, note="b")

    def ids(**query: str) -> list[int]:
        filters = selectors.ConsultationFilters.from_query(query)
        return [c.pk for c in selectors.consultation_list(actor=admin, filters=filters)]

    assert ids(kind="support") == [other.pk]
    assert ids(status="open") == [consultation.pk]
    assert ids(status="active") == [other.pk, consultation.pk]
    assert ids(assignee="me") == [other.pk]
    assert ids(assignee="none") == [consultation.pk]
    assert ids(urgency="high") == [other.pk]
    assert ids(unit=str(actors.org.health_div.pk)) == [consultation.pk]
    assert ids(q="健診") == [consultation.pk]
    assert ids(status="bogus") == [other.pk, consultation.pk]  # unknown values are ignored
    listed = {c.pk: c.minutes for c in selectors.consultation_list(actor=admin)}  # type: ignore[attr-defined]
    assert listed == {other.pk: 75, consultation.pk: 0}


def test_understanding_counts_first_attempts_and_imported_scores(actors: Actors, course: Course) -> None:
    a, b = actor_of(actors, "staff"), actor_of(actors, "owner_viewer")
    services.test_submit(actor=a, course=course, answers=answers(course, 3))  # 100
    services.test_submit(actor=a, course=course, answers=answers(course, 0))  # retake: not counted
    services.test_submit(actor=b, course=course, answers=answers(course, 1))  # 33
    session = Session.objects.create(course=course, on_date=dt.date(2024, 5, 1))
    Attendance.objects.create(session=session, staff_name="名簿 一郎", unit=actors.org.fire_div, score=70)
    # an imported score of someone who also took the test in machidata is not counted twice
    Attendance.objects.create(
        session=session, user=actors.users["staff"], staff_name="x", unit=actors.org.fire_div, score=10
    )
    got = selectors.course_understanding(courses=[course])[course.pk]
    assert got.scored == 3
    assert got.mean == round((100 + 33 + 70) / 3, 1)
    assert got.pass_rate == round(100 * 2 / 3, 1)  # 100 and 70 pass at 70
    empty = make_course("未実施")
    assert selectors.course_understanding(courses=[empty])[empty.pk] == selectors.Understanding(0, None, None)


def test_coverage_uses_entered_headcount_else_accounts(actors: Actors) -> None:
    general = make_course("一般職研修", rank=Rank.GENERAL)
    manager = make_course("管理職研修", rank=Rank.MANAGER)
    s1 = Session.objects.create(course=general, on_date=dt.date(2024, 6, 1))
    s2 = Session.objects.create(course=manager, on_date=dt.date(2024, 7, 1))
    old = Session.objects.create(course=general, on_date=dt.date(2023, 6, 1))
    health, fire = actors.org.health_div, actors.org.fire_div
    viewer = actors.users["owner_viewer"]
    Attendance.objects.create(session=s1, user=viewer, staff_name="v", unit=health, rank="general")
    # same person: once, though a 一般職 at a 管理職 course (the person's rank counts, not the course's)
    Attendance.objects.create(session=s2, user=viewer, staff_name="v", unit=health, rank="general")
    Attendance.objects.create(session=s2, staff_name="名簿 花子", unit=health, rank="manager")
    Attendance.objects.create(session=old, staff_name="昨年度 太郎", unit=health)
    Attendance.objects.create(session=s1, staff_name="消防 次郎", unit=fire)
    # 名簿 花子 is on the コア人材 register: counted under 管理職 and among コア人材
    services.core_staff_add(
        actor=actor_of(actors, "admin"), field_name="保健", since=dt.date(2024, 4, 1),
        staff_name="名簿 花子", unit_id=health.pk,
    )  # fmt: skip
    Headcount.objects.create(unit=health, staff=40, as_of=dt.date(2024, 4, 1))
    make_user(unit=fire)  # fire 課 now has 3 accounts: staff, other_editor and this one
    rows = {r.unit.pk: r for r in selectors.coverage(fy=2024)}
    assert (rows[health.pk].headcount, rows[health.pk].headcount_source) == (40, "entered")
    assert rows[health.pk].trained == 2
    assert rows[health.pk].by_rank == {"manager": 1, "general": 1, "core": 1, "unknown": 0}
    assert rows[fire.pk].by_rank == {"manager": 0, "general": 0, "core": 0, "unknown": 1}
    assert rows[health.pk].coverage == 5.0
    assert (rows[fire.pk].headcount, rows[fire.pk].headcount_source) == (3, "accounts")
    assert rows[fire.pk].coverage == 33.3
    every_year = {r.unit.pk: r for r in selectors.coverage()}
    assert every_year[health.pk].trained == 3


def test_monthly_summary_by_month_and_division(actors: Actors, course: Course) -> None:
    from django.utils import timezone

    c = services.consultation_open(
        actor=actor_of(actors, "staff"), kind="support", topic="t", description="d"
    )
    # 2025-03-31 23:30 in Tokyo is still fiscal 2024 and March
    Consultation.objects.filter(pk=c.pk).update(
        opened_at=dt.datetime(2025, 3, 31, 23, 30, tzinfo=timezone.get_current_timezone())
    )
    d = services.consultation_open(
        actor=actor_of(actors, "staff"), kind="question", topic="t", description="d"
    )
    Consultation.objects.filter(pk=d.pk).update(
        opened_at=dt.datetime(2025, 4, 1, 0, 30, tzinfo=timezone.get_current_timezone())
    )
    session = Session.objects.create(course=course, on_date=dt.date(2025, 3, 10))
    Attendance.objects.create(session=session, staff_name="a", unit=actors.org.fire_div, score=80)
    Attendance.objects.create(session=session, staff_name="b", unit=actors.org.fire_div, score=60)
    rows = selectors.monthly_summary(fy=2024)
    assert [(r.month, r.unit, r.questions, r.supports, r.attendances, r.mean_score) for r in rows] == [
        ("2025-03", "警防課", 0, 1, 2, 70.0)
    ]
    nxt = selectors.monthly_summary(fy=2025)
    assert [(r.month, r.questions, r.supports) for r in nxt] == [("2025-04", 1, 0)]
