"""Writes of the support room: the consultation desk and training, each one transaction, audited.

Consultations move through a small state machine (:data:`TRANSITIONS`); a move that is not in it is
refused with a Japanese message saying what to do instead. Only 管理 (データ戦略課) assigns, logs,
closes and reopens; the requesting 課 may open and withdraw.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from machidata.access.models import Membership, StaffRank, Unit, UnitKind
from machidata.access.policy import Action, Actor, actor_for, restrict
from machidata.audit.services import audit_record
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied
from machidata.support.models import (
    Attendance,
    AttendanceSource,
    Choice,
    Consultation,
    ConsultationKind,
    ConsultationStatus,
    CoreStaff,
    Course,
    Headcount,
    Session,
    SupportEntry,
    TestAttempt,
    Urgency,
)

S = ConsultationStatus
TOPIC_MAX: Final = 200
MAX_MINUTES: Final = 24 * 60  # one entry is one day's work at most
MAX_IMPORT_ROWS: Final = 2000

# (from, to) → the service that makes the move. Anything else is refused.
TRANSITIONS: Final[dict[tuple[str, str], str]] = {
    (S.OPEN, S.IN_PROGRESS): "assign",
    (S.IN_PROGRESS, S.IN_PROGRESS): "assign",  # hand over to another member of staff
    (S.IN_PROGRESS, S.CLOSED): "close",
    (S.OPEN, S.WITHDRAWN): "withdraw",
    (S.IN_PROGRESS, S.WITHDRAWN): "withdraw",
    (S.CLOSED, S.IN_PROGRESS): "reopen",
}

_REFUSALS: Final[dict[tuple[str, str], str]] = {
    ("assign", S.CLOSED): "完了した相談には担当者を割り当てられません。先に再開してください。",
    ("assign", S.WITHDRAWN): "取り下げられた相談には担当者を割り当てられません。",
    ("close", S.OPEN): "担当者が決まっていない相談は完了できません。先に担当者を割り当ててください。",
    ("close", S.CLOSED): "この相談はすでに完了しています。",
    ("close", S.WITHDRAWN): "取り下げられた相談は完了できません。",
    ("withdraw", S.CLOSED): "完了した相談は取り下げられません。",
    ("withdraw", S.WITHDRAWN): "この相談はすでに取り下げられています。",
    ("reopen", S.OPEN): "受付中の相談は再開の必要がありません。",
    ("reopen", S.IN_PROGRESS): "対応中の相談は再開の必要がありません。",
    ("reopen", S.WITHDRAWN): "取り下げられた相談は再開できません。新しく相談してください。",
}


def _move(consultation: Consultation, to: str, verb: str) -> str:
    """Check the move ``verb`` from the current status to ``to``; returns the old status."""
    current = consultation.status
    if TRANSITIONS.get((current, to)) != verb:
        raise InvalidInput(_REFUSALS.get((verb, current), "この相談の状態では、その操作はできません。"))
    consultation.status = to
    return current


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied("この操作はデータ戦略課（管理）だけが行えます。")


def _require_staff(actor: Actor) -> None:
    if not actor.is_authenticated:
        raise PermissionDenied("ログインしてください。")


def _locked(consultation: Consultation) -> Consultation:
    """The row re-read inside the transaction, so two clicks never both pass the status check."""
    return Consultation.objects.select_for_update().get(pk=consultation.pk)


def division_of(unit: Unit) -> Unit:
    """The 課 a 係 belongs to (a unit that is not a 係 is its own)."""
    node = unit
    for _ in range(8):
        if node.kind != UnitKind.SECTION or node.parent is None:
            break
        node = node.parent
    return node


def home_unit(user_id: int, *, day: dt.date | None = None) -> Unit | None:
    """The 課 of a person's first membership in force (係 rolled up to its 課)."""
    membership = (
        Membership.objects.active_on(day)
        .filter(user_id=user_id)
        .select_related("unit__parent")
        .order_by("valid_from", "id")
        .first()
    )
    return division_of(membership.unit) if membership else None


def rank_of(user_id: int, *, day: dt.date | None = None) -> str:
    """A person's 職位 (管理職・一般職) on ``day``: that of the membership in force then, else of today's."""
    for when in (day, None) if day is not None else (None,):
        rank = (
            Membership.objects.active_on(when)
            .filter(user_id=user_id)
            .order_by("valid_from", "id")
            .values_list("rank", flat=True)
            .first()
        )
        if rank:
            return str(rank)
    return ""


