"""Per-request context: request id and actor for logs and audit, and template globals."""

from __future__ import annotations

import contextvars
from typing import Any

from django.conf import settings
from django.http import HttpRequest

_request_meta: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("request_meta", default={})  # noqa: B039 - never mutated, only replaced


def set_request_meta(**meta: str) -> contextvars.Token[dict[str, str]]:
    """Remember request id, client IP and actor for the current request or job."""
    return _request_meta.set(dict(meta))


def reset_request_meta(token: contextvars.Token[dict[str, str]]) -> None:
    """Forget the meta set by :func:`set_request_meta`."""
    _request_meta.reset(token)


def current_request_meta() -> dict[str, str]:
    """The meta of the current request or job (empty outside one)."""
    return _request_meta.get()


def site(request: HttpRequest) -> dict[str, Any]:
    """Template globals: the city's name and the current actor."""
    from machidata.access.policy import actor_for

    actor = getattr(request, "actor", None) or actor_for(getattr(request, "user", None))
    return {"city_name": settings.MACHIDATA_CITY_NAME, "actor": actor}
