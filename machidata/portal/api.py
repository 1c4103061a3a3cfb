"""The CKAN Action API endpoint: GET or POST (form or JSON), anonymous, CSRF-exempt, no redirects."""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from machidata.core.errors import NotFound
from machidata.portal.ckan import ACTIONS, AUTH, ActionError, PackageResults, not_found


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
def action(request: HttpRequest, name: str) -> HttpResponse:
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
    results = body.get("result", {}).get("results") if isinstance(body.get("result"), dict) else None
    if isinstance(results, PackageResults):  # package_search: the packages' JSON text is kept with them
        response = _with_results(body, results, status)
    else:
        response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _with_results(body: dict[str, Any], results: PackageResults, status: int) -> HttpResponse:
    """The envelope as ``JsonResponse`` writes it, with ``result.results`` spliced in from the kept JSON
    text of each package (a one-off token marks its place: no request text can hold it)."""
    mark = f"machidata-results-{secrets.token_hex(16)}"
    text = json.dumps(
        {**body, "result": {**body["result"], "results": mark}}, ensure_ascii=False, cls=DjangoJSONEncoder
    )
    text = text.replace(json.dumps(mark), results.json_text(), 1)
    return HttpResponse(text.encode("utf-8"), status=status, content_type="application/json")
