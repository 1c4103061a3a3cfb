"""利用申請 pages: the lists, the request form (from a dataset), one request with its route and actions."""

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

from machidata.access.policy import Action, Actor, access_dataset
from machidata.core.errors import Conflict, InvalidInput, PermissionDenied
from machidata.privacy import services
from machidata.privacy.forms import AccessRequestForm, ActForm, RenewForm, RevokeForm
from machidata.privacy.models import AccessRequest, AccessStatus
from machidata.privacy.selectors import (
    SCOPES,
    access_request_get,
    access_request_list,
    may_act_now,
    route_state,
)
from machidata.privacy.uses import use_choices


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _form_errors(form: forms.Form, exc: InvalidInput) -> None:
    details = exc.details if isinstance(exc.details, dict) else {}
    placed = False
    for field in details:
        if field in form.fields:
            form.add_error(field, exc.message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


@require_GET
@login_required
def request_list_view(request: HttpRequest) -> HttpResponse:
    """My requests, those awaiting my decision, my 課's datasets' requests and grants, or all (管理)."""
    actor = _actor(request)
    keys = (
        ["mine", "awaiting"]
        + (["department"] if actor.unit_ids else [])
        + (["all"] if actor.is_admin else [])
    )
    scope = request.GET.get("scope", "mine")
    scope = scope if scope in keys else "mine"
    status = request.GET.get("status", "")
    status = status if status in AccessStatus.values else ""
    rows = access_request_list(actor=actor, scope=scope, status=status or None)
    page = Paginator(rows, settings.MACHIDATA_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "privacy/request_list.html", {
        "page_obj": page, "requests": page.object_list, "scopes": [(k, SCOPES[k]) for k in keys],
        "scope": scope, "status": status, "statuses": AccessStatus.choices,
        "query_without_page": f"scope={scope}&status={status}&",
    })  # fmt: skip


@login_required
@require_http_methods(["GET", "POST"])
def request_create_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Ask to read a dataset the actor may discover (404 otherwise)."""
    actor = _actor(request)
    dataset = access_dataset(actor, Action.DISCOVER, slug=slug)
    form = AccessRequestForm(request.POST or None)
    choices = services.column_choices(dataset)
    form.fields["columns"].choices = [(c, c) for c in choices]  # type: ignore[attr-defined]
    form.fields["approved_use"].choices = [("", "（選ばない）")] + [  # type: ignore[attr-defined]
        (u.pk, f"#{u.pk} {u.title}（{u.ends_on:%Y-%m-%d}まで）") for u in use_choices(actor=actor)
    ]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.access_request_create(actor=actor, dataset=dataset, **data)
        except InvalidInput as exc:
            _form_errors(form, exc)
        except Conflict as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "利用申請を受け付けました。決裁の順番が来た人にお知らせします。")
            return redirect("privacy:detail", pk=created.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "privacy/request_form.html", {"form": form, "dataset": dataset}, status=status)


def _detail(request: HttpRequest, req: AccessRequest, *, bound: dict[str, Any] | None = None,
            status: int = 200) -> HttpResponse:  # fmt: skip
    actor = _actor(request)
    manage = (
        req.status == AccessStatus.APPROVED
        and services.may_manage_grant(actor, req)
        and (actor.user_id != req.requested_by_id)
    )
    ctx: dict[str, Any] = {
        "req": req, "steps": route_state(req), "actions": req.actions.select_related("actor"),
        "act_form": ActForm() if may_act_now(actor, req) else None,
        "cancel": req.status == AccessStatus.PENDING and actor.user_id == req.requested_by_id,
        "renew_form": RenewForm() if manage else None, "revoke_form": RevokeForm() if manage else None,
    }  # fmt: skip
    ctx.update(bound or {})
    return render(request, "privacy/request_detail.html", ctx, status=status)


@require_GET
@login_required
def request_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One request: what was asked, the route with each step's state, and the buttons the actor may use."""
    return _detail(request, access_request_get(actor=_actor(request), pk=pk))


def _post(request: HttpRequest, pk: int, name: str, form: forms.Form, *, run: Any, done: str) -> HttpResponse:
    """Who may act is checked before what they typed: the service runs on an empty form too and refuses."""
    actor = _actor(request)
    req = access_request_get(actor=actor, pk=pk)
    allowed = may_act_now(actor, req) if name == "act_form" else services.may_manage_grant(actor, req)
    if not allowed or actor.user_id == req.requested_by_id:
        raise PermissionDenied("この利用申請を決裁・更新・取り消す権限がありません。")
    if form.is_valid():
        try:
            run(actor, req, form.cleaned_data)
        except InvalidInput as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect("privacy:detail", pk=pk)
    return _detail(request, req, bound={name: form}, status=400)


@require_POST
@login_required
def request_act_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Decide the current step."""
    return _post(request, pk, "act_form", ActForm(request.POST),
                 run=lambda a, r, d: services.access_request_act(actor=a, request=r, **d), done="決裁を記録しました。")  # fmt: skip


@require_POST
@login_required
def request_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The requester withdraws a pending request."""
    actor = _actor(request)
    services.access_request_cancel(actor=actor, request=access_request_get(actor=actor, pk=pk))
    messages.success(request, "利用申請を取り下げました。")
    return redirect("privacy:detail", pk=pk)


@require_POST
@login_required
def grant_renew_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The data owner moves the end date."""
    return _post(request, pk, "renew_form", RenewForm(request.POST),
                 run=lambda a, r, d: services.access_grant_renew(actor=a, request=r, **d), done="利用期間を更新しました。")  # fmt: skip


@require_POST
@login_required
def grant_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The data owner ends the access now."""
    return _post(request, pk, "revoke_form", RevokeForm(request.POST),
                 run=lambda a, r, d: services.access_grant_revoke(actor=a, request=r, **d), done="利用の許可を取り消しました。")  # fmt: skip