RANK_WORDS: Final = {
    **{label: value for value, label in StaffRank.choices},
    **{value: value for value in StaffRank.values},
    "": "",
}


def _rank(value: Any) -> str:
    """A 職位 as entered (管理職・一般職, manager・general, or empty for unknown)."""
    word = str(value or "").strip()
    if word not in RANK_WORDS:
        raise InvalidInput(f"職位「{word}」は使えません（管理職・一般職のいずれか、または空欄）。")
    return RANK_WORDS[word]


def _text(value: str | None, label: str, *, max_length: int | None = None, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(f"{label}を入力してください。", details={label: f"{label}を入力してください。"})
    if max_length is not None and len(text) > max_length:
        raise InvalidInput(f"{label}は{max_length}文字以内で入力してください。")
    return text


# ---- consultation desk ----------------------------------------------------------------------------


def consultation_open(
    *,
    actor: Actor,
    kind: str,
    topic: str,
    description: str,
    urgency: str = Urgency.NORMAL,
    unit_id: int | None = None,
    dataset_ids: Iterable[int] = (),
    links: Mapping[str, Iterable[int]] | None = None,
) -> Consultation:
    """Open a 相談 or 伴走支援 request for one of the actor's 課 (管理: for any 課).

    ``links`` names related dashboards and 事業 (``{"dashboards": ids, "projects": ids}``), each one the
    actor may see.
    """
    from machidata.catalog.models import Dataset
    from machidata.support.selectors_help import CONSULTATION_LINK_KINDS, resolve_links

    _require_staff(actor)
    if kind not in ConsultationKind.values:
        raise InvalidInput("種別は「相談」か「伴走支援」を選んでください。")
    if urgency not in Urgency.values:
        raise InvalidInput("緊急度を選んでください。")
    topic = _text(topic, "件名", max_length=TOPIC_MAX)
    description = _text(description, "内容", max_length=10_000)
    if unit_id is None:
        unit = home_unit(actor.user_id) if actor.user_id else None
        if unit is None:
            raise InvalidInput("所属が登録されていないため相談できません。所属を選んでください。")
    else:
        if not actor.is_admin and unit_id not in actor.unit_ids:
            raise InvalidInput("相談できるのは自分の所属からだけです。")
        found = Unit.objects.active_on().select_related("parent").filter(pk=unit_id).first()
        if found is None:
            raise InvalidInput("所属が見つかりません。")
        unit = division_of(found)
    wanted = set(dataset_ids)
    datasets = list(restrict(Dataset.objects.filter(pk__in=wanted), actor, Action.DISCOVER))
    if len(datasets) != len(wanted):
        raise InvalidInput("関係するデータに、見つからないもの（または見る権限のないもの）があります。")
    found_links = resolve_links(actor, links, kinds=CONSULTATION_LINK_KINDS)
    with transaction.atomic():
        consultation = Consultation.objects.create(
            kind=kind,
            topic=topic,
            description=description,
            urgency=urgency,
            unit=unit,
            requested_by_id=actor.user_id,
            opened_at=timezone.now(),
        )
        consultation.datasets.set(datasets)
        for link_kind, objects in found_links.items():
            getattr(consultation, link_kind).set(objects)
        audit_record(
            actor=actor,
            action="consultation.open",
            obj=consultation,
            changes={
                "kind": kind,
                "urgency": urgency,
                "unit": unit.code,
                "datasets": sorted(d.slug for d in datasets),
                **{k: sorted(o.pk for o in v) for k, v in found_links.items() if v},
            },
        )
    return consultation


def _admin_user(user_id: int) -> Any:
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not actor_for(user).is_admin:
        raise InvalidInput("担当者にはデータ戦略課（管理）の職員を選んでください。")
    return user


def consultation_assign(*, actor: Actor, consultation: Consultation, assignee_id: int) -> Consultation:
    """Assign (or hand over) a consultation to a member of データ戦略課; it becomes 対応中."""
    _require_admin(actor)
    assignee = _admin_user(assignee_id)
    with transaction.atomic():
        consultation = _locked(consultation)
        before = consultation.assignee_id
        old = _move(consultation, S.IN_PROGRESS, "assign")
        consultation.assignee = assignee
        consultation.save(update_fields=["status", "assignee", "updated_at"])
        audit_record(
            actor=actor,
            action="consultation.assign",
            obj=consultation,
            changes={"status": [old, consultation.status], "assignee": [before, assignee.pk]},
        )
    return consultation


def consultation_log(
    *, actor: Actor, consultation: Consultation, minutes: int, note: str, on_date: dt.date | None = None
) -> SupportEntry:
    """Record one step of support (what was done, minutes spent) on a consultation 対応中."""
    _require_admin(actor)
    note = _text(note, "対応内容", max_length=5000)
    if not isinstance(minutes, int) or minutes <= 0 or minutes > MAX_MINUTES:
        raise InvalidInput(f"対応時間は1～{MAX_MINUTES}分の整数で入力してください。")
    on_date = on_date or timezone.localdate()
    if on_date > timezone.localdate():
        raise InvalidInput("対応日に未来の日付は指定できません。")
    with transaction.atomic():
        consultation = _locked(consultation)
        if consultation.status == S.OPEN:
            raise InvalidInput("担当者を割り当ててから対応を記録してください。")
        if consultation.status != S.IN_PROGRESS:
            raise InvalidInput("対応中の相談にだけ記録できます（完了した相談は再開してから記録します）。")
        if on_date < timezone.localtime(consultation.opened_at).date():
            raise InvalidInput("対応日は受付日より前にできません。")
        entry = SupportEntry.objects.create(
            consultation=consultation, on_date=on_date, minutes=minutes, note=note, staff_id=actor.user_id
        )
        consultation.save(update_fields=["updated_at"])
        audit_record(
            actor=actor,
            action="consultation.log",
            obj=consultation,
            changes={"entry": entry.pk, "minutes": minutes, "on_date": on_date.isoformat()},
        )
    return entry


def consultation_close(*, actor: Actor, consultation: Consultation, outcome: str) -> Consultation:
    """Close a consultation 対応中 with its outcome (結果)."""
    _require_admin(actor)
    outcome = _text(outcome, "結果", max_length=5000)
    with transaction.atomic():
        consultation = _locked(consultation)
        old = _move(consultation, S.CLOSED, "close")
        consultation.outcome = outcome
        consultation.closed_at = timezone.now()
        consultation.save(update_fields=["status", "outcome", "closed_at", "updated_at"])
        audit_record(
            actor=actor,
            action="consultation.close",
            obj=consultation,
            changes={"status": [old, consultation.status]},
        )
    return consultation


def consultation_withdraw(*, actor: Actor, consultation: Consultation, reason: str = "") -> Consultation:
    """The requesting 課 (or 管理) withdraws a consultation that is not finished."""
    _require_staff(actor)
    if not actor.is_admin and consultation.unit_id not in actor.unit_ids:
        raise PermissionDenied("取り下げられるのは相談した所属の職員だけです。")
    reason = _text(reason, "取り下げの理由", max_length=1000, required=False)
    with transaction.atomic():
        consultation = _locked(consultation)
        old = _move(consultation, S.WITHDRAWN, "withdraw")
        consultation.closed_at = timezone.now()
        if reason:
            consultation.outcome = f"取り下げ: {reason}"
        consultation.save(update_fields=["status", "closed_at", "outcome", "updated_at"])
        audit_record(
            actor=actor,
            action="consultation.withdraw",
            obj=consultation,
            changes={"status": [old, consultation.status], "reason": reason},
        )
    return consultation


def consultation_reopen(*, actor: Actor, consultation: Consultation) -> Consultation:
    """Reopen a closed consultation (対応中 again, with its assignee and log kept)."""
    _require_admin(actor)
    with transaction.atomic():
        consultation = _locked(consultation)
        old = _move(consultation, S.IN_PROGRESS, "reopen")
        consultation.closed_at = None
        consultation.save(update_fields=["status", "closed_at", "updated_at"])
        audit_record(
            actor=actor,
            action="consultation.reopen",
            obj=consultation,
            changes={"status": [old, consultation.status]},
        )
    return consultation


# ---- training: attendance -------------------------------------------------------------------------


def _display_name(user: Any) -> str:
    return str(user.get_full_name() or user.get_username())


def _attendance_exists(session: Session, *, user_id: int | None, staff_name: str, unit_id: int) -> bool:
    if user_id is not None:
        return Attendance.objects.filter(session=session, user_id=user_id).exists()
    return Attendance.objects.filter(
        session=session, user__isnull=True, staff_name=staff_name, unit_id=unit_id
    ).exists()


def _score(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = float(str(value).strip().removesuffix("点"))
    except ValueError:
        raise InvalidInput("点数は0～100の数で入力してください。") from None
    if not 0 <= number <= 100:
        raise InvalidInput("点数は0～100の数で入力してください。")
    return round(number)


@dataclass(frozen=True)
class _Person:
    user_id: int | None
    staff_name: str
    unit: Unit
    rank: str = ""


def _person(*, user_id: int | None, staff_name: str, unit_id: int | None) -> _Person:
    """Who attended: an account (its 課 from today's membership unless given) or a name and 課."""
    unit = None
    if unit_id is not None:
        found = Unit.objects.select_related("parent").filter(pk=unit_id).first()
        if found is None:
            raise InvalidInput("所属が見つかりません。")
        unit = division_of(found)
    if user_id is not None:
        user = get_user_model().objects.filter(pk=user_id).first()
        if user is None:
            raise InvalidInput("職員が見つかりません。")
        unit = unit or home_unit(user.pk)
        if unit is None:
            raise InvalidInput(
                f"{_display_name(user)} さんの所属が登録されていません。所属を選んでください。"
            )
        return _Person(user.pk, _display_name(user), unit)
    name = _text(staff_name, "氏名", max_length=100)
    if unit is None:
        raise InvalidInput("所属を選んでください。")
    return _Person(None, name, unit)


def attendance_record(
    *,
    actor: Actor,
    session: Session,
    user_id: int | None = None,
    staff_name: str = "",
    unit_id: int | None = None,
    score: Any = None,
    rank: str = "",
) -> Attendance:
    """Record that a person attended a session (管理): an account, or a name and 課.

    ``rank`` (職位) is taken from the account's membership on the session's day; for a name, as
    given (empty: unknown). A rank given for an account overrides the membership's.
    """
    _require_admin(actor)
    person = _person(user_id=user_id, staff_name=staff_name, unit_id=unit_id)
    given = _rank(rank)
    held = given or (rank_of(person.user_id, day=session.on_date) if person.user_id else "")
    points = _score(score)
    if session.on_date > timezone.localdate():
        raise InvalidInput("まだ開催していない回には受講を記録できません。")
    with transaction.atomic():
        if _attendance_exists(
            session, user_id=person.user_id, staff_name=person.staff_name, unit_id=person.unit.pk
        ):
            raise InvalidInput(f"{person.staff_name} さんの受講はすでに記録されています。")
        attendance = Attendance.objects.create(
            session=session,
            user_id=person.user_id,
            staff_name=person.staff_name,
            unit=person.unit,
            rank=held,
            score=points,
            source=AttendanceSource.RECORDED,
        )
        audit_record(
            actor=actor,
            action="training.attendance",
            obj=attendance,
            changes={"session": session.pk, "unit": person.unit.code, "rank": held, "score": points},
        )
    return attendance


def attendance_remove(*, actor: Actor, attendance: Attendance) -> None:
    """Remove an attendance recorded by mistake (管理)."""
    _require_admin(actor)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="training.attendance_remove",
            obj=attendance,
            changes={"session": attendance.session_id, "unit": attendance.unit.code},
        )
        attendance.delete()


# The columns an attendance sheet may have (first matching header wins); 氏名 and 所属コード are needed.
SHEET_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "name": ("氏名", "名前", "受講者"),
    "unit": ("所属コード", "課コード"),
    "username": ("ユーザー名", "職員ID", "職員番号"),
    "score": ("点数", "理解度", "テスト点数", "得点"),
    "rank": ("職位", "職層", "役職区分"),
}


