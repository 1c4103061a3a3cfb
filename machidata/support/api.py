"""The support API (/api/v1/support/): consultations, courses and tests, attendance, figures."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Status

from machidata.access.auth import api_staff
from machidata.access.policy import Actor, require_admin
from machidata.core.errors import InvalidInput
from machidata.core.schemas import FiscalYear
from machidata.support import selectors, services
from machidata.support.schemas import (
    AnswersIn,
    AssignIn,
    AttemptOut,
    AttendanceIn,
    AttendanceOut,
    ChoiceOut,
    CloseIn,
    ConsultationIn,
    ConsultationListParams,
    ConsultationOut,
    ConsultationWithdrawIn,
    CoreStaffOut,
    CourseOut,
    CoverageOut,
    EntryIn,
    EntryOut,
    ErrorOut,
    MonthOut,
    TestQuestionOut,
)
from machidata.support.selectors_help import consultation_links, dashboard_ids

router = Router(tags=["support"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}


def _out(actor: Actor, pk: int, *, entries: bool = True) -> ConsultationOut:
    c = selectors.consultation_get(actor=actor, pk=pk)
    slugs = [d.slug for d in selectors.consultation_datasets(actor=actor, consultation=c)]
    return ConsultationOut.of(
        c,
        datasets=slugs,
        links=consultation_links(actor=actor, consultation=c),
        entries=list(c.entries.select_related("staff")) if entries else None,
    )


@router.get("/consultations", response={200: list[ConsultationOut], 401: ErrorOut}, summary="相談の一覧")
def consultation_list(request: HttpRequest, params: Query[ConsultationListParams]) -> list[ConsultationOut]:
    """Consultations of the caller's 課 (管理: all), newest first; status may be ``active``."""
    actor = api_staff(request)
    filters = selectors.ConsultationFilters.from_query(params.dict())
    rows = selectors.consultation_list(actor=actor, filters=filters)[
        params.offset : params.offset + params.limit
    ]
    return [
        ConsultationOut.of(
            c,
            datasets=[d.slug for d in selectors.consultation_datasets(actor=actor, consultation=c)],
            links=consultation_links(actor=actor, consultation=c),
        )
        for c in rows
    ]


@router.post("/consultations", response={201: ConsultationOut, **ERRORS}, summary="相談・伴走支援の申込み")
def consultation_open(request: HttpRequest, payload: ConsultationIn) -> Status[ConsultationOut]:
    """Open a 相談 or 伴走支援 request for the caller's 課."""
    actor = api_staff(request)
    unit_id = None
    if payload.unit_code:
        unit = selectors.requester_units(actor=actor).filter(code=payload.unit_code).first()
        if unit is None:
            raise InvalidInput(f"所属コード「{payload.unit_code}」の課から相談することはできません。")
        unit_id = unit.pk
    wanted = set(payload.datasets)
    found = dict(
        selectors.discoverable_datasets(actor=actor).filter(slug__in=wanted).values_list("slug", "pk")
    )
    if len(found) != len(wanted):
        missing = "、".join(sorted(wanted - set(found)))
        raise InvalidInput(f"関係するデータが見つかりません: {missing}")
    c = services.consultation_open(
        actor=actor,
        kind=payload.kind,
        topic=payload.topic,
        description=payload.description,
        urgency=payload.urgency,
        unit_id=unit_id,
        dataset_ids=found.values(),
        links={
            "dashboards": dashboard_ids(actor=actor, uuids=payload.dashboards),
            "projects": payload.projects,
        },
    )
    return Status(201, _out(actor, c.pk))


@router.get("/consultations/{pk}", response={200: ConsultationOut, **ERRORS}, summary="相談")
def consultation_detail(request: HttpRequest, pk: int) -> ConsultationOut:
    """One consultation with its support log."""
    return _out(api_staff(request), pk)


@router.post(
    "/consultations/{pk}/assign", response={200: ConsultationOut, **ERRORS}, summary="担当者の割当て"
)
def consultation_assign(request: HttpRequest, pk: int, payload: AssignIn) -> ConsultationOut:
    """Assign (or hand over) the consultation to a member of データ戦略課 (管理)."""
    actor = api_staff(request)
    c = selectors.consultation_get(actor=actor, pk=pk)
    user = selectors.assignee_choices().filter(username=payload.assignee).first()
    if user is None:
        raise InvalidInput("担当者にはデータ戦略課（管理）の職員を選んでください。")
    services.consultation_assign(actor=actor, consultation=c, assignee_id=user.pk)
    return _out(actor, pk)


@router.post("/consultations/{pk}/entries", response={201: EntryOut, **ERRORS}, summary="対応の記録")
def consultation_log(request: HttpRequest, pk: int, payload: EntryIn) -> Status[EntryOut]:
    """Record one step of support with the minutes spent (管理)."""
    actor = api_staff(request)
    c = selectors.consultation_get(actor=actor, pk=pk)
    entry = services.consultation_log(
        actor=actor, consultation=c, minutes=payload.minutes, note=payload.note, on_date=payload.on_date
    )
    return Status(201, EntryOut.of(entry))


@router.post("/consultations/{pk}/close", response={200: ConsultationOut, **ERRORS}, summary="相談の完了")
def consultation_close(request: HttpRequest, pk: int, payload: CloseIn) -> ConsultationOut:
    """Close the consultation with its outcome (管理)."""
    actor = api_staff(request)
    services.consultation_close(
        actor=actor, consultation=selectors.consultation_get(actor=actor, pk=pk), outcome=payload.outcome
    )
    return _out(actor, pk)


