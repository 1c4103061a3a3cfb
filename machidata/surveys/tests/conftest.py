"""Fixtures of the survey tests: small Forms exports written here with openpyxl, and a survey of 健康づくり推進課."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

import pytest
from openpyxl import Workbook

from machidata.access.policy import Actor, actor_for
from machidata.core.testing import Actors
from machidata.surveys.models import Round, Survey
from machidata.surveys.services import round_import, round_questions_confirm, survey_create

JA = ["ID", "開始時刻", "完了時刻", "メール", "名前"]
EN = ["ID", "Start time", "Completion time", "Email", "Name", "Last modified time"]
BUREAU, POSITION, OBSTACLE, FREE = "所属局", "職位", "課題（複数選択可）", "ご意見"
OBSTACLES = ["業務繁忙", "予算;人員の不足", "知識や活用スキル", "データがどこにあるのか分からない、探せない"]


def forms_xlsx(
    questions: Sequence[str], rows: Sequence[Sequence[Any]], *, header: Sequence[str] = JA
) -> bytes:
    """A Forms-shaped export: the fixed columns, then one column per question; ``rows`` give the answers."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([*header, *questions])
    start = dt.datetime(2023, 7, 7, 9, 0)
    for i, answers in enumerate(rows, start=1):
        fixed: list[Any] = [i, start, start + dt.timedelta(minutes=5), "anonymous", ""]
        if len(header) == 6:
            fixed.append(start)
        sheet.append([*fixed, *answers])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# 8 respondents: bureau, position, obstacles (multi, one option containing ";", one containing "、"), free text
ROWS: list[list[Any]] = [
    ["財政局", "係長級", "知識や活用スキル;", "研修を増やしてほしい。"],
    ["財政局", "主事", "知識や活用スキル;業務繁忙;", None],
    ["財政局", "主事", "予算;人員の不足;知識や活用スキル;", "統計の研修がほしい。"],
    ["総務局", "係長級", "データがどこにあるのか分からない、探せない;", "データの一覧がほしい。"],
    ["総務局", "主事", "データがどこにあるのか分からない、探せない;業務繁忙;", None],
    ["総務局", "主事", "会議が多い;", None],
    ["総務局", "主事", None, None],
    [None, "主事", "業務繁忙", None],  # no trailing ";" and no bureau
]


def as_actor(actors: Actors, name: str) -> Actor:
    """The policy actor of a named test user."""
    return actor_for(actors.users[name])


def declare(round_: Round, actor: Actor) -> Round:
    """Confirm the standard questions' types and options."""
    options = {BUREAU: ["財政局", "総務局"], POSITION: ["係長級", "主事"], OBSTACLE: OBSTACLES}
    declarations = [
        {
            "position": q.position,
            "kind": "multi" if q.text == OBSTACLE else q.kind,
            "options": options[q.text],
        }
        for q in round_.questions.all()
        if q.text in options
    ]
    return round_questions_confirm(actor=actor, round_=round_, declarations=declarations)


@pytest.fixture
def survey(actors: Actors) -> Survey:
    """A survey of 健康づくり推進課 registered by its 編集."""
    return survey_create(
        actor=as_actor(actors, "owner_editor"), title="職員アンケート", unit_id=actors.org.health_div.pk
    )


@pytest.fixture
def draft(actors: Actors, survey: Survey) -> Round:
    """The 2023 round just imported (types guessed, not confirmed)."""
    return round_import(
        actor=as_actor(actors, "owner_editor"),
        survey=survey,
        label="2023年度",
        data=forms_xlsx([BUREAU, POSITION, OBSTACLE, FREE], ROWS),
        filename="2023.xlsx",
    )


@pytest.fixture
def confirmed(actors: Actors, draft: Round) -> Round:
    """The 2023 round with its questions confirmed."""
    return declare(draft, as_actor(actors, "owner_editor"))