@dataclass
class ImportResult:
    """What an attendance import did: rows added, rows already recorded (skipped)."""

    created: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def _sheet_rows(path: Path) -> tuple[list[str], list[dict[str, str | None]]]:
    from machidata.ingest.readers.base import ReadOptions, read_source

    source = read_source(path, ReadOptions(max_bytes=10 * 1024 * 1024))
    rows: list[dict[str, str | None]] = []
    for batch in source.batches:
        rows.extend(batch.to_pylist())
        if len(rows) > MAX_IMPORT_ROWS:
            raise InvalidInput(f"受講者名簿は{MAX_IMPORT_ROWS:,}行までにしてください。")
    return source.columns, rows


def _column(columns: list[str], key: str) -> str | None:
    names = {c.strip(): c for c in columns}
    return next((names[n] for n in SHEET_COLUMNS[key] if n in names), None)


def _sheet_person(
    row: dict[str, str | None], cols: dict[str, str | None], units: dict[str, Unit], users: dict[str, Any]
) -> tuple[_Person, int | None]:
    """One row of an attendance sheet as a person and a score; InvalidInput says what is wrong."""

    def cell(key: str) -> str:
        col = cols[key]
        return (row.get(col) or "").strip() if col else ""

    name, username, code = cell("name"), cell("username"), cell("unit")
    rank = _rank(cell("rank"))
    user = users.get(username) if username else None
    if username and user is None:
        raise InvalidInput(f"ユーザー名「{username}」の職員が見つかりません。")
    unit = units.get(code) if code else None
    if code and unit is None:
        raise InvalidInput(f"所属コード「{code}」の所属が見つかりません。")
    if user is not None:
        unit = division_of(unit) if unit else home_unit(user.pk)
        if unit is None:
            raise InvalidInput("所属コードを入力してください。")
        return _Person(user.pk, name or _display_name(user), unit, rank), _score(cell("score"))
    if not name or unit is None:
        raise InvalidInput("氏名と所属コードを入力してください。")
    return _Person(None, name, division_of(unit), rank), _score(cell("score"))


