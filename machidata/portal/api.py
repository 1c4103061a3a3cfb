"""The CKAN Action API endpoint: GET or POST (form or JSON), anonymous, CSRF-exempt, no redirects."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from machidata.core.errors import NotFound
from machidata.portal.ckan import ACTIONS, AUTH, ActionError, not_found


def _params(request: HttpRequest) -> dict[str, Any]:
    if request.method == "POST":
        if request.content_type == "application/json" or (request.body[:1] == b"{"):
            try:
                body = json.loads(request.body or b"{}")
            except ValueError:
                raise ActionError(
                    400, "Bad request", message="Bad request - JSON Error: could not read the body"
                ) from None
            if not isinstance(body, dict):
                raise ActionError(
                    400, "Bad request", message="Bad request - JSON Error: body must be an object"
                )
            return body
        return dict(request.POST.items())
    return {k: v for k, v in request.GET.items() if k != "callback"}


@csrf_exempt
@require_http_methods(["GET", "POST"])
def action(request: HttpRequest, name: str) -> JsonResponse:
    """``/api/3/action/<name>``: CKAN's envelope ``{help, success, result | error}``."""
    base_url = request.build_absolute_uri("/").rstrip("/")
    help_url = f"{base_url}/api/3/action/help_show?name={name}"
    status = 200
    body: dict[str, Any] = {"help": help_url}
    try:
        fn, auth = ACTIONS.get(name), AUTH.get(name)
        if fn is None or auth is None:
            raise ActionError(400, "Bad request", message=f"Bad request - Action name not known: {name}")
        params = _params(request)
        auth(params)
        body |= {"success": True, "result": fn(params, base_url)}
    except NotFound:
        err = not_found()
        status, body = err.status, body | {"success": False, "error": err.error}
    except ActionError as err:
        status, body = err.status, body | {"success": False, "error": err.error}
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    response["Access-Control-Allow-Origin"] = "*"
    return response
