"""Support pages: the consultation desk (staff and the 管理 queue), training, tests, figures."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from machidata.access.models import Unit
from machidata.access.policy import Actor, require_admin
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied
from machidata.support import selectors, services
from machidata.support.forms import (
    AssignForm,
    AttendanceForm,
    AttendanceImportForm,
    CloseForm,
    ConsultationForm,
    CoreStaffForm,
    FiscalYearForm,
    LogForm,
    WithdrawForm,
)
from machidata.support.models import (
    Attendance,
    Consultation,
    ConsultationKind,
    ConsultationStatus,
    CoreStaff,
    Rank,
    Urgency,
)
from machidata.support.selectors_help import CONSULTATION_LINK_KINDS, consultation_links, linkable


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _admin(request: HttpRequest) -> Actor:
    actor = _actor(request)
    try:
        require_admin(actor)
    except NotFound:
        raise Http404 from None
    return actor


def _consultation(request: HttpRequest, pk: int) -> Consultation:
    try:
        return selectors.consultation_get(actor=_actor(request), pk=pk)
    except NotFound:
        raise Http404 from None


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    encoded = query.urlencode()
    return f"{encoded}&" if encoded else ""


def _fy(request: HttpRequest) -> tuple[FiscalYearForm, int]:
    form = FiscalYearForm(request.GET or None)
    fy = form.cleaned_data.get("fy") if form.is_valid() else None
    return form, fy or selectors.current_fiscal_year()


# ---- landing --------------------------------------------------------------------------------------


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """相談・研修: my 課's consultations, my trainings, and where to go next."""
    actor = _actor(request)
    active = selectors.consultation_list(actor=actor, filters=selectors.ConsultationFilters(status="active"))
    attendances, attempts = selectors.my_trainings(actor=actor)
    return render(
        request,
        "support/home.html",
        {
            "active": active[:5],
            "active_count": active.count(),
            "attendances": attendances[:10],
            "attempts": attempts[:10],
        },
    )


# ---- consultation desk ----------------------------------------------------------------------------


