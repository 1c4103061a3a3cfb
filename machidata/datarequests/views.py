"""Data request pages: the list, the request form, one request with its timeline, and the step forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from machidata.access.policy import Actor
from machidata.core.errors import Conflict, InvalidInput, PermissionDenied
from machidata.datarequests import services
from machidata.datarequests.forms import (
    AnswerForm,
    CommentForm,
    ListFilterForm,
    RequestForm,
    RouteForm,
    WithdrawForm,
)
from machidata.datarequests.models import DataRequest, RequestStatus
from machidata.datarequests.selectors import (
    ANSWER,
    COMMENT,
    ROUTE,
    SCOPES,
    WITHDRAW,
    answer_dataset_visible,
    data_request_get,
    data_request_list,
    data_request_timeline,
    request_roles,
)


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _scopes(actor: Actor) -> list[tuple[str, str]]:
    keys = ["mine"] + (["department"] if actor.unit_ids else []) + (["all"] if actor.is_admin else [])
    return [(k, SCOPES[k]) for k in keys]


def _form_errors(form: forms.Form, exc: InvalidInput) -> None:
    """Put a service's field errors on the form's fields (the rest at the top)."""
    details = exc.details if isinstance(exc.details, dict) else {}
    placed = False
    for field, msg in details.items():
        if field in form.fields:
            form.add_error(field, str(msg))
            placed = True
    if not placed:
        form.add_error(None, exc.message)


@require_GET
@login_required
def request_list_view(request: HttpRequest) -> HttpResponse:
    """Requests the actor may see: mine, routed to my 課, or all (管理), with a status filter and pages."""
    actor = _actor(request)
    scopes = _scopes(actor)
    filters = ListFilterForm(request.GET)
    filters.fields["scope"].choices = scopes  # type: ignore[attr-defined]
    valid = filters.is_valid()
    default = "all" if actor.is_admin else "mine"
    scope = (filters.cleaned_data.get("scope") if valid else "") or default
    status = (filters.cleaned_data.get("status") if valid else "") or ""
    rows = data_request_list(actor=actor, scope=scope, status=status or None)
    page = Paginator(rows, settings.MACHIDATA_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    encoded = query.urlencode()
    return render(
        request,
        "datarequests/request_list.html",
        {
            "page_obj": page,
            "requests": page.object_list,
            "scopes": scopes,
            "scope": scope,
            "status": status,
            "statuses": RequestStatus.choices,
            "query_without_page": f"{encoded}&" if encoded else "",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def request_create_view(request: HttpRequest) -> HttpResponse:
    """Ask for data that could not be found; ``?q=`` carries the search that found nothing."""
    actor = _actor(request)
    initial = {"search_query": request.GET.get("q", "")[:200]}
    form = RequestForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.data_request_create(
                actor=actor,
                title=data["title"],
                description=data["description"],
                purpose=data["purpose"],
                period=data["period"],
                suggested_unit_id=data["suggested_unit"].pk if data["suggested_unit"] else None,
                search_query=data["search_query"],
            )
        except InvalidInput as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "データの要望を受け付けました。データ戦略課が担当課へ回付します。")
            return redirect("datarequests:detail", pk=created.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "datarequests/request_form.html", {"form": form}, status=status)


def _detail(
    request: HttpRequest, req: DataRequest, *, bound: dict[str, forms.Form] | None = None, status: int = 200
) -> HttpResponse:
    """The request page; ``bound`` replaces an empty step form by the one just posted with its errors."""
    actor = _actor(request)
    roles = request_roles(actor, req)
    allowed = {step for step in roles if req.status in services.TRANSITIONS[step]}
    step_forms: dict[str, Any] = {
        ROUTE: RouteForm(initial={"unit": req.suggested_unit_id}) if ROUTE in allowed else None,
        ANSWER: AnswerForm() if ANSWER in allowed else None,
        WITHDRAW: WithdrawForm() if WITHDRAW in allowed else None,
        COMMENT: CommentForm() if COMMENT in allowed else None,
    }
    step_forms.update(bound or {})
    context = {
        "req": req,
        "events": data_request_timeline(request=req),
        "dataset_visible": answer_dataset_visible(actor=actor, request=req),
        "is_requester": actor.user_id == req.requested_by_id,
        "route_form": step_forms[ROUTE],
        "answer_form": step_forms[ANSWER],
        "withdraw_form": step_forms[WITHDRAW],
        "comment_form": step_forms[COMMENT],
    }
    return render(request, "datarequests/request_detail.html", context, status=status)


@require_GET
@login_required
def request_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One request: what was asked, the answer, the timeline and the forms the actor may use."""
    return _detail(request, data_request_get(actor=_actor(request), pk=pk))


def _step(request: HttpRequest, pk: int, step: str, form: forms.Form, done: str) -> HttpResponse:
    """Run one step's service from its form; errors re-render the page with the form (400/409)."""
    actor = _actor(request)
    req = data_request_get(actor=actor, pk=pk)
    if step not in request_roles(actor, req):  # who may act is checked before what they typed
        raise PermissionDenied(services.NOT_YOURS[step])
    if form.is_valid():
        data = form.cleaned_data
        try:
            if step == ROUTE:
                services.data_request_route(
                    actor=actor, request=req, unit_id=data["unit"].pk, note=data["note"]
                )
            elif step == ANSWER:
                services.data_request_answer(
                    actor=actor,
                    request=req,
                    kind=data["kind"],
                    text=data["text"],
                    dataset=data["dataset"],
                    expected_on=data["expected_on"],
                )
            elif step == WITHDRAW:
                services.data_request_withdraw(actor=actor, request=req, reason=data["reason"])
            else:
                services.data_request_comment(actor=actor, request=req, body=data["body"])
        except InvalidInput as exc:
            _form_errors(form, exc)
        except Conflict as exc:
            messages.error(request, exc.message)
            return _detail(request, data_request_get(actor=actor, pk=pk), status=409)
        else:
            messages.success(request, done)
            return redirect("datarequests:detail", pk=pk)
    return _detail(request, req, bound={step: form}, status=400)


@require_POST
@login_required
def request_route_view(request: HttpRequest, pk: int) -> HttpResponse:
    """管理 routes the request to a 課."""
    return _step(request, pk, ROUTE, RouteForm(request.POST), "担当課へ回付しました。")


@require_POST
@login_required
def request_answer_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The routed 課 answers."""
    return _step(request, pk, ANSWER, AnswerForm(request.POST), "回答を登録しました。依頼者に通知しました。")


@require_POST
@login_required
def request_withdraw_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The requester withdraws."""
    return _step(request, pk, WITHDRAW, WithdrawForm(request.POST), "要望を取り下げました。")


@require_POST
@login_required
def request_comment_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a comment."""
    return _step(request, pk, COMMENT, CommentForm(request.POST), "コメントを書き込みました。")
