"""Request id, actor resolution and the Content-Security-Policy header."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Final

from csp.constants import NONE, SELF
from csp.middleware import CSPMiddleware, PolicyParts
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from machidata.core.context import reset_request_meta, set_request_meta

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def client_ip(request: HttpRequest) -> str:
    """The address a request came from: the connection's own (what the audit log and the sign-in lockout use)."""
    return str(request.META.get("REMOTE_ADDR", ""))


class RequestIdMiddleware:
    """Give each request an id (or keep a proxy's X-Request-ID), returned in a header and logged."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = set_request_meta(request_id=request_id, ip=client_ip(request), actor="")
        try:
            response = self.get_response(request)
        finally:
            reset_request_meta(token)
        response["X-Request-ID"] = request_id
        return response


# The Django admin uses inline scripts in a few widgets: it may run them, but still nothing from elsewhere.
ADMIN_CSP: Final = {
    "default-src": [SELF],
    "img-src": [SELF, "data:"],
    "object-src": [NONE],
    "frame-ancestors": [NONE],
}


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware (the policy is ``settings.CONTENT_SECURITY_POLICY``), with the admin's own policy.

    A response that already carries the header (e.g. an SVG download with ``default-src 'none'``) or a view
    decorated with django-csp's ``csp_update``/``csp_replace`` keeps its own.
    """

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only and parts.config is None and request.path_info.startswith("/admin/"):
            parts.config = ADMIN_CSP
        return parts


class ActorMiddleware:
    """Resolve ``request.actor`` once per request (after authentication) and label the logs with it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from machidata.access.policy import actor_for
        from machidata.core.context import current_request_meta

        actor = actor_for(getattr(request, "user", None))
        request.actor = actor  # type: ignore[attr-defined]
        meta = dict(current_request_meta())
        meta["actor"] = actor.label()
        token = set_request_meta(**meta)
        try:
            return self.get_response(request)
        finally:
            reset_request_meta(token)


class DomainErrorMiddleware:
    """Turn domain errors that escape a view into the same pages Django shows (404/403/400).

    Views may simply call selectors and let ``NotFound``/``PermissionDenied`` propagate; hidden and
    missing objects then answer the same 404 page everywhere.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Map NotFound → 404, PermissionDenied → 403, other domain errors → 400 with their message."""
        from django.http import Http404
        from django.views import defaults

        from machidata.core.errors import MachidataError, NotFound, PermissionDenied

        if isinstance(exception, NotFound):
            return defaults.page_not_found(request, Http404(exception.message))
        if isinstance(exception, PermissionDenied):
            return defaults.permission_denied(request, exception)
        if isinstance(exception, MachidataError):
            return defaults.bad_request(request, exception)
        return None
