"""Home, health and readiness."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache


def home(request: HttpRequest) -> HttpResponse:
    """The start page is the catalog."""
    return redirect("catalog:list")


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers."""
    return JsonResponse({"status": "ok"})


@never_cache
def ready(request: HttpRequest) -> JsonResponse:
    """Readiness: the metadata database answers and migrations are applied."""
    from django.db.migrations.executor import MigrationExecutor

    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; the reason is reported
        return JsonResponse({"status": "unavailable", "reason": type(exc).__name__}, status=503)
    if pending:
        return JsonResponse({"status": "unavailable", "reason": "migrations pending"}, status=503)
    return JsonResponse({"status": "ok", "database": connection.vendor})
