"""The one NinjaAPI (/api/v1/): authentication, error mapping, and the routers of each room."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI

from machidata.access.auth import BearerTokenAuth, SessionActorAuth
from machidata.core.errors import MachidataError

api = NinjaAPI(
    title="machidata API",
    version="1",
    description="まちデータ（machidata）の JSON API。セッションまたは個人用APIトークン（Authorization: Bearer …）で認証します。",
    auth=[BearerTokenAuth(), SessionActorAuth()],
    urls_namespace="api",
)


@api.exception_handler(MachidataError)
def _domain_error(request: HttpRequest, exc: MachidataError) -> HttpResponse:
    body: dict[str, Any] = {"detail": exc.message}
    if exc.details is not None:
        body["errors"] = exc.details
    return api.create_response(request, body, status=exc.status)


def _mount() -> None:
    from machidata.access.api import router as access_router
    from machidata.catalog.api import router as catalog_router
    from machidata.jobs.api import router as jobs_router

    api.add_router("/datasets", catalog_router)
    api.add_router("/", access_router)
    api.add_router("/jobs", jobs_router)


_mount()
