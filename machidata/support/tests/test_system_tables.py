"""The 相談 and 研修 system tables: one row per consultation / attendance / test, no names or topics."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from machidata.catalog.system_datasets import build_table
from machidata.core.testing import Actors, make_dataset
from machidata.support import services
from machidata.support.models import Attendance, Consultation, Course, Session
from machidata.support.system_tables import CONSULTATIONS, TRAINING
from machidata.support.tests.conftest import actor_of, answers

pytestmark = pytest.mark.django_db


def test_consultation_rows(actors: Actors, consultation: Consultation) -> None:
    own = make_dataset(actors.org.data_strategy)
    admin = actor_of(actors, "admin")
    services.consultation_assign(actor=admin, consultation=consultation, assignee_id=actors.users["admin"].pk)
    services.consultation_log(actor=admin, consultation=consultation, minutes=40, note="x")
    services.consultation_close(actor=admin, consultation=consultation, outcome="y")
    tokyo = timezone.get_current_timezone()
    Consultation.objects.filter(pk=consultation.pk).update(
        opened_at=dt.datetime(2024, 4, 30, 23, 30, tzinfo=tokyo),  # 14:30 UTC: still April in Tokyo
        closed_at=dt.datetime(2024, 5, 2, 9, 0, tzinfo=tokyo),
    )
    table = build_table(CONSULTATIONS, own)
    assert table.schema == CONSULTATIONS.schema
    assert table.to_pylist() == [
        {
            "受付日": dt.date(2024, 4, 30),
            "受付月": "2024-04",
            "種別": "相談",
            "所属コード": actors.org.health_div.code,
            "所属": "健康づくり推進課",
            "緊急度": "通常",
            "状態": "完了",
            "対応時間（分）": 40,
            "完了日": dt.date(2024, 5, 2),
            "合成データ": False,
        }
    ]
    assert "健診" not in str(table.to_pylist())  # topics stay out of a 庁内 table


def test_training_rows(actors: Actors, course: Course, session: Session) -> None:
    own = make_dataset(actors.org.data_strategy)
    Attendance.objects.create(session=session, staff_name="名簿 一郎", unit=actors.org.fire_div, score=65)
    Attendance.objects.create(
        session=session,
        user=actors.users["owner_viewer"],
        staff_name="v",
        unit=actors.org.health_div,
        score=90,
    )
    me = actor_of(actors, "owner_viewer")
    services.test_submit(actor=me, course=course, answers=answers(course, 3))
    services.test_submit(actor=me, course=course, answers=answers(course, 0))
    rows = build_table(TRAINING, own).to_pylist()
    compact = [(r["区分"], r["所属"], r["点数"], r["合格"], r["理解度に数える"]) for r in rows]
    assert compact == [
        ("受講", "警防課", 65, False, True),
        ("受講", "健康づくり推進課", 90, True, False),  # the person also took the test in machidata
        ("理解度テスト", "健康づくり推進課", 100, True, True),
        ("理解度テスト", "健康づくり推進課", 0, False, False),  # a retake
    ]
    assert {r["研修"] for r in rows} == {"データ活用基礎"}
    assert {r["対象"] for r in rows} == {"一般職"}
    assert rows[1]["日付"] == dt.date(2024, 6, 3)
    assert rows[1]["月"] == "2024-06"
    assert "名簿 一郎" not in str(rows)


def test_empty_tables_keep_their_schema(actors: Actors) -> None:
    own = make_dataset(actors.org.data_strategy)
    for spec in (CONSULTATIONS, TRAINING):
        table = build_table(spec, own)
        assert table.num_rows == 0
        assert table.schema == spec.schema
        assert [f["name"] for f in spec.descriptor()["fields"]] == [c.name for c in spec.columns]
