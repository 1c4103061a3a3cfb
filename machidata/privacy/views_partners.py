"""外部協力者 pages: the partner's own page (its use's de-identified data), and for the keepers
(データ戦略課, the privacy officer) the list of partner accounts, the form that creates one (its first
password shown once) and ending one."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from machidata.access.policy import Actor
from machidata.core.errors import InvalidInput
from machidata.privacy import partners, uses
from machidata.privacy.forms import PartnerEndForm, PartnerForm


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


@require_GET
@login_required
def partner_home_view(request: HttpRequest) -> HttpResponse:
    """The partner's page: its use, its period and the datasets it may read."""
    return render(request, "privacy/partner_home.html", partners.partner_home(actor=_actor(request)))


@require_GET
@login_required
def partner_list_view(request: HttpRequest) -> HttpResponse:
    """Every partner account (the keepers)."""
    state = request.GET.get("state", "")
    state = state if state in partners.STATES else ""
    rows = partners.partner_list(actor=_actor(request), state=state)
    page = Paginator(rows, settings.MACHIDATA_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "privacy/partner_list.html", {
        "page_obj": page, "rows": [(p, partners.partner_state(p)) for p in page.object_list],
        "states": partners.STATES.items(), "state": state, "query_without_page": f"state={state}&",
        "end_form": PartnerEndForm(),
    })  # fmt: skip


def _use_choices(actor: Actor) -> list[tuple[Any, str]]:
    return [("", "選んでください")] + [
        (u.pk, f"#{u.pk} {u.title}（{u.starts_on:%Y-%m-%d}〜{u.ends_on:%Y-%m-%d}）")
        for u in uses.use_list(actor=actor, state="current")[:200]
    ]


@login_required
@require_http_methods(["GET", "POST"])
def partner_create_view(request: HttpRequest) -> HttpResponse:
    """Create a partner account; the first password is shown on the answer page only."""
    actor = _actor(request)
    partners.partner_list(actor=actor)  # the keepers only (404 for anyone else)
    form = PartnerForm(request.POST or None, initial={"use": request.GET.get("use", "")})
    form.fields["use"].choices = _use_choices(actor)  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            partner, password = partners.partner_create(actor=actor, use_id=data.pop("use"), data=data)
        except InvalidInput as exc:
            details = exc.details if isinstance(exc.details, dict) else {}
            form.add_error(next((f for f in details if f in form.fields), None), exc.message)
        else:
            response = render(
                request, "privacy/partner_created.html", {"partner": partner, "password": password}
            )
            response["Cache-Control"] = "no-store"
            return response
    status = 400 if request.method == "POST" else 200
    return render(request, "privacy/partner_form.html", {"form": form}, status=status)


@require_POST
@login_required
def partner_end_view(request: HttpRequest, pk: int) -> HttpResponse:
    """End a partner's account now (the keepers)."""
    actor = _actor(request)
    partner = partners.partner_get(actor=actor, pk=pk)
    form = PartnerEndForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        partners.partner_end(actor=actor, partner=partner, reason=reason)
    except InvalidInput as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{partner.user.get_username()} のアカウントを終了しました。")
    return redirect("partners:list")
