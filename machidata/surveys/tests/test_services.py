"""Survey services: who may write, what is refused (in Japanese, nothing saved), and the audit trail."""

from __future__ import annotations

import pytest

from machidata.audit.models import AuditEvent
from machidata.core.errors import InvalidInput, PermissionDenied
from machidata.core.testing import Actors
from machidata.surveys.models import Question, Response, Round, Survey
from machidata.surveys.services import (
    round_delete,
    round_import,
    round_questions_confirm,
    round_targets_set,
    survey_create,
)
from machidata.surveys.tests.conftest import BUREAU, FREE, OBSTACLE, POSITION, ROWS, as_actor, forms_xlsx


def test_create_is_for_the_units_editors(actors: Actors) -> None:
    for name in ("owner_viewer", "other_editor", "staff"):
        with pytest.raises(PermissionDenied):
            survey_create(actor=as_actor(actors, name), title="x", unit_id=actors.org.health_div.pk)
    # 管理 reads every survey but does not edit another 課's
    with pytest.raises(PermissionDenied):
        survey_create(actor=as_actor(actors, "admin"), title="x", unit_id=actors.org.health_div.pk)
    created = survey_create(actor=as_actor(actors, "admin"), title="x", unit_id=actors.org.data_strategy.pk)
    assert AuditEvent.objects.filter(action="survey.create", object_id=str(created.pk)).count() == 1


def test_create_needs_a_title(actors: Actors) -> None:
    with pytest.raises(InvalidInput, match="調査名"):
        survey_create(actor=as_actor(actors, "owner_editor"), title=" ", unit_id=actors.org.health_div.pk)
    assert not Survey.objects.exists()


def test_import_guesses_types_drops_mail_and_name_and_audits(actors: Actors, draft: Round) -> None:
    kinds = dict(draft.questions.values_list("text", "guessed_kind"))
    assert kinds == {BUREAU: "single", POSITION: "single", OBSTACLE: "multi", FREE: "text"}
    assert draft.respondents == len(ROWS) == draft.responses.count()
    first = draft.responses.order_by("id").first()
    assert first is not None
    assert "anonymous" not in first.answers
    event = AuditEvent.objects.get(action="survey.round_import")
    assert event.changes["respondents"] == len(ROWS)