def attendance_import(*, actor: Actor, session: Session, path: Path) -> ImportResult:
    """Import an attendance sheet (CSV/Excel: 氏名, 所属コード, optional ユーザー名, 職位 and 点数) for one session.

    Every row is checked first; one bad row refuses the whole sheet with each problem listed, so
    nothing is half imported. People already recorded are skipped, so importing twice adds nothing.
    """
    _require_admin(actor)
    if session.on_date > timezone.localdate():
        raise InvalidInput("まだ開催していない回には受講を記録できません。")
    columns, rows = _sheet_rows(path)
    cols = {key: _column(columns, key) for key in SHEET_COLUMNS}
    name_col = cols["name"]
    if name_col is None or (cols["unit"] is None and cols["username"] is None):
        raise InvalidInput(
            "受講者名簿に「氏名」と「所属コード」（または「ユーザー名」）の列が必要です。"
            f"見つかった列: {'、'.join(columns)}"
        )
    units = {u.code: u for u in Unit.objects.active_on().select_related("parent")}
    users = {u.get_username(): u for u in get_user_model().objects.filter(is_active=True)}
    people: list[tuple[_Person, int | None]] = []
    errors: list[str] = []
    for line, row in enumerate(rows, start=2):  # the header is line 1
        name = (row.get(name_col) or "").strip()
        if not name and not any((v or "").strip() for v in row.values()):
            continue  # a blank line
        try:
            people.append(_sheet_person(row, cols, units, users))
        except InvalidInput as exc:
            errors.append(f"{line}行目: {exc.message}")
    if errors:
        raise InvalidInput(
            f"受講者名簿に直す必要のある行が{len(errors)}行あります。何も取り込んでいません。", details=errors
        )
    result = ImportResult()
    with transaction.atomic():
        seen: set[str] = set()
        for person, points in people:
            key = f"u{person.user_id}" if person.user_id else f"n{person.unit.pk}:{person.staff_name}"
            if key in seen or _attendance_exists(
                session, user_id=person.user_id, staff_name=person.staff_name, unit_id=person.unit.pk
            ):
                result.skipped += 1
                continue
            seen.add(key)
            Attendance.objects.create(
                session=session,
                user_id=person.user_id,
                staff_name=person.staff_name,
                unit=person.unit,
                rank=person.rank or (rank_of(person.user_id, day=session.on_date) if person.user_id else ""),
                score=points,
                source=AttendanceSource.IMPORTED,
            )
            result.created += 1
        audit_record(
            actor=actor,
            action="training.attendance_import",
            obj=session,
            changes={"file": path.name, "created": result.created, "skipped": result.skipped},
        )
    return result


