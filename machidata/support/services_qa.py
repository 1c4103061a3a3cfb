"""Writes of Q&A and the staff forum: questions to a dataset's owner, forum threads, FAQ marks.

A question is asked by any member of staff who may discover the dataset and answered in place by a
member of the owning 課 (its 係 included) or 管理. 管理 curates the FAQ from answered questions.
"""

from __future__ import annotations

from typing import Any, Final

from django.db import transaction
from django.utils import timezone

from machidata.access.policy import Action, Actor, can
from machidata.audit.services import audit_record
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied
from machidata.search.normalise import fold
from machidata.support.models import DatasetQuestion, ForumReply, ForumThread, ForumTopic

MAX_TEXT: Final = 10_000


def _text(value: str | None, label: str, max_length: int = MAX_TEXT) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"{label}を入力してください。")
    if len(text) > max_length:
        raise InvalidInput(f"{label}は{max_length}文字以内で入力してください。")
    return text


def _require_staff(actor: Actor) -> None:
    if not actor.is_authenticated:
        raise PermissionDenied("ログインしてください。")


def may_answer(actor: Actor, question: DatasetQuestion) -> bool:
    """Members of the owning 課 (係 included) and 管理 answer a dataset's questions."""
    return actor.is_admin or question.dataset.owner_id in actor.unit_ids


def question_ask(*, actor: Actor, dataset: Any, body: str) -> DatasetQuestion:
    """Ask the owner of ``dataset`` a question (any member of staff who may discover it)."""
    _require_staff(actor)
    if not can(actor, Action.DISCOVER, dataset):
        raise NotFound("データセットが見つかりません。")
    body = _text(body, "質問")
    with transaction.atomic():
        q = DatasetQuestion.objects.create(
            dataset=dataset, body=body, asked_by_id=actor.user_id, asked_at=timezone.now()
        )
        audit_record(actor=actor, action="question.ask", obj=q, changes={"dataset": dataset.slug})
    return q


def question_answer(*, actor: Actor, question: DatasetQuestion, answer: str) -> DatasetQuestion:
    """Answer (or correct the answer of) a question: the owning 課 or 管理."""
    if not may_answer(actor, question):
        raise PermissionDenied("回答できるのはデータ所有者（所管課）の職員とデータ戦略課だけです。")
    answer = _text(answer, "回答")
    with transaction.atomic():
        before = question.answer
        question.answer = answer
        question.answered_by_id = actor.user_id
        question.answered_at = timezone.now()
        question.save(update_fields=["answer", "answered_by", "answered_at"])
        audit_record(actor=actor, action="question.answer", obj=question, changes={"corrected": bool(before)})
    return question


def question_mark_faq(*, actor: Actor, question: DatasetQuestion, is_faq: bool) -> DatasetQuestion:
    """Add an answered question to the FAQ, or take it off (管理)."""
    if not actor.is_admin:
        raise PermissionDenied("よくある質問を選べるのはデータ戦略課（管理）だけです。")
    if is_faq and not question.is_answered:
        raise InvalidInput("回答のない質問は、よくある質問にできません。")
    with transaction.atomic():
        question.is_faq = is_faq
        question.save(update_fields=["is_faq"])
        audit_record(actor=actor, action="question.faq", obj=question, changes={"is_faq": is_faq})
    return question


def _refold(thread: ForumThread) -> None:
    parts = [thread.title, thread.body, *thread.replies.values_list("body", flat=True)]
    thread.folded = fold("\n".join(parts))


def thread_start(*, actor: Actor, topic: ForumTopic, title: str, body: str) -> ForumThread:
    """Start a thread in the staff forum (any member of staff)."""
    _require_staff(actor)
    title = _text(title, "題名", 200)
    body = _text(body, "本文")
    now = timezone.now()
    with transaction.atomic():
        thread = ForumThread(
            topic=topic, title=title, body=body, created_by_id=actor.user_id, created_at=now, last_post_at=now
        )
        thread.folded = fold(f"{title}\n{body}")
        thread.save()
        audit_record(actor=actor, action="forum.thread", obj=thread, changes={"topic": topic.slug})
    return thread


def thread_reply(*, actor: Actor, thread: ForumThread, body: str) -> ForumReply:
    """Reply in a forum thread (any member of staff)."""
    _require_staff(actor)
    body = _text(body, "返信")
    with transaction.atomic():
        reply = ForumReply.objects.create(
            thread=thread, body=body, created_by_id=actor.user_id, created_at=timezone.now()
        )
        thread.last_post_at = reply.created_at
        _refold(thread)
        thread.save(update_fields=["last_post_at", "folded"])
        audit_record(actor=actor, action="forum.reply", obj=thread, changes={"reply": reply.pk})
    return reply


def thread_mark_faq(*, actor: Actor, thread: ForumThread, is_faq: bool) -> ForumThread:
    """Add a forum thread that has a reply to the FAQ, or take it off (管理)."""
    if not actor.is_admin:
        raise PermissionDenied("よくある質問を選べるのはデータ戦略課（管理）だけです。")
    if is_faq and not thread.replies.exists():
        raise InvalidInput("返信のないスレッドは、よくある質問にできません。")
    with transaction.atomic():
        thread.is_faq = is_faq
        thread.save(update_fields=["is_faq"])
        audit_record(actor=actor, action="forum.faq", obj=thread, changes={"is_faq": is_faq})
    return thread
