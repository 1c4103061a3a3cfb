"""The support demo: a year of labelled synthetic activity, created once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from machidata.demo.services import load_demo
from machidata.support.models import Attendance, Consultation, ConsultationKind, Course, Session, TestAttempt
from machidata.support.selectors import course_understanding

pytestmark = pytest.mark.django_db


def test_demo_year_is_labelled_and_loaded_once(tmp_path: Path) -> None:
    summary = load_demo(home=tmp_path)
    assert summary.created["course"] == 6
    n = Consultation.objects.count()
    assert 40 <= n <= 80
    assert Consultation.objects.filter(kind=ConsultationKind.SUPPORT).exists()
    assert not Consultation.objects.filter(is_synthetic=False).exists()
    assert all("デモ用の合成データ" in d for d in Consultation.objects.values_list("description", flat=True))
    assert all(c.is_synthetic and "デモ用の合成データ" in c.description for c in Course.objects.all())
    assert Session.objects.count() == 12
    assert Attendance.objects.count() >= 12 * 12
    assert all(name.startswith("合成 ") for name in Attendance.objects.values_list("staff_name", flat=True))
    assert TestAttempt.objects.filter(user__username="staff").count() == 2
    # every course has a test whose questions have exactly one correct choice
    for course in Course.objects.all():
        for q in course.questions.all():
            assert q.choices.filter(is_correct=True).count() == 1
    figures = course_understanding(courses=Course.objects.all())
    assert all(f.scored > 0 and f.mean is not None for f in figures.values())
    # nothing lies in the future
    today = dt.date.today() + dt.timedelta(days=1)
    assert not Session.objects.filter(on_date__gt=today).exists()
    # a year of invented usage for every 局, labelled on the pages, outside the audit log
    from machidata.support.models import SyntheticUsage
    from machidata.support.usage import bureaus as usage_bureaus

    assert SyntheticUsage.objects.values("month").distinct().count() == 12
    assert SyntheticUsage.objects.values("bureau").distinct().count() >= len(usage_bureaus(2025)) // 2
    assert SyntheticUsage.objects.filter(month__gt=dt.date.today()).count() == 0
    # the demo's 健康づくり推進課 data owner is 管理職: the 局's usage page opens for them, not for staff
    from machidata.access.models import Membership, StaffRank

    assert Membership.objects.get(user__username="steward").rank == StaffRank.MANAGER
    assert Membership.objects.get(user__username="staff").rank == StaffRank.GENERAL
    again = load_demo(home=tmp_path)
    assert not again.changed
    assert SyntheticUsage.objects.count() == summary.created["synthetic_usage"]
    assert Consultation.objects.count() == n