# ---- training: comprehension tests ----------------------------------------------------------------


def _answer_key(answers: Mapping[Any, Any]) -> dict[int, int]:
    try:
        return {int(q): int(c) for q, c in answers.items()}
    except (TypeError, ValueError):
        raise InvalidInput("解答の形式が正しくありません。") from None


def test_submit(*, actor: Actor, course: Course, answers: Mapping[Any, Any]) -> TestAttempt:
    """Score a comprehension test: every question answered with one of its choices; 100 点 満点."""
    _require_staff(actor)
    user_id = actor.user_id
    assert user_id is not None  # _require_staff
    if not course.is_active:
        raise NotFound("研修が見つかりません。")
    questions = list(course.questions.values_list("pk", flat=True))
    if not questions:
        raise InvalidInput("この研修には理解度テストの問題がまだありません。")
    given = _answer_key(answers)
    unknown = set(given) - set(questions)
    if unknown:
        raise InvalidInput("この研修の問題ではない解答が含まれています。")
    missing = [q for q in questions if q not in given]
    if missing:
        raise InvalidInput(f"答えていない問題が{len(missing)}問あります。すべての問題に答えてください。")
    choices = {c.pk: c for c in Choice.objects.filter(question_id__in=questions, pk__in=given.values())}
    if any(choices.get(c) is None or choices[c].question_id != q for q, c in given.items()):
        raise InvalidInput("選択肢が問題と合っていません。ページを読み込み直してください。")
    correct = sum(1 for c in given.values() if choices[c].is_correct)
    total = len(questions)
    score = round(100 * correct / total)
    with transaction.atomic():
        attempt = TestAttempt.objects.create(
            course=course,
            user_id=user_id,
            unit=home_unit(user_id),
            answers={str(q): c for q, c in given.items()},
            correct=correct,
            total=total,
            score=score,
            passed=score >= course.pass_mark,
            taken_at=timezone.now(),
        )
        audit_record(
            actor=actor,
            action="training.test",
            obj=attempt,
            changes={"course": course.pk, "score": score, "passed": attempt.passed},
        )
    return attempt


