"""EBPM pages (staff) for the public page of a 事業: request, the route's steps, decide, withdraw, take back.

Thin: each POST calls one service; a Japanese error from it is shown as a message, nothing saved.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from machidata.access.policy import Actor
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from machidata.ebpm import selectors, services_pages
from machidata.ebpm import selectors_pages as sel
from machidata.ebpm.models import Evaluation, PageDecision, PageRequestStatus
from machidata.ebpm.views_public import page_context

_SHOWN = (InvalidInput, Conflict, NotFound, PermissionDenied)
SCOPES = {"all": "すべて", "awaiting": "自分の決裁待ち", "mine": "自分の申請"}


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


@login_required
@require_GET
def request_list(request: HttpRequest) -> HttpResponse:
    """市民向けページの申請: every request (filter: all, my turn, mine) and the pages public now."""
    actor = _actor(request)
    scope = request.GET.get("scope", "all")
    scope = scope if scope in SCOPES else "all"
    page = Paginator(sel.page_requests(actor=actor, scope=scope), settings.MACHIDATA_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "ebpm/page_requests.html",
        {"page": page, "scope": scope, "scopes": SCOPES.items(), "published": sel.public_pages()[:50]},
    )


@login_required
@require_http_methods(["GET", "POST"])
def request_new(request: HttpRequest, pk: int) -> HttpResponse:
    """The 事業's public page: its state, a preview of what would be published, the request form."""
    actor = _actor(request)
    item = selectors.plan_item_get(actor=actor, pk=pk)
    if request.method == "POST":
        try:
            req = services_pages.page_request_create(
                actor=actor, item=item, evaluation_ids=request.POST.getlist("evaluation_ids"),
                reason=request.POST.get("reason", ""),
            )  # fmt: skip
        except _SHOWN as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "公開を申請しました。決裁が済むと市民向けのページに載ります。")
            return redirect("ebpm:page_request", req.pk)
    model = selectors.logic_model_of(item)
    evaluations = Evaluation.objects.filter(item=item).order_by("-fiscal_year")
    preview = None
    if model is not None and model.number:
        snap = sel.page_snapshot(item, model_number=model.number, evaluation_ids=[e.pk for e in evaluations])
        preview = page_context(snap)
    live = sel.public_pages().filter(item=item).first()
    return render(
        request,
        "ebpm/page_new.html",
        {
            "item": item, "can_edit": selectors.may_edit(actor, item), "state": sel.page_state(item),
            "evaluations": evaluations, "preview": preview, "live": live,
            "requests": sel.page_requests(actor=actor, item_id=item.pk)[:20],
        },
    )  # fmt: skip


@login_required
@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask to take the 事業's public page down (非公開化)."""
    actor = _actor(request)
    item = selectors.plan_item_get(actor=actor, pk=pk)
    try:
        req = services_pages.page_withdraw_create(
            actor=actor, item=item, reason=request.POST.get("reason", "")
        )
    except _SHOWN as exc:
        messages.error(request, exc.message)
        return redirect("ebpm:page_new", pk)
    messages.success(request, "非公開化を申請しました。決裁が済むと、すぐに公開をやめます。")
    return redirect("ebpm:page_request", req.pk)


@login_required
@require_GET
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One request: the route's steps with who may act, the decisions, and the page it would publish."""
    actor = _actor(request)
    req = sel.page_request_get(actor=actor, pk=pk)
    return render(
        request,
        "ebpm/page_request.html",
        {
            "req": req, "steps": sel.request_steps(req), "my_turn": sel.is_my_turn(actor, req),
            "may_cancel": req.status == PageRequestStatus.PENDING
            and (actor.user_id == req.requested_by_id or actor.is_admin),
            "actions": req.actions.select_related("actor", "on_behalf_of"),
            "decisions": PageDecision.choices, "preview": page_context(req.preview) if req.preview else None,
        },
    )  # fmt: skip


@login_required
@require_POST
def request_act(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve, return or reject the current step."""
    actor = _actor(request)
    req = sel.page_request_get(actor=actor, pk=pk)
    try:
        req = services_pages.page_request_act(
            actor=actor,
            request=req,
            decision=request.POST.get("decision", ""),
            comment=request.POST.get("comment", ""),
        )
    except _SHOWN as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"決裁しました（{req.get_status_display()}）。")
    return redirect("ebpm:page_request", pk)


@login_required
@require_POST
def request_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Take back a request under decision."""
    actor = _actor(request)
    req = sel.page_request_get(actor=actor, pk=pk)
    try:
        services_pages.page_request_cancel(actor=actor, request=req)
    except _SHOWN as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "申請を取り下げました。")
    return redirect("ebpm:page_request", pk)
