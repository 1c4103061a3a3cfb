"""Reads of the support room, filtered by the access policy.

Consultations are seen by the requesting 課 (its 係 included) and 管理 only
(:func:`machidata.access.policy.restrict_unit_owned`); hidden and missing both answer NotFound.
The curriculum, the コア人材 register and the aggregate figures are for every member of staff.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from machidata.access.models import Membership, Role, Unit
from machidata.access.policy import Action, Actor, restrict, restrict_unit_owned
from machidata.core.errors import NotFound
from machidata.jp.fiscal import fiscal_year, fiscal_year_range
from machidata.support.models import (
    Attendance,
    Consultation,
    ConsultationKind,
    ConsultationStatus,
    CoreStaff,
    Course,
    Headcount,
    Session,
    TestAttempt,
    Urgency,
)
from machidata.support.services import division_of

# ---- consultation desk ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsultationFilters:
    """The queue's 絞り込み: status, kind, urgency, 課, assignee ("me", "none" or a user id), text."""

    status: str = ""
    kind: str = ""
    urgency: str = ""
    unit: int | None = None
    assignee: str = ""
    q: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, Any]) -> ConsultationFilters:
        """Read the filters from a query string, ignoring values that are not allowed."""

        def pick(name: str, allowed: Iterable[str]) -> str:
            value = str(query.get(name) or "")
            return value if value in set(allowed) else ""

        unit = str(query.get("unit") or "")
        assignee = str(query.get("assignee") or "")
        return cls(
            status=pick("status", [*ConsultationStatus.values, "active"]),
            kind=pick("kind", ConsultationKind.values),
            urgency=pick("urgency", Urgency.values),
            unit=int(unit) if unit.isdigit() else None,
            assignee=assignee if assignee in {"me", "none"} or assignee.isdigit() else "",
            q=str(query.get("q") or "").strip()[:100],
        )


def restrict_consultations(queryset: QuerySet[Consultation], actor: Actor) -> QuerySet[Consultation]:
    """Keep the consultations ``actor`` may see: their 課's, or all for 管理."""
    return restrict_unit_owned(queryset, actor, unit_field="unit")


def consultation_list(*, actor: Actor, filters: ConsultationFilters | None = None) -> QuerySet[Consultation]:
    """The consultations ``actor`` may see, filtered, with minutes spent; urgent and oldest open first."""
    f = filters or ConsultationFilters()
    qs = restrict_consultations(
        Consultation.objects.select_related("unit", "assignee", "requested_by"), actor
    ).annotate(minutes=Coalesce(Sum("entries__minutes"), 0))
    if f.status == "active":
        qs = qs.filter(status__in=[ConsultationStatus.OPEN, ConsultationStatus.IN_PROGRESS])
    elif f.status:
        qs = qs.filter(status=f.status)
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.urgency:
        qs = qs.filter(urgency=f.urgency)
    if f.unit is not None:
        qs = qs.filter(unit_id=f.unit)
    if f.assignee == "me":
        qs = qs.filter(assignee_id=actor.user_id)
    elif f.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif f.assignee:
        qs = qs.filter(assignee_id=int(f.assignee))
    if f.q:
        qs = qs.filter(Q(topic__icontains=f.q) | Q(description__icontains=f.q))
    return qs.order_by("-opened_at", "-id")


def consultation_get(*, actor: Actor, pk: int) -> Consultation:
    """One consultation ``actor`` may see; missing and hidden both raise NotFound."""
    found = (
        restrict_consultations(Consultation.objects.select_related("unit", "assignee", "requested_by"), actor)
        .annotate(minutes=Coalesce(Sum("entries__minutes"), 0))
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound("相談が見つかりません。")
    return found


def consultation_datasets(*, actor: Actor, consultation: Consultation) -> QuerySet[Any]:
    """The related datasets that ``actor`` may discover (others stay unnamed)."""
    return restrict(consultation.datasets.select_related("owner"), actor, Action.DISCOVER).order_by("title")


def discoverable_datasets(*, actor: Actor) -> QuerySet[Any]:
    """Datasets ``actor`` may name in a consultation (those they may discover, not retired)."""
    from machidata.catalog.models import Dataset

    return restrict(Dataset.objects.filter(retired_at__isnull=True), actor, Action.DISCOVER).order_by("title")


def assignee_choices() -> QuerySet[Any]:
    """Active members of staff who hold 管理 (データ戦略課) today, or are superusers."""
    admins = Membership.objects.active_on().filter(role=Role.ADMIN).values("user_id")
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(pk__in=admins) | Q(is_superuser=True))
        .order_by("username")
    )


def requester_units(*, actor: Actor) -> QuerySet[Unit]:
    """The 課 ``actor`` may open a consultation for (管理: every 課 in force)."""
    units = Unit.objects.active_on().filter(kind="division")
    if actor.is_admin:
        return units.order_by("code")
    return units.filter(pk__in=actor.unit_ids).order_by("code")


