"""Fixtures of the support tests: a consultation from the health 課, a course with a test and a session."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from machidata.access.policy import Actor, actor_for
from machidata.core.testing import Actors
from machidata.support.models import Choice, Consultation, Course, Question, Rank, Session
from machidata.support.services import consultation_open


def actor_of(actors: Actors, name: str) -> Actor:
    """The policy Actor of one of the standard test users."""
    return actor_for(actors.users[name])


@pytest.fixture
def consultation(actors: Actors) -> Consultation:
    """A 相談 opened by a 係 member of the health 課 (so the whole 課 may see it)."""
    return consultation_open(
        actor=actor_of(actors, "owner_viewer"),
        kind="question",
        topic="健診データの集計方法",
        description="年齢階級別の受診率を出したい。",
    )


def make_course(title: str = "データ活用基礎", *, rank: str = Rank.GENERAL, pass_mark: int = 70) -> Course:
    """A course with three questions: the first choice of each is correct."""
    course = Course.objects.create(title=title, rank=rank, pass_mark=pass_mark)
    for i in range(3):
        q = Question.objects.create(course=course, text=f"問{i + 1}", order=i)
        Choice.objects.create(question=q, text="正しい", is_correct=True, order=0)
        Choice.objects.create(question=q, text="誤り", is_correct=False, order=1)
    return course


def answers(course: Course, right: int) -> dict[int, int]:
    """Answers to ``course``'s test with the first ``right`` questions correct."""
    out: dict[int, int] = {}
    for i, q in enumerate(course.questions.order_by("order")):
        out[q.pk] = q.choices.get(is_correct=i < right).pk
    return out


@pytest.fixture
def course(db: Any) -> Course:
    """A course of the 一般職 curriculum with three questions."""
    return make_course()


@pytest.fixture
def session(course: Course) -> Session:
    """A session of ``course`` held in the past."""
    return Session.objects.create(
        course=course, on_date=dt.date(2024, 6, 3), place="本庁舎 会議室", capacity=30
    )
