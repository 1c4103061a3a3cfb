"""Staff pages of public sharing (公開): file a 公開申請 from a chart or dashboard page, one request with its
route and the approve / return / reject buttons, take it back, and stop publishing."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from machidata.access.policy import Actor
from machidata.charts import public, services_public
from machidata.charts.models import Chart, Dashboard, ShareDecision
from machidata.charts.selectors import chart_get, dashboard_get
from machidata.core.errors import Conflict, InvalidInput


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _back(obj: Chart | Dashboard) -> HttpResponse:
    if isinstance(obj, Chart):
        return redirect("charts:detail", uuid=obj.uuid)
    return redirect("charts:dashboard", uuid=obj.uuid)


def _file(request: HttpRequest, obj: Chart | Dashboard) -> HttpResponse:
    try:
        req = services_public.share_request_create(
            actor=_actor(request), obj=obj, reason=str(request.POST.get("reason") or "")
        )
    except (InvalidInput, Conflict) as exc:
        messages.error(request, exc.message)
        return _back(obj)
    messages.success(request, "公開申請を受け付けました。決裁の状況はこのページで確認できます。")
    return redirect("charts:public_request", pk=req.pk)


@require_POST
@login_required
def chart_public_request_view(request: HttpRequest, uuid: str) -> HttpResponse:
    """File a 公開申請 for a chart (its owner, an 編集 of its 課, or 管理); a failed gate is said on the chart page."""
    return _file(request, chart_get(actor=_actor(request), uuid=uuid))


@require_POST
@login_required
def dashboard_public_request_view(request: HttpRequest, uuid: str) -> HttpResponse:
    """File a 公開申請 for a dashboard and every chart on it."""
    return _file(request, dashboard_get(actor=_actor(request), uuid=uuid))


def _withdraw(request: HttpRequest, obj: Chart | Dashboard) -> HttpResponse:
    try:
        services_public.public_withdraw(
            actor=_actor(request), obj=obj, reason=str(request.POST.get("reason") or "")
        )
    except InvalidInput as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "公開をやめました。公開サイトからはすぐに見えなくなります。")
    return _back(obj)


@require_POST
@login_required
def chart_public_withdraw_view(request: HttpRequest, uuid: str) -> HttpResponse:
    """Stop publishing a chart (its owner or 管理), at once."""
    return _withdraw(request, chart_get(actor=_actor(request), uuid=uuid))


@require_POST
@login_required
def dashboard_public_withdraw_view(request: HttpRequest, uuid: str) -> HttpResponse:
    """Stop publishing a dashboard (its owner or 管理), at once."""
    return _withdraw(request, dashboard_get(actor=_actor(request), uuid=uuid))


@require_GET
@login_required
def public_request_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One 公開申請: what would be published, the checks now, the route with who must act, my buttons."""
    actor = _actor(request)
    req = public.share_request_get(actor=actor, pk=pk)
    context = {
        "req": req, "steps": public.share_request_steps(req), "my_turn": public.is_my_turn(actor, req),
        "charts": public.snapshot_charts(req.snapshot),
        "refusals": public.refusals(req.snapshot) if req.status == "pending" else [],
        "may_cancel": req.status == "pending" and (actor.user_id == req.requested_by_id or actor.is_admin),
        "actions": req.actions.select_related("actor", "on_behalf_of"), "decisions": ShareDecision.choices,
    }  # fmt: skip
    return render(request, "charts/public_request.html", context)


@require_POST
@login_required
def public_request_act_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve, return or reject the current step (whoever the route names; never the requester)."""
    actor = _actor(request)
    req = public.share_request_get(actor=actor, pk=pk)
    try:
        services_public.share_request_act(
            actor=actor, request=req, decision=str(request.POST.get("decision") or ""),
            comment=str(request.POST.get("comment") or ""),
        )  # fmt: skip
    except (InvalidInput, Conflict) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "決裁を記録しました。")
    return redirect("charts:public_request", pk=pk)


@require_POST
@login_required
def public_request_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The requester (or 管理) takes a 公開申請 back (取り下げ)."""
    actor = _actor(request)
    req = public.share_request_get(actor=actor, pk=pk)
    try:
        services_public.share_request_cancel(actor=actor, request=req)
    except InvalidInput as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "公開申請を取り下げました。")
    return redirect("charts:public_request", pk=pk)


def share_context(actor: Actor, obj: Chart | Dashboard) -> dict[str, object]:
    """What a chart or dashboard page shows about 公開: the state, the pending request, the buttons."""
    share = public.live_share_of(obj)
    return {
        "public_state": public.public_state(obj), "public_share": share,
        "public_pending": public.pending_request_of(obj),
        "may_file_public": services_public.may_file(actor, obj),
        "may_withdraw_public": share is not None and (obj.owner_id == actor.user_id or actor.is_admin),
    }  # fmt: skip
