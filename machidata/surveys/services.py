"""Writing surveys: create, import a round, confirm its questions, set weights, delete — audited.

Every write is one transaction with its audit event; a refused input writes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction

from machidata.access.models import Unit, UnitKind
from machidata.access.policy import Actor, may_edit_unit_record
from machidata.audit.services import audit_record
from machidata.core.errors import InvalidInput, PermissionDenied
from machidata.jobs.models import Job
from machidata.jobs.services import job_submit
from machidata.surveys.forms_excel import (
    OTHER,
    READING,
    guess_question,
    read_export,
    read_number,
    read_single,
    split_multi,
)
from machidata.surveys.models import Question, QuestionKind, Response, Round, RoundStatus, Survey
from machidata.surveys.results import load_round, round_weights

TOKYO: Final = ZoneInfo("Asia/Tokyo")
TITLE_MAX, LABEL_MAX = 200, 60
MAX_BYTES: Final = 20 * 1024 * 1024
# An export larger than this is imported by a job with progress (a staff survey of 2,464 answers is
# 296 kB with 20 questions and is imported in 2.3 s, so 1 MB is ~8 s); smaller ones are imported while
# the request waits.
SYNC_MAX_BYTES: Final = 1024 * 1024
JOB_KIND_IMPORT: Final = "surveys.round_import"
SAVE_BATCH: Final = 1000
Progress = Callable[..., None]  # JobContext.progress(done, total=None, phase=None)
NOT_OWNER: Final = "アンケートを変更できるのは所管課の編集担当です。"


def _require_edit(actor: Actor, survey: Survey) -> None:
    if not may_edit_unit_record(actor, survey.unit_id):
        raise PermissionDenied(NOT_OWNER)


def survey_create(
    *, actor: Actor, title: str, unit_id: int, description: str = "", is_synthetic: bool = False
) -> Survey:
    """Register a survey for a 課 the actor edits for."""
    title = (title or "").strip()
    errors: dict[str, str] = {}
    if not title:
        errors["title"] = "調査名を入力してください。"
    elif len(title) > TITLE_MAX:
        errors["title"] = f"調査名は{TITLE_MAX}文字以内で入力してください。"
    unit = Unit.objects.filter(pk=unit_id, kind=UnitKind.DIVISION).first() if unit_id else None
    if unit is None:
        errors["unit_id"] = "所管課を選んでください。"
    if errors:
        raise InvalidInput(next(iter(errors.values())), details=errors)
    assert unit is not None
    if not may_edit_unit_record(actor, unit.pk):
        raise PermissionDenied("アンケートを登録できるのは、その課の編集担当です。")
    with transaction.atomic():
        survey = Survey.objects.create(
            title=title,
            description=(description or "").strip(),
            unit=unit,
            is_synthetic=is_synthetic,
            created_by_id=actor.user_id,
        )
        audit_record(actor=actor, action="survey.create", obj=survey, object_repr=title)
    return survey


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # Forms writes Japanese wall-clock time without a zone.
    return None if value is None else (value if value.tzinfo else value.replace(tzinfo=TOKYO))


TOO_LARGE: Final = f"ファイルが大きすぎます（{MAX_BYTES // 1024**2}MBまで）。"
NO_FILE: Final = (
    "ファイルが選ばれていません。Microsoft Forms から書き出した Excel ファイル（.xlsx）を選んでください。"
)


def _no_progress(done: int, total: int | None = None, phase: str | None = None) -> None:
    return None


def _check_label(survey: Survey, label: str) -> str:
    label = (label or "").strip()
    if not label:
        raise InvalidInput("回の名前（例: 2024年度）を入力してください。", details={"label": "必須です。"})
    if len(label) > LABEL_MAX:
        raise InvalidInput(f"回の名前は{LABEL_MAX}文字以内で入力してください。")
    if survey.rounds.filter(label=label).exists():
        raise InvalidInput(f"「{label}」という回はすでにあります。別の名前にしてください。")
    return label


def uploads_dir() -> Path:
    """Where a large export waits for its import job."""
    path = Path(settings.MACHIDATA_HOME) / "uploads" / "surveys"
    path.mkdir(parents=True, exist_ok=True)
    return path


def round_upload(*, actor: Actor, survey: Survey, label: str, upload: Any) -> Round | Job:
    """Import an uploaded export (a Django ``UploadedFile``): at once when small, else as a job.

    Pages and the API call this after their access check and only then touch the file. Up to
    :data:`SYNC_MAX_BYTES` the round is imported now and returned; a larger file (up to
    :data:`MAX_BYTES`) is copied under ``uploads/surveys/`` and a job is returned, whose progress
    shows on the 処理状況 page and whose result links to the question confirmation.
    """
    _require_edit(actor, survey)
    if upload is None:
        raise InvalidInput(NO_FILE, details={"file": "必須です。"})
    size = int(getattr(upload, "size", 0) or 0)
    if size > MAX_BYTES:
        raise InvalidInput(TOO_LARGE)
    filename = str(getattr(upload, "name", "") or "")[:255]
    if size <= SYNC_MAX_BYTES:
        return round_import(actor=actor, survey=survey, label=label, data=upload.read(), filename=filename)
    label = _check_label(survey, label)  # refused now rather than in the job
    path = uploads_dir() / f"{uuid.uuid4().hex}.xlsx"
    with path.open("wb") as fh:
        for chunk in upload.chunks():
            fh.write(chunk)
    try:
        return job_submit(
            kind=JOB_KIND_IMPORT,
            title=f"「{survey.title[:80]}」{label}の取り込み",
            params={"survey_id": survey.pk, "label": label, "path": str(path), "filename": filename},
            actor=actor,
            unit=survey.unit,
            per_user_limit=2,
        )
    except Exception:
        path.unlink(missing_ok=True)
        raise


def round_import(
    *,
    actor: Actor,
    survey: Survey,
    label: str,
    data: bytes,
    filename: str = "",
    fielded_on: dt.date | None = None,
    progress: Progress | None = None,
) -> Round:
    """Import one Forms export as a new round; question types and options are guessed, to be confirmed.

    A question asked in an earlier round (same text) keeps that round's declared type and options as
    its proposal. An export sharing no question with the previous round is refused.
    """
    _require_edit(actor, survey)
    label = _check_label(survey, label)
    if len(data) > MAX_BYTES:
        raise InvalidInput(TOO_LARGE)
    report = progress or _no_progress
    report(0, None, READING)
    export = read_export(data, progress=progress)
    previous = survey.rounds.order_by("-created_at", "-id").prefetch_related("questions").first()
    earlier: dict[str, Question] = {}
    if previous is not None:
        earlier = {q.text: q for q in previous.questions.all()}
        if not set(earlier) & set(export.questions):
            raise InvalidInput(
                f"前の回（{previous.label}）と同じ質問が一つもありません。別の調査のファイルではないか確認してください。"
                "別の調査なら、新しいアンケートとして登録してください。"
            )
    with transaction.atomic():
        round_ = Round.objects.create(
            survey=survey,
            label=label,
            fielded_on=fielded_on,
            source_name=(filename or "")[:255],
            source_sha256=hashlib.sha256(data).hexdigest(),
            respondents=export.respondents,
            created_by_id=actor.user_id,
        )
        questions = []
        for position, text in enumerate(export.questions):
            guess = guess_question([row[position] for row in export.answers])
            before = earlier.get(text)
            questions.append(
                Question(
                    round=round_,
                    position=position,
                    text=text,
                    kind=before.kind if before else guess.kind,
                    guessed_kind=guess.kind,
                    options=list(before.options) if before else guess.options,
                )
            )
        Question.objects.bulk_create(questions)
        rows = list(zip(export.ids, export.started, export.completed, export.answers, strict=True))
        report(0, len(rows), "回答を保存しています")
        for start_at in range(0, len(rows), SAVE_BATCH):
            batch = rows[start_at : start_at + SAVE_BATCH]
            Response.objects.bulk_create(
                [
                    Response(
                        round=round_,
                        response_id=rid,
                        started_at=_aware(start),
                        completed_at=_aware(end),
                        answers=answers,
                    )
                    for rid, start, end, answers in batch
                ]
            )
            report(start_at + len(batch), len(rows))  # raises JobCancelled (rolls back) when cancelled
        added = [t for t in export.questions if earlier and t not in earlier]
        dropped = [t for t in earlier if t not in export.questions]
        audit_record(
            actor=actor,
            action="survey.round_import",
            obj=round_,
            object_repr=str(round_),
            changes={
                "respondents": export.respondents,
                "questions": len(export.questions),
                "added_questions": added,
                "dropped_questions": dropped,
                "sha256": round_.source_sha256,
            },
        )
    return round_


def _options(value: Any) -> list[str]:
    items = value.splitlines() if isinstance(value, str) else [str(v) for v in value or []]
    out: list[str] = []
    for item in (i.strip() for i in items):
        if item and item not in out:
            out.append(item)
    return out


def _check_answers(question: Question, kind: str, options: list[str], cells: Sequence[Any]) -> str | None:
    """A Japanese reason why the declared type/options do not fit the answers (None when they do)."""
    present = [c for c in cells if c is not None]
    name = f"「{question.text[:40]}」"
    if kind in {QuestionKind.SINGLE, QuestionKind.MULTI} and not options:
        return f"{name}の選択肢を入れてください（1行に1つ）。"
    if kind == QuestionKind.NUMBER:
        bad = [str(c) for c in present if read_number(c) is None]
        if bad:
            return (
                f"{name}に数値でない回答があります（例: {bad[0][:30]}）。種類を「数値」以外にしてください。"
            )
    if kind == QuestionKind.SINGLE:
        unknown = sorted({str(c) for c in present if read_single(c, options)[1] is not None})
        if unknown and OTHER not in options:
            shown = "、".join(f"「{u[:30]}」" for u in unknown[:5])
            return (
                f"{name}に選択肢にない回答が{len(unknown)}種類あります: {shown}。選択肢を直すか、"
                f"「{OTHER}」を選択肢に加えてください（選択肢にない回答は「{OTHER}」として数えます）。"
            )
    if kind == QuestionKind.MULTI and present and not any(split_multi(c, options)[0] for c in present):
        return f"{name}の選択肢が回答と一つも合いません。選択肢の書き方（全角・半角など）を確認してください。"
    return None


def round_questions_confirm(
    *, actor: Actor, round_: Round, declarations: Sequence[Mapping[str, Any]]
) -> Round:
    """Declare each question's type and options (after the automatic guess) and confirm the round.

    ``declarations``: one mapping per question with ``position``, ``kind`` and ``options`` (a list, or
    text with one option per line). Questions not mentioned keep what they have.
    """
    _require_edit(actor, round_.survey)
    data = load_round(round_)
    by_position = {q.position: q for q in data.questions}
    errors: dict[str, str] = {}
    changed: list[Question] = []
    for item in declarations:
        try:
            position = int(item.get("position"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InvalidInput("質問の番号が正しくありません。") from None
        q = by_position.get(position)
        if q is None:
            raise InvalidInput(f"{position + 1}番目の質問はこの回にありません。")
        kind = str(item.get("kind") or q.kind)
        if kind not in QuestionKind.values:
            errors[f"q{position}"] = f"「{q.text[:40]}」の種類が正しくありません。"
            continue
        options = _options(item.get("options")) if "options" in item else list(q.options)
        if kind in {QuestionKind.NUMBER, QuestionKind.TEXT}:
            options = []
        q.kind, q.options = kind, options
        changed.append(q)
    for q in data.questions:
        reason = _check_answers(q, q.kind, q.options, data.cells[q.position])
        if reason:
            errors[f"q{q.position}"] = reason
    if errors:
        raise InvalidInput(next(iter(errors.values())), details=errors)
    with transaction.atomic():
        Question.objects.bulk_update(changed, ["kind", "options"])
        round_.status = RoundStatus.CONFIRMED
        round_.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action="survey.questions_confirm",
            obj=round_,
            object_repr=str(round_),
            changes={"questions": {q.position: {"kind": q.kind, "options": q.options} for q in changed}},
        )
    return round_


def question_declare(
    *, actor: Actor, round_: Round, position: int, kind: str | None = None, options: Any = None
) -> Question:
    """Declare one question's type and options without confirming the round (the others stay as they are).

    The answers to that question are checked as the confirmation checks them; a draft round stays a draft
    (confirm it when every question is right), a confirmed round stays confirmed (its tables change at once).
    ``options`` is a list or text with one option per line; ``None`` keeps the options there are.
    """
    _require_edit(actor, round_.survey)
    data = load_round(round_)
    q = next((q for q in data.questions if q.position == position), None)
    if q is None:
        raise InvalidInput(f"{position + 1}番目の質問はこの回にありません。")
    kind = str(kind or q.kind)
    if kind not in QuestionKind.values:
        raise InvalidInput(f"「{q.text[:40]}」の種類が正しくありません。", details={f"q{position}": "種類"})
    chosen = _options(options) if options is not None else list(q.options)
    if kind in {QuestionKind.NUMBER, QuestionKind.TEXT}:
        chosen = []
    reason = _check_answers(q, kind, chosen, data.cells[q.position])
    if reason:
        raise InvalidInput(reason, details={f"q{position}": reason})
    before = {"kind": q.kind, "options": list(q.options)}
    with transaction.atomic():
        Question.objects.filter(pk=q.pk).update(kind=kind, options=chosen)
        audit_record(
            actor=actor,
            action="survey.question_declare",
            obj=round_,
            object_repr=str(round_),
            changes={"position": position, "before": before, "after": {"kind": kind, "options": chosen}},
        )
    return Question.objects.get(pk=q.pk)


def round_targets_set(*, actor: Actor, round_: Round, targets: Mapping[Any, Mapping[str, Any]]) -> Round:
    """Set the known population counts for weighting (one question: post-stratification; more: raking).

    An empty mapping removes the weights. The weights are computed once here, so a target that
    cannot be met is refused now rather than on the tables page.
    """
    _require_edit(actor, round_.survey)
    data = load_round(round_)
    if round_.status != RoundStatus.CONFIRMED:
        raise InvalidInput("質問を確定してから重み付けの目標を入れてください。")
    clean: dict[str, dict[str, float]] = {}
    for key, counts in targets.items():
        try:
            position = int(key)
        except (TypeError, ValueError):
            raise InvalidInput("重み付けに使う質問の番号が正しくありません。") from None
        q = data.question(position)
        if not isinstance(counts, Mapping):
            raise InvalidInput(f"「{q.text[:40]}」の目標は、選択肢ごとの人数で入れてください。")
        if q.kind != QuestionKind.SINGLE:
            raise InvalidInput(f"重み付けに使えるのは単一選択の質問です（「{q.text[:40]}」は違います）。")
        row: dict[str, float] = {}
        for option, value in counts.items():
            if option not in q.options:
                raise InvalidInput(f"「{q.text[:40]}」に選択肢「{option}」はありません。")
            try:
                number = float(str(value).replace(",", ""))
            except ValueError:
                raise InvalidInput(f"「{option}」の人数が数値ではありません。") from None
            if not math.isfinite(number):
                raise InvalidInput(f"「{option}」の人数が数値ではありません。")
            row[option] = number
        clean[str(q.position)] = row
    previous = round_.weight_targets
    round_.weight_targets = clean
    try:
        round_weights(data)  # raises InvalidInput in Japanese when the targets cannot be met
    except InvalidInput:
        round_.weight_targets = previous
        raise
    with transaction.atomic():
        round_.save(update_fields=["weight_targets"])
        audit_record(
            actor=actor,
            action="survey.targets_set",
            obj=round_,
            object_repr=str(round_),
            changes={"before": previous, "after": clean},
        )
    return round_


def round_delete(*, actor: Actor, round_: Round) -> None:
    """Delete a round with its answers."""
    _require_edit(actor, round_.survey)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="survey.round_delete",
            obj=round_,
            object_repr=str(round_),
            changes={"respondents": round_.respondents},
        )
        round_.delete()
