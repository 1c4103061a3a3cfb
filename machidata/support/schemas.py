"""Input and output shapes of the support API (/api/v1/support/)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from ninja import Field, Schema

from machidata.core.schemas import ErrorOut, Offset  # noqa: F401 — ErrorOut re-exported for this room's routers
from machidata.support.models import Attendance, Consultation, CoreStaff, Course, SupportEntry, TestAttempt
from machidata.support.selectors import CoverageRow, MonthRow, Understanding


class ConsultationListParams(Schema):
    """絞り込み of the consultation list."""

    status: str = Field("", description="open・in_progress・closed・withdrawn、または active（受付＋対応中）")
    kind: str = Field("", description="question・support")
    urgency: str = Field("", description="low・normal・high")
    assignee: str = Field("", description="me・none・担当者の利用者ID")
    unit: int | None = Field(None, description="課のID")
    q: str = Field("", max_length=100, description="件名・内容に含む語")
    limit: int = Field(100, ge=1, le=500)
    offset: Offset = 0


class ConsultationIn(Schema):
    """A new 相談 or 伴走支援 request."""

    kind: str = Field(description="question（相談） または support（伴走支援）")
    topic: str = Field(max_length=200, description="件名")
    description: str = Field(description="内容")
    urgency: str = Field("normal", description="low・normal・high")
    unit_code: str | None = Field(None, description="相談する課の所属コード（省略時は自分の課）")
    datasets: list[str] = Field(default_factory=list, description="関係するデータセットのURL名（slug）")
    dashboards: list[uuid.UUID] = Field(
        default_factory=list, max_length=50, description="関係するダッシュボードのID（uuid）"
    )
    projects: list[int] = Field(default_factory=list, max_length=50, description="関係する事業のID")


class EntryOut(Schema):
    """One step of the support log."""

    id: int
    on_date: dt.date
    minutes: int
    note: str
    staff: str | None

    @staticmethod
    def of(entry: SupportEntry) -> EntryOut:
        """Build from an entry."""
        return EntryOut(
            id=entry.pk,
            on_date=entry.on_date,
            minutes=entry.minutes,
            note=entry.note,
            staff=entry.staff.get_username() if entry.staff else None,
        )


class ConsultationOut(Schema):
    """A consultation as its requesting 課 and 管理 see it."""

    id: int
    kind: str
    kind_label: str
    topic: str
    description: str
    urgency: str
    status: str
    status_label: str
    unit_code: str
    unit_name: str
    requested_by: str | None
    assignee: str | None
    minutes: int = Field(description="対応時間の合計（分）")
    outcome: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    datasets: list[str] = Field(description="関係するデータセット（見る権限のあるもののURL名）")
    dashboards: list[str] = Field(
        default_factory=list, description="関係するダッシュボード（見る権限のあるもののuuid）"
    )
    projects: list[int] = Field(default_factory=list, description="関係する事業のID")
    entries: list[EntryOut] | None = None

    @staticmethod
    def of(
        c: Consultation,
        *,
        datasets: list[str],
        links: dict[str, list[Any]] | None = None,
        entries: list[SupportEntry] | None = None,
    ) -> ConsultationOut:
        """Build from a consultation annotated with ``minutes`` (``links``: what the caller may see)."""
        return ConsultationOut(
            id=c.pk,
            kind=c.kind,
            kind_label=c.get_kind_display(),
            topic=c.topic,
            description=c.description,
            urgency=c.urgency,
            status=c.status,
            status_label=c.get_status_display(),
            unit_code=c.unit.code,
            unit_name=c.unit.name,
            requested_by=c.requested_by.get_username() if c.requested_by else None,
            assignee=c.assignee.get_username() if c.assignee else None,
            minutes=int(getattr(c, "minutes", 0) or 0),
            outcome=c.outcome,
            opened_at=c.opened_at,
            closed_at=c.closed_at,
            datasets=datasets,
            dashboards=[str(d.uuid) for d in (links or {}).get("dashboards", [])],
            projects=[p.pk for p in (links or {}).get("projects", [])],
            entries=[EntryOut.of(e) for e in entries] if entries is not None else None,
        )


class AssignIn(Schema):
    """Who in データ戦略課 takes the consultation."""

    assignee: str = Field(description="担当者のユーザー名")


class EntryIn(Schema):
    """One step of support."""

    minutes: int = Field(description="対応時間（分）")
    note: str = Field(description="対応内容")
    on_date: dt.date | None = Field(None, description="対応日（省略時は今日）")


class CloseIn(Schema):
    """The outcome of a consultation."""

    outcome: str = Field(description="結果")


class ConsultationWithdrawIn(Schema):
    """Why the 課 withdraws."""

    reason: str = ""


class UnderstandingOut(Schema):
    """Per-course understanding: people scored, mean score (点), pass rate (%)."""

    scored: int
    mean: float | None
    pass_rate: float | None

    @staticmethod
    def of(u: Understanding) -> UnderstandingOut:
        """Build from the selector's figures."""
        return UnderstandingOut(scored=u.scored, mean=u.mean, pass_rate=u.pass_rate)