@router.post(
    "/consultations/{pk}/withdraw", response={200: ConsultationOut, **ERRORS}, summary="相談の取り下げ"
)
def consultation_withdraw(request: HttpRequest, pk: int, payload: ConsultationWithdrawIn) -> ConsultationOut:
    """Withdraw the consultation (the requesting 課 or 管理)."""
    actor = api_staff(request)
    services.consultation_withdraw(
        actor=actor, consultation=selectors.consultation_get(actor=actor, pk=pk), reason=payload.reason
    )
    return _out(actor, pk)


@router.post("/consultations/{pk}/reopen", response={200: ConsultationOut, **ERRORS}, summary="相談の再開")
def consultation_reopen(request: HttpRequest, pk: int) -> ConsultationOut:
    """Reopen a closed consultation (管理)."""
    actor = api_staff(request)
    services.consultation_reopen(actor=actor, consultation=selectors.consultation_get(actor=actor, pk=pk))
    return _out(actor, pk)


@router.get("/courses", response={200: list[CourseOut], 401: ErrorOut}, summary="研修の一覧")
def course_list(request: HttpRequest) -> list[CourseOut]:
    """The curriculum by rank, with sessions and per-course understanding."""
    api_staff(request)
    courses = list(selectors.course_list().prefetch_related("sessions"))
    figures = selectors.course_understanding(courses=courses)
    return [CourseOut.of(c, figures[c.pk]) for c in courses]


@router.get(
    "/courses/{pk}/test", response={200: list[TestQuestionOut], **ERRORS}, summary="理解度テストの問題"
)
def course_test(request: HttpRequest, pk: int) -> list[TestQuestionOut]:
    """The questions and choices of a course's test (which choice is correct is not shown)."""
    api_staff(request)
    course = selectors.course_get(pk=pk)
    return [
        TestQuestionOut(
            id=q.pk, text=q.text, choices=[ChoiceOut(id=ch.pk, text=ch.text) for ch in q.choices.all()]
        )
        for q in course.questions.prefetch_related("choices")
    ]


@router.post("/courses/{pk}/attempts", response={201: AttemptOut, **ERRORS}, summary="理解度テストの解答")
def course_attempt(request: HttpRequest, pk: int, payload: AnswersIn) -> Status[AttemptOut]:
    """Submit answers; the response carries the score (100点満点)."""
    actor = api_staff(request)
    attempt = services.test_submit(actor=actor, course=selectors.course_get(pk=pk), answers=payload.answers)
    return Status(201, AttemptOut.of(attempt))


@router.get(
    "/sessions/{pk}/attendance", response={200: list[AttendanceOut], **ERRORS}, summary="受講者の一覧"
)
def session_attendance(request: HttpRequest, pk: int) -> list[AttendanceOut]:
    """Who attended a session (管理)."""
    actor = api_staff(request)
    require_admin(actor)
    return [AttendanceOut.of(a) for a in selectors.session_attendance(session=selectors.session_get(pk=pk))]


@router.post("/sessions/{pk}/attendance", response={201: AttendanceOut, **ERRORS}, summary="受講の記録")
def attendance_record(request: HttpRequest, pk: int, payload: AttendanceIn) -> Status[AttendanceOut]:
    """Record an attendance (管理): ``username``, or ``staff_name`` and ``unit_code``."""
    actor = api_staff(request)
    require_admin(actor)
    session = selectors.session_get(pk=pk)
    user_id = unit_id = None
    if payload.username:
        user = selectors.user_by_username(payload.username)
        if user is None:
            raise InvalidInput(f"ユーザー名「{payload.username}」の職員が見つかりません。")
        user_id = user.pk
    if payload.unit_code:
        unit = selectors.requester_units(actor=actor).filter(code=payload.unit_code).first()
        if unit is None:
            raise InvalidInput(f"所属コード「{payload.unit_code}」の課が見つかりません。")
        unit_id = unit.pk
    a = services.attendance_record(
        actor=actor,
        session=session,
        user_id=user_id,
        staff_name=payload.staff_name,
        unit_id=unit_id,
        score=payload.score,
        rank=payload.rank,
    )
    return Status(201, AttendanceOut.of(a))


@router.get("/coverage", response={200: list[CoverageOut], 401: ErrorOut}, summary="研修の受講率（課ごと）")
def coverage(request: HttpRequest, fy: FiscalYear | None = None) -> list[CoverageOut]:
    """Staff trained per 課 against its headcount, for fiscal year ``fy`` (default: every year)."""
    api_staff(request)
    return [CoverageOut.of(r) for r in selectors.coverage(fy=fy)]


@router.get("/summary", response={200: list[MonthOut], 401: ErrorOut}, summary="月別・課別の件数")
def summary(request: HttpRequest, fy: FiscalYear | None = None) -> list[MonthOut]:
    """Consultations, 伴走支援, attendances and mean scores by month and 課 for fiscal year ``fy``."""
    api_staff(request)
    return [MonthOut.of(r) for r in selectors.monthly_summary(fy=fy or selectors.current_fiscal_year())]


@router.get("/core-staff", response={200: list[CoreStaffOut], 401: ErrorOut}, summary="コア人材の名簿")
def core_staff(request: HttpRequest) -> list[CoreStaffOut]:
    """The コア人材 in force: whom to ask in each 課."""
    api_staff(request)
    return [CoreStaffOut.of(e) for e in selectors.core_staff_list()]


# Guides, Q&A, forum, FAQ and the case library live in api_help to keep this file small.
from machidata.support.api_help import router as help_router  # noqa: E402 - mounted after the routes above

router.add_router("", help_router)

# Usage and adoption figures by 局 live in api_usage.
from machidata.support.api_usage import router as usage_router  # noqa: E402 - mounted after the routes above

router.add_router("", usage_router)