test_submit.__test__ = False  # type: ignore[attr-defined]  # a service, not a pytest test


# ---- training: register of コア人材 and headcounts ------------------------------------------------


def core_staff_add(
    *,
    actor: Actor,
    field_name: str,
    since: dt.date,
    user_id: int | None = None,
    staff_name: str = "",
    unit_id: int | None = None,
    note: str = "",
) -> CoreStaff:
    """Add a person to the コア人材 register (管理)."""
    _require_admin(actor)
    person = _person(user_id=user_id, staff_name=staff_name, unit_id=unit_id)
    field_name = _text(field_name, "得意分野", max_length=200)
    with transaction.atomic():
        entry = CoreStaff.objects.create(
            user_id=person.user_id,
            staff_name=person.staff_name,
            unit=person.unit,
            since=since,
            field=field_name,
            note=_text(note, "備考", max_length=300, required=False),
        )
        audit_record(actor=actor, action="training.core_add", obj=entry, changes={"unit": person.unit.code})
    return entry


def core_staff_end(*, actor: Actor, entry: CoreStaff, until: dt.date | None = None) -> CoreStaff:
    """End a コア人材 registration (moved, retired); the entry stays for the record."""
    _require_admin(actor)
    until = until or timezone.localdate()
    if entry.until is not None:
        raise InvalidInput("この登録はすでに終了しています。")
    if until < entry.since:
        raise InvalidInput("登録終了日は登録日より後にしてください。")
    with transaction.atomic():
        entry.until = until
        entry.save(update_fields=["until"])
        audit_record(actor=actor, action="training.core_end", obj=entry, changes={"until": until.isoformat()})
    return entry


def headcount_set(*, actor: Actor, unit_id: int, staff: int, as_of: dt.date | None = None) -> Headcount:
    """Set the number of staff of a 課 (管理), used as the denominator of training coverage."""
    _require_admin(actor)
    if not isinstance(staff, int) or staff < 0 or staff > 100_000:
        raise InvalidInput("職員数は0以上の整数で入力してください。")
    unit = Unit.objects.filter(pk=unit_id).first()
    if unit is None:
        raise InvalidInput("所属が見つかりません。")
    as_of = as_of or timezone.localdate()
    with transaction.atomic():
        before = Headcount.objects.filter(unit=unit).values_list("staff", flat=True).first()
        row, _ = Headcount.objects.update_or_create(unit=unit, defaults={"staff": staff, "as_of": as_of})
        audit_record(
            actor=actor,
            action="training.headcount",
            obj=row,
            changes={"unit": unit.code, "staff": [before, staff]},
        )
    return row