@require_GET
@login_required
def consultation_list(request: HttpRequest) -> HttpResponse:
    """My 課's consultations; for 管理 the whole queue, with 絞り込み and paging."""
    actor = _actor(request)
    filters = selectors.ConsultationFilters.from_query(request.GET)
    qs = selectors.consultation_list(actor=actor, filters=filters)
    page = Paginator(qs, settings.MACHIDATA_PAGE_SIZE).get_page(request.GET.get("page"))
    units = Unit.objects.filter(pk__in=Consultation.objects.values("unit_id")).order_by("code")
    return render(
        request,
        "support/consultation_list.html",
        {
            "page_obj": page,
            "consultations": page.object_list,
            "total": page.paginator.count,
            "filters": filters,
            "query_without_page": _query_without_page(request),
            "statuses": [("active", "受付＋対応中"), *ConsultationStatus.choices],
            "kinds": ConsultationKind.choices,
            "urgencies": Urgency.choices,
            "units": units if actor.is_admin else units.filter(pk__in=actor.unit_ids),
            "assignees": selectors.assignee_choices() if actor.is_admin else [],
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def consultation_new(request: HttpRequest) -> HttpResponse:
    """Open a 相談 or 伴走支援 request."""
    actor = _actor(request)
    units = selectors.requester_units(actor=actor)
    form = ConsultationForm(
        request.POST or None,
        units=units,
        datasets=selectors.discoverable_datasets(actor=actor),
        links={kind: linkable(kind, actor=actor) for kind in CONSULTATION_LINK_KINDS},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            c = services.consultation_open(
                actor=actor,
                kind=data["kind"],
                topic=data["topic"],
                description=data["description"],
                urgency=data["urgency"],
                unit_id=data["unit"].pk,
                dataset_ids=[d.pk for d in data["datasets"]],
                links={kind: [o.pk for o in data.get(kind, [])] for kind in CONSULTATION_LINK_KINDS},
            )
        except (InvalidInput, PermissionDenied) as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "相談を受け付けました。データ戦略課から連絡します。")
            return redirect("support:consultation", pk=c.pk)
    return render(request, "support/consultation_form.html", {"form": form, "has_units": units.exists()})


@require_GET
@login_required
def consultation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One consultation: its request, log and outcome; the forms for what the actor may do."""
    actor = _actor(request)
    c = _consultation(request, pk)
    context: dict[str, Any] = {
        "c": c,
        "entries": c.entries.select_related("staff"),
        "datasets": selectors.consultation_datasets(actor=actor, consultation=c),
        "links": consultation_links(actor=actor, consultation=c),
        "can_withdraw": c.is_active,
        "is_admin": actor.is_admin,
    }
    if actor.is_admin:
        context |= {
            "assign_form": AssignForm(
                users=selectors.assignee_choices(), initial={"assignee": c.assignee_id}
            ),
            "log_form": LogForm(),
            "close_form": CloseForm(),
        }
    context["withdraw_form"] = WithdrawForm()
    return render(request, "support/consultation_detail.html", context)


def _act(request: HttpRequest, pk: int, done: str, call: Any) -> HttpResponse:
    """Run one consultation action; its Japanese refusal is shown on the detail page."""
    c = _consultation(request, pk)
    try:
        call(c)
    except (InvalidInput, PermissionDenied) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("support:consultation", pk=pk)


def _form_error(request: HttpRequest, pk: int, form: Any) -> HttpResponse:
    errors = [
        f"{form.fields[k].label if k in form.fields else ''}: {e}" for k, v in form.errors.items() for e in v
    ]
    messages.error(request, "入力内容を確認してください。" + " ".join(errors))
    return redirect("support:consultation", pk=pk)


@require_POST
@login_required
def consultation_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Assign the consultation (管理)."""
    actor = _actor(request)
    form = AssignForm(request.POST, users=selectors.assignee_choices())
    if not form.is_valid():
        _consultation(request, pk)
        return _form_error(request, pk, form)
    return _act(
        request,
        pk,
        "担当者を割り当てました。",
        lambda c: services.consultation_assign(
            actor=actor, consultation=c, assignee_id=form.cleaned_data["assignee"].pk
        ),
    )


@require_POST
@login_required
def consultation_log(request: HttpRequest, pk: int) -> HttpResponse:
    """Record one step of support (管理)."""
    actor = _actor(request)
    form = LogForm(request.POST)
    if not form.is_valid():
        _consultation(request, pk)
        return _form_error(request, pk, form)
    data = form.cleaned_data
    return _act(
        request,
        pk,
        "対応を記録しました。",
        lambda c: services.consultation_log(
            actor=actor, consultation=c, minutes=data["minutes"], note=data["note"], on_date=data["on_date"]
        ),
    )


@require_POST
@login_required
def consultation_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Close the consultation with its outcome (管理)."""
    actor = _actor(request)
    form = CloseForm(request.POST)
    if not form.is_valid():
        _consultation(request, pk)
        return _form_error(request, pk, form)
    outcome = form.cleaned_data["outcome"]
    return _act(
        request,
        pk,
        "相談を完了にしました。",
        lambda c: services.consultation_close(actor=actor, consultation=c, outcome=outcome),
    )


@require_POST
@login_required
def consultation_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdraw the consultation (the requesting 課 or 管理)."""
    actor = _actor(request)
    form = WithdrawForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _act(
        request,
        pk,
        "相談を取り下げました。",
        lambda c: services.consultation_withdraw(actor=actor, consultation=c, reason=reason),
    )


@require_POST
@login_required
def consultation_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    """Reopen a closed consultation (管理)."""
    actor = _actor(request)
    return _act(
        request,
        pk,
        "相談を再開しました。",
        lambda c: services.consultation_reopen(actor=actor, consultation=c),
    )


# ---- training -------------------------------------------------------------------------------------


@require_GET
@login_required
def training(request: HttpRequest) -> HttpResponse:
    """The curriculum by rank: courses, their sessions and how well they were understood."""
    courses = list(selectors.course_list().prefetch_related("sessions"))
    figures = selectors.course_understanding(courses=courses)
    by_rank = [
        (label, [(c, figures[c.pk]) for c in courses if c.rank == value]) for value, label in Rank.choices
    ]
    attendances, attempts = selectors.my_trainings(actor=_actor(request))
    return render(
        request,
        "support/training.html",
        {"by_rank": by_rank, "attendances": attendances, "attempts": attempts},
    )


@require_http_methods(["GET", "POST"])
@login_required
def course_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Take a course's comprehension test; the score is shown and stored."""
    try:
        course = selectors.course_get(pk=pk)
    except NotFound:
        raise Http404 from None
    questions = list(course.questions.prefetch_related("choices"))
    error = ""
    chosen: dict[str, str] = {}
    if request.method == "POST":
        chosen = {str(q.pk): request.POST.get(f"q{q.pk}", "") for q in questions}
        answers = {q: c for q, c in chosen.items() if c.isdigit()}
        try:
            attempt = services.test_submit(actor=_actor(request), course=course, answers=answers)
        except InvalidInput as exc:
            error = exc.message
        else:
            return render(
                request,
                "support/test_result.html",
                {"course": course, "attempt": attempt, "questions": questions, "answers": attempt.answers},
            )
    return render(
        request,
        "support/test_form.html",
        {"course": course, "questions": questions, "error": error, "chosen": chosen},
        status=400 if error else 200,
    )


def _session(pk: int) -> Any:
    try:
        return selectors.session_get(pk=pk)
    except NotFound:
        raise Http404 from None


def _staff_users() -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(is_active=True).order_by("username")


def _divisions() -> Any:
    return Unit.objects.active_on().filter(kind="division").order_by("code")


@require_http_methods(["GET", "POST"])
@login_required
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A session's attendance (管理): record one person, or import a sheet."""
    actor = _admin(request)
    session = _session(pk)
    form = AttendanceForm(
        request.POST if request.POST.get("form") == "record" else None,
        users=_staff_users(),
        units=_divisions(),
    )
    import_form = AttendanceImportForm(
        request.POST if request.POST.get("form") == "import" else None,
        request.FILES if request.POST.get("form") == "import" else None,
    )
    import_errors: list[str] = []
    if request.method == "POST" and request.POST.get("form") == "record" and form.is_valid():
        data = form.cleaned_data
        try:
            a = services.attendance_record(
                actor=actor,
                session=session,
                user_id=data["user"].pk if data["user"] else None,
                staff_name=data["staff_name"],
                unit_id=data["unit"].pk if data["unit"] else None,
                score=data["score"],
                rank=data["rank"],
            )
        except InvalidInput as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"{a.staff_name} さんの受講を記録しました。")
            return redirect("support:session", pk=pk)
    if request.method == "POST" and request.POST.get("form") == "import" and import_form.is_valid():
        upload = import_form.cleaned_data["file"]
        suffix = Path(upload.name).suffix.lower()[:8]
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"sheet{suffix}"
            with path.open("wb") as fh:
                for chunk in upload.chunks():
                    fh.write(chunk)
            try:
                result = services.attendance_import(actor=actor, session=session, path=path)
            except InvalidInput as exc:
                import_form.add_error(None, exc.message)
                import_errors = exc.details if isinstance(exc.details, list) else []
            else:
                messages.success(
                    request,
                    f"{result.created}人の受講を取り込みました（記録済みで省いた行: {result.skipped}）。",
                )
                return redirect("support:session", pk=pk)
    attendances = selectors.session_attendance(session=session)
    return render(
        request,
        "support/session_detail.html",
        {
            "session": session,
            "attendances": attendances,
            "form": form,
            "import_form": import_form,
            "import_errors": import_errors,
        },
        status=400 if form.errors or import_form.errors else 200,
    )


@require_POST
@login_required
def attendance_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove an attendance recorded by mistake (管理)."""
    actor = _admin(request)
    attendance = Attendance.objects.filter(pk=pk).first()
    if attendance is None:
        raise Http404
    session_id = attendance.session_id
    services.attendance_remove(actor=actor, attendance=attendance)
    messages.success(request, "受講の記録を取り消しました。")
    return redirect("support:session", pk=session_id)


@require_GET
@login_required
def coverage(request: HttpRequest) -> HttpResponse:
    """Training coverage per 課 against its headcount, for one 年度."""
    form, fy = _fy(request)
    rows = selectors.coverage(fy=fy)
    return render(
        request,
        "support/coverage.html",
        {"form": form, "fy": fy, "rows": rows, "ranks": selectors.COVERAGE_RANKS},
    )


@require_http_methods(["GET", "POST"])
@login_required
def core_staff(request: HttpRequest) -> HttpResponse:
    """The コア人材 register: whom to ask in each 課; 管理 adds and ends entries."""
    actor = _actor(request)
    form = None
    if actor.is_admin:
        form = CoreStaffForm(request.POST or None, users=_staff_users(), units=_divisions())
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                services.core_staff_add(
                    actor=actor,
                    user_id=data["user"].pk if data["user"] else None,
                    staff_name=data["staff_name"],
                    unit_id=data["unit"].pk if data["unit"] else None,
                    field_name=data["field_name"],
                    since=data["since"],
                    note=data["note"],
                )
            except InvalidInput as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, "コア人材に登録しました。")
                return redirect("support:core")
    elif request.method == "POST":
        raise Http404
    return render(
        request,
        "support/core_staff.html",
        {"entries": selectors.core_staff_list(), "form": form},
        status=400 if form is not None and form.errors else 200,
    )


@require_POST
@login_required
def core_staff_end(request: HttpRequest, pk: int) -> HttpResponse:
    """End a コア人材 registration (管理)."""
    actor = _admin(request)
    entry = CoreStaff.objects.filter(pk=pk).first()
    if entry is None:
        raise Http404
    try:
        services.core_staff_end(actor=actor, entry=entry)
    except InvalidInput as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{entry.staff_name} さんの登録を終了しました。")
    return redirect("support:core")


@require_GET
@login_required
def summary(request: HttpRequest) -> HttpResponse:
    """Monthly counts by 課: consultations, 伴走支援, attendances and mean test scores."""
    form, fy = _fy(request)
    rows = selectors.monthly_summary(fy=fy)
    totals = {
        "questions": sum(r.questions for r in rows),
        "supports": sum(r.supports for r in rows),
        "attendances": sum(r.attendances for r in rows),
    }
    return render(request, "support/summary.html", {"form": form, "fy": fy, "rows": rows, "totals": totals})
