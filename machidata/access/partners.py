"""The gate that keeps an 外部協力者 (partner) inside its approved use.

The policy (:mod:`machidata.access.policy`) decides: a partner's actor holds only the ``partner``
standing, on the de-identified datasets of its use, and reaches only ``PARTNER_ROUTES`` /
``PARTNER_API``. This module applies it to every request: a page or API operation outside them
answers 404, any request once the period is over (or the account ended) answers 403 with the reason,
and every refusal a partner meets — here or in a view (a dataset outside the use) — is audited
(``access.partner_refused`` / ``access.partner_expired``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from machidata.access.policy import PARTNER_EXPIRED, PARTNER_OUTSIDE, Actor, partner_may_reach
from machidata.audit.services import audit_record

REFUSED_STATUSES = frozenset({401, 403, 404})
# Where staff land (the start page, the sign-in's next page): a partner lands on its own page instead.
LANDINGS = frozenset({"home", "catalog:list"})


def partner_refusal(request: HttpRequest, actor: Actor) -> tuple[int, str] | None:
    """(status, message) when ``actor`` (a partner) may not make this request, else None."""
    match = getattr(request, "resolver_match", None)
    name = match.view_name if match is not None else ""
    route = str(match.route) if match is not None else ""
    if name == "logout":
        return None
    if not actor.partner_open:
        return 403, PARTNER_EXPIRED.format(period=actor.partner_period)
    if partner_may_reach(request.method or "GET", name, route):
        return None
    return 404, PARTNER_OUTSIDE


def _audit(request: HttpRequest, actor: Actor, status: int) -> None:
    match = getattr(request, "resolver_match", None)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="access.partner_refused" if actor.partner_open else "access.partner_expired",
            object_type="access.partner",
            object_repr=actor.username,
            changes={
                "method": request.method,
                "path": request.path[:500],
                "route": match.view_name if match is not None else "",
                "status": status,
                "use": actor.partner_use_id,
            },
        )


class PartnerGateMiddleware:
    """Apply the partner gate to pages (session) and audit every refusal a partner meets.

    API calls with a bearer token are gated by ``access.auth.BearerTokenAuth`` (the token is read
    there); their refusals are audited here all the same, once the response is made.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        actor = getattr(request, "actor", None)
        if isinstance(actor, Actor) and actor.is_partner and response.status_code in REFUSED_STATUSES:
            _audit(request, actor, response.status_code)
        return response

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> HttpResponse | None:
        actor = getattr(request, "actor", None)
        if not isinstance(actor, Actor) or not actor.is_partner:
            return None
        if request.resolver_match is not None and request.resolver_match.view_name in LANDINGS:
            return redirect("partners:home") if actor.partner_open else _refuse(request, actor)
        return _refuse(request, actor)


def _refuse(request: HttpRequest, actor: Actor) -> HttpResponse | None:
    refusal = partner_refusal(request, actor)
    if refusal is None:
        return None
    status, message = refusal
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    return render(request, "access/partner_refused.html", {"message": message}, status=status)