def test_import_by_someone_else_is_refused_and_writes_nothing(actors: Actors, survey: Survey) -> None:
    with pytest.raises(PermissionDenied):
        round_import(
            actor=as_actor(actors, "owner_viewer"),
            survey=survey,
            label="2023",
            data=forms_xlsx([BUREAU], [["a"]]),
        )
    assert not Round.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "ファイルが空"),
        (
            forms_xlsx(["q"], [["a"]], header=["番号", "開始", "完了", "メール", "名前"]),
            "Microsoft Forms の書き出しではない",
        ),
    ],
)
def test_bad_files_write_nothing(actors: Actors, survey: Survey, data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        round_import(actor=as_actor(actors, "owner_editor"), survey=survey, label="2023", data=data)
    assert not Round.objects.exists()
    assert not Response.objects.exists()


def test_later_round_may_add_columns_and_keeps_declared_types(actors: Actors, confirmed: Round) -> None:
    editor = as_actor(actors, "owner_editor")
    later = round_import(
        actor=editor,
        survey=confirmed.survey,
        label="2024年度",
        data=forms_xlsx(
            [BUREAU, POSITION, "データカタログを知っていますか", OBSTACLE, FREE],
            [
                ["財政局", "主事", "知らない", "予算;人員の不足;", None],
                ["総務局", "係長級", "知っている", "業務繁忙;", None],
            ],
        ),
    )
    texts = list(later.questions.order_by("position").values_list("text", flat=True))
    assert texts[2] == "データカタログを知っていますか"
    obstacle = later.questions.get(text=OBSTACLE)
    declared = confirmed.questions.get(text=OBSTACLE)
    assert (obstacle.kind, obstacle.options) == ("multi", declared.options)  # carried over, not re-guessed
    assert AuditEvent.objects.get(action="survey.round_import", object_id=str(later.pk)).changes[
        "added_questions"
    ] == ["データカタログを知っていますか"]
    # the earlier round keeps its own question list
    assert confirmed.questions.count() == 4


def test_a_round_with_no_question_in_common_is_refused(actors: Actors, confirmed: Round) -> None:
    with pytest.raises(InvalidInput, match="同じ質問が一つもありません"):
        round_import(
            actor=as_actor(actors, "owner_editor"),
            survey=confirmed.survey,
            label="2024年度",
            data=forms_xlsx(["まったく別の質問"], [["はい"]]),
        )
    assert Round.objects.count() == 1


def test_duplicate_round_label_is_refused(actors: Actors, draft: Round) -> None:
    with pytest.raises(InvalidInput, match="すでにあります"):
        round_import(
            actor=as_actor(actors, "owner_editor"),
            survey=draft.survey,
            label="2023年度",
            data=forms_xlsx([BUREAU], [["財政局"]]),
        )


def test_option_list_that_does_not_match_single_answers_is_refused(actors: Actors, draft: Round) -> None:
    bureau = draft.questions.get(text=BUREAU)
    with pytest.raises(InvalidInput, match="選択肢にない回答が1種類あります: 「総務局」") as exc:
        round_questions_confirm(
            actor=as_actor(actors, "owner_editor"),
            round_=draft,
            declarations=[{"position": bureau.position, "kind": "single", "options": "財政局"}],
        )
    assert f"q{bureau.position}" in exc.value.details
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert Question.objects.get(pk=bureau.pk).options != ["財政局"]


def test_multi_options_that_match_no_answer_are_refused(actors: Actors, draft: Round) -> None:
    obstacle = draft.questions.get(text=OBSTACLE)
    with pytest.raises(InvalidInput, match="一つも合いません"):
        round_questions_confirm(
            actor=as_actor(actors, "owner_editor"),
            round_=draft,
            declarations=[{"position": obstacle.position, "kind": "multi", "options": ["まったく違う"]}],
        )


def test_number_declared_on_text_answers_is_refused(actors: Actors, draft: Round) -> None:
    free = draft.questions.get(text=FREE)
    with pytest.raises(InvalidInput, match="数値でない回答"):
        round_questions_confirm(
            actor=as_actor(actors, "owner_editor"),
            round_=draft,
            declarations=[{"position": free.position, "kind": "number"}],
        )


def test_confirm_is_audited(actors: Actors, confirmed: Round) -> None:
    assert confirmed.status == "confirmed"
    assert AuditEvent.objects.filter(action="survey.questions_confirm", object_id=str(confirmed.pk)).exists()


def test_targets_are_checked_and_audited(actors: Actors, confirmed: Round) -> None:
    editor = as_actor(actors, "owner_editor")
    bureau = confirmed.questions.get(text=BUREAU)
    # one respondent has no bureau: post-stratification by bureau cannot place them
    with pytest.raises(InvalidInput, match="目標の人数がない区分"):
        round_targets_set(
            actor=editor, round_=confirmed, targets={bureau.position: {"財政局": 100, "総務局": 300}}
        )
    confirmed.refresh_from_db()
    assert confirmed.weight_targets == {}
    position = confirmed.questions.get(text=POSITION)
    round_targets_set(
        actor=editor, round_=confirmed, targets={position.position: {"係長級": 100, "主事": 300}}
    )
    confirmed.refresh_from_db()
    assert confirmed.weight_targets == {str(position.position): {"係長級": 100.0, "主事": 300.0}}
    assert AuditEvent.objects.filter(action="survey.targets_set").count() == 1
    with pytest.raises(InvalidInput, match="選択肢「課長級」はありません"):
        round_targets_set(actor=editor, round_=confirmed, targets={position.position: {"課長級": 1}})


def test_delete_removes_answers(actors: Actors, confirmed: Round) -> None:
    with pytest.raises(PermissionDenied):
        round_delete(actor=as_actor(actors, "admin"), round_=confirmed)
    round_delete(actor=as_actor(actors, "owner_editor"), round_=confirmed)
    assert not Response.objects.exists()
    assert AuditEvent.objects.filter(action="survey.round_delete").exists()


def test_one_question_is_declared_without_confirming_the_round(actors: Actors, draft: Round) -> None:
    from machidata.surveys.services import question_declare

    position = draft.questions.get(text=OBSTACLE).position
    editor = as_actor(actors, "owner_editor")
    question = question_declare(
        actor=editor, round_=draft, position=position, kind="multi", options=["業務繁忙", "予算;人員の不足"]
    )
    assert (question.kind, question.options) == ("multi", ["業務繁忙", "予算;人員の不足"])
    draft.refresh_from_db()
    assert draft.status == "draft"  # the round is confirmed separately
    event = AuditEvent.objects.get(action="survey.question_declare")
    assert event.changes["after"]["kind"] == "multi"
    assert event.changes["before"]["kind"] == "multi"
    # a type that does not fit that question's answers is refused, nothing saved
    bureau = draft.questions.get(text=BUREAU)
    with pytest.raises(InvalidInput, match="数値でない回答があります"):
        question_declare(actor=editor, round_=draft, position=bureau.position, kind="number")
    bureau.refresh_from_db()
    assert bureau.kind == "single"
    with pytest.raises(InvalidInput, match="この回にありません"):
        question_declare(actor=editor, round_=draft, position=99, kind="single")
    with pytest.raises(PermissionDenied):
        question_declare(actor=as_actor(actors, "owner_viewer"), round_=draft, position=position, kind="text")
    assert AuditEvent.objects.filter(action="survey.question_declare").count() == 1


def test_declaring_one_question_of_a_confirmed_round_keeps_it_confirmed(
    actors: Actors, confirmed: Round
) -> None:
    from machidata.surveys.results import frequency_tables, load_round
    from machidata.surveys.services import question_declare

    position = confirmed.questions.get(text=FREE).position
    question_declare(
        actor=as_actor(actors, "owner_editor"),
        round_=confirmed,
        position=position,
        kind="single",
        options=sorted({str(c) for c in load_round(confirmed).cells[position] if c is not None}),
    )
    confirmed.refresh_from_db()
    assert confirmed.status == "confirmed"
    tables = {q.position: t for q, t in frequency_tables(load_round(confirmed))}
    assert tables[position].n == sum(1 for c in load_round(confirmed).cells[position] if c is not None)