# ---- training -------------------------------------------------------------------------------------


def course_list(*, active_only: bool = True) -> QuerySet[Course]:
    """The curriculum, by rank and order, with the number of questions and sessions."""
    qs = Course.objects.annotate(
        n_questions=Count("questions", distinct=True), n_sessions=Count("sessions", distinct=True)
    )
    if active_only:
        qs = qs.filter(is_active=True)
    return qs.order_by("rank", "order", "id")


def course_get(*, pk: int) -> Course:
    """One active course; NotFound otherwise."""
    course = Course.objects.filter(pk=pk, is_active=True).first()
    if course is None:
        raise NotFound("研修が見つかりません。")
    return course


def session_get(*, pk: int) -> Session:
    """One session; NotFound otherwise."""
    session = Session.objects.select_related("course").filter(pk=pk).first()
    if session is None:
        raise NotFound("研修の開催回が見つかりません。")
    return session


def session_attendance(*, session: Session) -> QuerySet[Attendance]:
    """Who attended one session (pages showing it are for 管理)."""
    return session.attendances.select_related("unit", "user").order_by("unit__code", "staff_name")


@dataclass(frozen=True)
class Understanding:
    """How well a course was understood: scored people, mean score (点) and pass rate (%)."""

    scored: int
    mean: float | None
    pass_rate: float | None


def _scores(course_ids: Iterable[int]) -> dict[int, list[int]]:
    """Scores per course: each person's first test in machidata, plus scores imported with attendance.

    The first attempt is counted because the KPI asks what participants understood from the course;
    retakes after seeing the explanations would measure something else.
    """
    ids = list(course_ids)
    out: dict[int, list[int]] = defaultdict(list)
    seen: set[tuple[int, int]] = set()
    for course_id, user_id, score in (
        TestAttempt.objects.filter(course_id__in=ids)
        .order_by("taken_at", "id")
        .values_list("course_id", "user_id", "score")
    ):
        if (course_id, user_id) not in seen:
            seen.add((course_id, user_id))
            out[course_id].append(score)
    for course_id, sheet_user, sheet_score in Attendance.objects.filter(
        session__course_id__in=ids, score__isnull=False
    ).values_list("session__course_id", "user_id", "score"):
        if sheet_score is None:
            continue
        if (
            sheet_user is None or (course_id, sheet_user) not in seen
        ):  # a test in machidata wins over the sheet
            out[course_id].append(sheet_score)
    return out


def understanding(scores: list[int], pass_mark: int) -> Understanding:
    """Mean score and pass rate of a list of scores (None when nobody was scored)."""
    if not scores:
        return Understanding(0, None, None)
    passed = sum(1 for s in scores if s >= pass_mark)
    return Understanding(
        len(scores), round(statistics.fmean(scores), 1), round(100 * passed / len(scores), 1)
    )


def course_understanding(*, courses: Iterable[Course]) -> dict[int, Understanding]:
    """Per-course understanding (feeds the KPI 研修受講者の理解度)."""
    courses = list(courses)
    scores = _scores(c.pk for c in courses)
    return {c.pk: understanding(scores.get(c.pk, []), c.pass_mark) for c in courses}


def my_trainings(*, actor: Actor) -> tuple[QuerySet[Attendance], QuerySet[TestAttempt]]:
    """The actor's own attendances and test results."""
    if actor.user_id is None:
        return Attendance.objects.none(), TestAttempt.objects.none()
    attendances = Attendance.objects.filter(user_id=actor.user_id).select_related("session__course")
    attempts = TestAttempt.objects.filter(user_id=actor.user_id).select_related("course")
    return attendances.order_by("-session__on_date"), attempts.order_by("-taken_at")


def core_staff_list(*, include_ended: bool = False) -> QuerySet[CoreStaff]:
    """The コア人材 register (in force today unless ``include_ended``)."""
    qs = CoreStaff.objects.select_related("unit", "unit__parent")
    if not include_ended:
        today = timezone.localdate()
        qs = qs.filter(Q(until__isnull=True) | Q(until__gte=today))
    return qs.order_by("unit__code", "staff_name")


# The columns of coverage by rank: the attendee's 職位 (Attendance.rank), whether they are on the
# コア人材 register (a register, not a 職位: a コア人材 is also counted under their 職位), and unknown.
COVERAGE_RANKS: Final = (
    ("manager", "管理職"),
    ("general", "一般職"),
    ("core", "うちコア人材"),
    ("unknown", "職位の記録なし"),
)


@dataclass
class CoverageRow:
    """One 課: its headcount (and where it came from), people trained by their rank and in all."""

    unit: Unit
    headcount: int
    headcount_source: str  # "entered" (職員数 entered by 管理) or "accounts" (active members in machidata)
    by_rank: dict[str, int] = field(default_factory=dict)
    trained: int = 0

    @property
    def coverage(self) -> float | None:
        """Share of the 課's staff who attended at least one course (%)."""
        return round(100 * self.trained / self.headcount, 1) if self.headcount else None