class SessionOut(Schema):
    """One date a course is held."""

    id: int
    on_date: dt.date
    start_time: dt.time | None
    place: str
    online: bool
    capacity: int | None


class CourseOut(Schema):
    """A course of the curriculum."""

    id: int
    title: str
    rank: str
    rank_label: str
    description: str
    pass_mark: int
    questions: int
    sessions: list[SessionOut]
    understanding: UnderstandingOut

    @staticmethod
    def of(course: Course, u: Understanding) -> CourseOut:
        """Build from a course annotated with ``n_questions``."""
        return CourseOut(
            id=course.pk,
            title=course.title,
            rank=course.rank,
            rank_label=course.get_rank_display(),
            description=course.description,
            pass_mark=course.pass_mark,
            questions=int(getattr(course, "n_questions", 0)),
            sessions=[SessionOut.from_orm(s) for s in course.sessions.all()],
            understanding=UnderstandingOut.of(u),
        )


class ChoiceOut(Schema):
    """A choice (without saying whether it is correct)."""

    id: int
    text: str


class TestQuestionOut(Schema):
    """A test question with its choices."""

    id: int
    text: str
    choices: list[ChoiceOut]


class AnswersIn(Schema):
    """Answers to a test: question id → choice id."""

    answers: dict[str, int]


class AttemptOut(Schema):
    """The score of a test taken."""

    id: int
    course: int
    correct: int
    total: int
    score: int
    passed: bool
    taken_at: dt.datetime

    @staticmethod
    def of(t: TestAttempt) -> AttemptOut:
        """Build from an attempt."""
        return AttemptOut(
            id=t.pk,
            course=t.course_id,
            correct=t.correct,
            total=t.total,
            score=t.score,
            passed=t.passed,
            taken_at=t.taken_at,
        )


class AttendanceIn(Schema):
    """A person who attended: a machidata account, or a name and 所属コード."""

    username: str | None = None
    staff_name: str = ""
    unit_code: str | None = None
    score: int | None = Field(None, ge=0, le=100)
    rank: Literal["", "manager", "general"] = Field(
        "",
        description="職位（manager: 管理職、general: 一般職）。空なら利用者の所属の職位、名前だけの人は記録なし",
    )


class AttendanceOut(Schema):
    """An attendance."""

    id: int
    staff_name: str
    username: str | None
    unit_code: str
    unit_name: str
    score: int | None
    source: str
    rank: str = Field(description="職位（manager・general、空は記録なし）")

    @staticmethod
    def of(a: Attendance) -> AttendanceOut:
        """Build from an attendance."""
        return AttendanceOut(
            id=a.pk,
            staff_name=a.staff_name,
            username=a.user.get_username() if a.user else None,
            unit_code=a.unit.code,
            unit_name=a.unit.name,
            score=a.score,
            source=a.source,
            rank=a.rank,
        )


class CoverageOut(Schema):
    """Training coverage of one 課."""

    unit_code: str
    unit_name: str
    headcount: int
    headcount_source: str = Field(
        description="entered（入力した職員数） または accounts（まちデータの利用者数）"
    )
    trained: int
    by_rank: dict[str, int] = Field(
        description="受講した職員を職位で数えた人数: manager（管理職）、general（一般職）、"
        "core（うちコア人材の名簿に載る人）、unknown（職位の記録なし）"
    )
    coverage: float | None = Field(description="受講した職員の割合（%）")

    @staticmethod
    def of(r: CoverageRow) -> CoverageOut:
        """Build from a coverage row."""
        return CoverageOut(
            unit_code=r.unit.code,
            unit_name=r.unit.name,
            headcount=r.headcount,
            headcount_source=r.headcount_source,
            trained=r.trained,
            by_rank=r.by_rank,
            coverage=r.coverage,
        )


class MonthOut(Schema):
    """Counts of one month and 課."""

    month: str
    unit: str
    questions: int
    supports: int
    attendances: int
    scored: int
    mean_score: float | None

    @staticmethod
    def of(r: MonthRow) -> MonthOut:
        """Build from a summary row."""
        return MonthOut(
            month=r.month,
            unit=r.unit,
            questions=r.questions,
            supports=r.supports,
            attendances=r.attendances,
            scored=len(r.scores),
            mean_score=r.mean_score,
        )


class CoreStaffOut(Schema):
    """An entry of the コア人材 register."""

    staff_name: str
    unit_code: str
    unit_name: str
    field: str
    since: dt.date

    @staticmethod
    def of(e: CoreStaff) -> CoreStaffOut:
        """Build from a register entry."""
        return CoreStaffOut(
            staff_name=e.staff_name,
            unit_code=e.unit.code,
            unit_name=e.unit.name,
            field=e.field,
            since=e.since,
        )
