"""Writes of the strategy's KPI board: which survey question and option measure a survey-based 検証指標.

データ戦略課 (管理) decides it; the survey must be one the 管理 member may read (the surveys room's
selectors decide), and the question must be a choice question that offers the option in a confirmed round.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from machidata.access.policy import Actor
from machidata.audit.services import audit_record
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied
from machidata.ebpm.models import BoardSurveyKey, BoardSurveyLink


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied("検証指標とアンケートの対応を決められるのは、データ戦略課（管理）です。")


def board_survey_link_set(
    *, actor: Actor, key: Any, survey_id: Any, question: Any, option: Any
) -> BoardSurveyLink:
    """Map a survey question + option to a board indicator (replaces an earlier mapping of the same key)."""
    from machidata.surveys.selectors import survey_get

    _require_admin(actor)
    if key not in BoardSurveyKey.values:
        raise InvalidInput(
            f"検証指標「{key}」はアンケートで測る指標ではありません（{'・'.join(BoardSurveyKey.values)}）。"
        )
    try:
        survey = survey_get(actor=actor, pk=int(survey_id))
    except (TypeError, ValueError):
        raise InvalidInput("アンケートを選んでください。") from None
    except NotFound:
        raise InvalidInput("そのアンケートは見つかりません。") from None
    question, option = str(question or "").strip(), str(option or "").strip()
    if not question or not option:
        raise InvalidInput("質問と選択肢を選んでください。")
    asked = [
        q
        for r in survey.rounds.filter(status="confirmed")
        for q in r.questions.filter(text=question, kind__in=("single", "multi"))
    ]
    if not asked:
        raise InvalidInput(
            f"アンケート「{survey.title}」の確定した回に、選択式の質問「{question[:40]}」はありません。"
        )
    if not any(option in (q.options or []) for q in asked):
        raise InvalidInput(f"質問「{question[:40]}」に選択肢「{option}」はありません。")
    with transaction.atomic():
        link, created = BoardSurveyLink.objects.update_or_create(
            key=key,
            defaults={"survey": survey, "question": question, "option": option, "actor_label": actor.label()},
        )
        audit_record(
            actor=actor,
            action="ebpm.board_survey.set",
            obj=link,
            changes={
                "key": key,
                "survey": survey.pk,
                "question": question,
                "option": option,
                "created": created,
            },
        )
    return link


def board_survey_link_clear(*, actor: Actor, key: Any) -> None:
    """Remove a mapping: the board goes back to finding the option in any readable survey."""
    _require_admin(actor)
    link = BoardSurveyLink.objects.filter(key=str(key)).first()
    if link is None:
        raise NotFound("その検証指標にはアンケートの対応がありません。")
    with transaction.atomic():
        audit_record(actor=actor, action="ebpm.board_survey.clear", obj=link, changes={"key": link.key})
        link.delete()