def _member_counts(day: dt.date) -> dict[int, int]:
    """Active accounts per 課 (係 rolled up), the fallback headcount."""
    counts: dict[int, set[int]] = defaultdict(set)
    for m in Membership.objects.active_on(day).filter(user__is_active=True).select_related("unit__parent"):
        counts[division_of(m.unit).pk].add(m.user_id)
    return {k: len(v) for k, v in counts.items()}


def coverage(*, fy: int | None = None) -> list[CoverageRow]:
    """Training coverage per 課 for fiscal year ``fy`` (None: every year so far).

    The denominator is the 職員数 データ戦略課 entered for the 課; where none is entered it falls back
    to the 課's active machidata accounts — which undercounts staff who never sign in, so the page says
    which was used.
    """
    attendances = Attendance.objects.all()
    if fy is not None:
        start, end = fiscal_year_range(fy)
        attendances = attendances.filter(session__on_date__range=(start, end))
    core = {
        f"u{c.user_id}" if c.user_id else f"n{c.unit_id}:{c.staff_name}"
        for c in CoreStaff.objects.only("user_id", "unit_id", "staff_name")
    }
    people: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for a in attendances.only("user_id", "staff_name", "unit_id", "rank"):
        key = a.person_key
        people[a.unit_id][a.rank or "unknown"].add(key)
        if key in core:
            people[a.unit_id]["core"].add(key)
    entered = {h.unit_id: h.staff for h in Headcount.objects.all()}
    members = _member_counts(timezone.localdate())
    unit_ids = set(people) | set(entered)
    rows = []
    for unit in Unit.objects.filter(pk__in=unit_ids).select_related("parent").order_by("code"):
        ranks = people.get(unit.pk, {})
        if unit.pk in entered:
            headcount, source = entered[unit.pk], "entered"
        else:
            headcount, source = members.get(unit.pk, 0), "accounts"
        everyone: set[str] = set().union(*ranks.values()) if ranks else set()
        rows.append(
            CoverageRow(
                unit=unit,
                headcount=headcount,
                headcount_source=source,
                by_rank={key: len(ranks.get(key, set())) for key, _ in COVERAGE_RANKS},
                trained=len(everyone),
            )
        )
    return rows


# ---- monthly summary ------------------------------------------------------------------------------


@dataclass
class MonthRow:
    """One month and 課: consultations (相談 / 伴走支援), attendances, scored tests and their mean."""

    month: str  # YYYY-MM
    unit: str
    questions: int = 0
    supports: int = 0
    attendances: int = 0
    scores: list[int] = field(default_factory=list)

    @property
    def mean_score(self) -> float | None:
        """Mean test score of the month (点)."""
        return round(statistics.fmean(self.scores), 1) if self.scores else None


def current_fiscal_year() -> int:
    """This fiscal year (年度) in Japan."""
    return fiscal_year(timezone.localdate())


def monthly_summary(*, fy: int) -> list[MonthRow]:
    """Counts by month and 課 for fiscal year ``fy`` (aggregates: no topics or names)."""
    start, end = fiscal_year_range(fy)
    rows: dict[tuple[str, str], MonthRow] = {}

    def row(day: dt.date, unit: Unit | None) -> MonthRow:
        key = (f"{day:%Y-%m}", unit.name if unit else "（所属なし）")
        if key not in rows:
            rows[key] = MonthRow(*key)
        return rows[key]

    for c in Consultation.objects.select_related("unit").filter(
        opened_at__date__gte=start - dt.timedelta(days=1), opened_at__date__lte=end + dt.timedelta(days=1)
    ):
        day = timezone.localtime(c.opened_at).date()
        if start <= day <= end:
            r = row(day, c.unit)
            if c.kind == ConsultationKind.SUPPORT:
                r.supports += 1
            else:
                r.questions += 1
    for a in Attendance.objects.select_related("unit", "session").filter(
        session__on_date__range=(start, end)
    ):
        r = row(a.session.on_date, a.unit)
        r.attendances += 1
        if a.score is not None:
            r.scores.append(a.score)
    for t in TestAttempt.objects.select_related("unit").filter(
        taken_at__date__gte=start - dt.timedelta(days=1), taken_at__date__lte=end + dt.timedelta(days=1)
    ):
        day = timezone.localtime(t.taken_at).date()
        if start <= day <= end:
            row(day, t.unit).scores.append(t.score)
    return [rows[k] for k in sorted(rows)]


def user_by_username(username: str) -> Any:
    """An active member of staff by user name (None when there is none)."""
    return get_user_model().objects.filter(username=username, is_active=True).first()
