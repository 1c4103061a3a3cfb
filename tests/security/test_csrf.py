"""Issue 14 point 3: CSRF on every state-changing form and API operation.

Every named Django route (the admin site's list and add pages and sign-in included) and every
``/api/v1`` operation that takes POST, PUT, PATCH or DELETE is sent such a request by a member of
staff signed in by session cookie, with CSRF checks enforced (as a browser would, and as the test
client does not by default) and without a CSRF token: each must be refused with the CSRF answer
(403 and its Japanese message), before any view code runs. The URLs come from the authorization
matrix, so a route the matrix does not cover cannot be probed and fails here too.

The refusal is shown to be about the token: the same request with a valid token is not refused for
CSRF. The only requests that need no token are API calls authenticated by a personal token
(``Authorization: Bearer``, no cookie), which a foreign page cannot make a browser send; an invalid
bearer token is refused (401) and never falls back to the session. The CKAN Action API is the one
CSRF-exempt Django route, and it must answer a signed-in caller exactly as it answers the public.

Since CSRF protection covers unsafe methods only, no GET may change anything: see
``test_safe_methods.py``.

Figure (``MACHIDATA_SECURITY_REPORT``): routes and operations checked, requests sent, unprotected 0.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from tests.security.matrix import MATRIX
from tests.security.routes import NINJA_VIEWS, _walk, api_operations, django_routes, example_bodies
from tests.security.world import World, build_world

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
# The CKAN Action API (portal room): anonymous and read-only, so a forged request can do nothing the
# public cannot; CSRF-exempt so that CKAN clients may POST. Checked below to ignore the session.
EXEMPT_ROUTES = frozenset({"ckan:action", "ckan:action_unversioned"})
CSRF_PAGE = "セキュリティ確認（CSRF）"  # machidata/core/templates/403_csrf.html
CSRF_API = "CSRFトークンを確認できません"  # machidata/config/api.py, the API's CSRF answer
SIGNED_IN_AS = "owner_editor"  # signed in by session: an 編集 who may change much of the world


@dataclass
class Tally:
    routes: int = 0
    operations: int = 0
    requests: int = 0
    unprotected: list[str] = field(default_factory=list)
    token_refused: list[str] = field(default_factory=list)  # refused for CSRF despite a valid token

    def figure(self) -> dict[str, int]:
        return {
            "routes": self.routes,
            "api_operations": self.operations,
            "requests": self.requests,
            "unprotected": len(self.unprotected),
            "refused_with_token": len(self.token_refused),
        }


def _csrf_refused(response: Any, *, api: bool) -> bool:
    if response.status_code != 403:
        return False
    if api:
        return CSRF_API in json.loads(response.content).get("detail", "")
    return CSRF_PAGE in response.content.decode("utf-8", "replace")


def _session(world: World, name: str = SIGNED_IN_AS, *, token: str | None = None) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.actors.users[name])
    if token:
        client.cookies[django_settings.CSRF_COOKIE_NAME] = token
    return client


def _send(client: Client, method: str, url: str, body: Any = None, *, token: str | None = None) -> Any:
    headers = {"HTTP_X_CSRFTOKEN": token} if token else {}
    if body is None:
        data: Any = {"csrfmiddlewaretoken": token} if token and method == "POST" else {}
        if method == "POST":
            return client.post(url, data, **headers)
        return getattr(client, method.lower())(url, "", **headers)
    return getattr(client, method.lower())(url, json.dumps(body), content_type="application/json", **headers)


def _admin_urls() -> dict[str, str]:
    """Every route of the Django admin site (object pages on a made-up id: the check comes first)."""
    out = {}
    for name, _pattern in _walk(get_resolver().url_patterns):
        if not name.startswith("admin:"):
            continue
        if name == "admin:":  # the unnamed catch-all page (a 404 for any other address)
            out["admin:(catch-all)"] = "/admin/no-such-page/"
            continue
        for args in ([], ["1"], ["1", "1"], ["catalog"]):
            try:
                out[name] = reverse(name, args=args)
                break
            except NoReverseMatch:
                continue
        assert name in out, f"{name}: cannot build a URL for the admin route"
    return out


def _django_urls(world: World) -> dict[str, str]:
    """One URL per Django route: from the matrix's probes, and every route of the admin site."""
    keys = django_routes() - EXEMPT_ROUTES - set(NINJA_VIEWS)
    missing = sorted(keys - MATRIX.keys())
    assert not missing, "routes the CSRF test cannot probe (no entry in matrix.py):\n" + "\n".join(missing)
    return {k: MATRIX[k].probes(world)[0].url for k in keys} | _admin_urls()


def _api_writes(world: World) -> dict[str, tuple[str, str, Any]]:
    """``METHOD /api/v1/path`` → (method, URL, JSON body) for every state-changing operation."""
    bodies = example_bodies()
    out = {}
    for key in sorted(api_operations()):
        method = key.split(" ", 1)[0]
        if method not in UNSAFE:
            continue
        assert key in MATRIX, f"{key}: no entry in matrix.py, so the CSRF test cannot probe it"
        probe = MATRIX[key].probes(world)[0]
        out[key] = (method, probe.url, probe.body if probe.body is not None else bodies.get(key, {}))
    return out


def _without_token(world: World, urls: dict[str, str], writes: dict[str, Any], tally: Tally) -> None:
    """Every unsafe method on every Django route, every API write: signed in by session, no token."""
    session = _session(world)
    for key, url in sorted(urls.items()):
        tally.routes += 1
        # The admin site is Django's own, behind the same middleware: its form method is enough.
        for method in ("POST",) if key.startswith("admin:") else UNSAFE:
            response = _send(session, method, url)
            tally.requests += 1
            if not _csrf_refused(response, api=False):
                tally.unprotected.append(f"{key}: {method} {url} → {response.status_code}")
    for key, (method, url, body) in writes.items():
        tally.operations += 1
        response = _send(session, method, url, body)
        tally.requests += 1
        if not _csrf_refused(response, api=True):
            tally.unprotected.append(f"{key}: {method} {url} (session, no token) → {response.status_code}")


def _with_token(world: World, urls: dict[str, str], writes: dict[str, Any], tally: Tally) -> None:
    """The refusals were about the token: with a valid one, the same requests pass the check.

    Sent as the least-privileged member of staff (so writes are mostly refused), signed in again after
    signing out.
    """
    secret = _get_new_csrf_string()
    client = _session(world, "staff", token=secret)
    for key, url in sorted(urls.items()):
        response = _send(client, "POST", url, token=secret)
        tally.requests += 1
        if "logout" in key:
            client = _session(world, "staff", token=secret)
        if _csrf_refused(response, api=False):
            tally.token_refused.append(f"{key}: POST {url} with a token → CSRF refusal")
    for key, (method, url, body) in writes.items():
        response = _send(client, method, url, body, token=secret)
        tally.requests += 1
        if _csrf_refused(response, api=True):
            tally.token_refused.append(f"{key}: {method} {url} with a token → CSRF refusal")


def _bearer(world: World, writes: dict[str, Any], tally: Tally) -> None:
    """Bearer token, no cookie, no CSRF token: the one exempt path."""
    bearer = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {world.tokens['staff']}")
    for key, (method, url, body) in writes.items():
        response = _send(bearer, method, url, body)
        tally.requests += 1
        assert response.status_code < 500, f"{key}: {method} {url} → {response.status_code}"
        if _csrf_refused(response, api=True):
            tally.token_refused.append(f"{key}: {method} {url} (bearer) → CSRF refusal")


@pytest.mark.slow
@pytest.mark.django_db
def test_every_state_change_needs_a_csrf_token_unless_token_authenticated(
    settings: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.MACHIDATA_HOME = tmp_path
    world = build_world()
    tally = Tally()
    with monkeypatch.context() as m:  # only the URLs are needed here, not who may use them
        m.setattr(World, "allowed", lambda self, action, dataset: frozenset())
        urls = _django_urls(world)
        writes = _api_writes(world)
    _without_token(world, urls, writes, tally)
    _with_token(world, urls, writes, tally)
    _bearer(world, writes, tally)
    report = os.environ.get("MACHIDATA_SECURITY_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as f:
            f.write(json.dumps({"test": "csrf", **tally.figure()}) + "\n")
    print("csrf:", tally.figure())  # noqa: T201 — the figure for docs/security.md
    assert not tally.unprotected, "accepted without a CSRF token:\n" + "\n".join(tally.unprotected)
    assert not tally.token_refused, "\n".join(tally.token_refused)
    assert tally.routes > 150  # the listing really was walked
    assert tally.operations > 50


@pytest.mark.django_db
def test_an_invalid_bearer_token_does_not_fall_back_to_the_session(settings: Any, tmp_path: Any) -> None:
    from machidata.core.testing import make_actors

    settings.MACHIDATA_HOME = tmp_path
    actors = make_actors()
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION="Bearer mdt_forged")
    client.force_login(actors.users["owner_editor"])
    before = client.get("/api/v1/tokens")
    assert before.status_code == 401
    response = client.post("/api/v1/tokens", json.dumps({"name": "x"}), content_type="application/json")
    assert response.status_code == 401
    assert not actors.users["owner_editor"].api_tokens.exists()


def _callbacks(patterns: list[object], namespace: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for p in patterns:
        if isinstance(p, URLResolver):
            out += _callbacks(p.url_patterns, namespace + (f"{p.namespace}:" if p.namespace else ""))
        elif isinstance(p, URLPattern):
            out.append((namespace + (p.name or str(p.pattern)), p.callback))
    return out


def test_only_the_api_and_the_ckan_actions_are_csrf_exempt() -> None:
    """django-ninja's views are exempt at the Django level and check CSRF themselves (session auth)."""
    exempt = {
        name for name, cb in _callbacks(get_resolver().url_patterns) if getattr(cb, "csrf_exempt", False)
    }
    assert exempt - EXEMPT_ROUTES, "the API's views were expected to be exempt at the Django level"
    assert all(name.startswith("api:") for name in exempt - EXEMPT_ROUTES), sorted(exempt)
    assert exempt >= EXEMPT_ROUTES


@pytest.mark.django_db
def test_the_ckan_actions_ignore_the_session(actors: Any, settings: Any, tmp_path: Any) -> None:
    """A forged POST to the CSRF-exempt CKAN API gets exactly what the public gets, signed in or not."""
    from machidata.core.testing import make_dataset

    settings.MACHIDATA_HOME = tmp_path
    make_dataset(actors.org.health_div, title="庁内だけの台帳")
    signed_in = Client(enforce_csrf_checks=True)
    signed_in.force_login(actors.users["admin"])
    for action in ("package_search", "package_list", "organization_list"):
        as_staff = signed_in.post(f"/api/3/action/{action}", {}, content_type="application/json")
        public = Client(enforce_csrf_checks=True).post(
            f"/api/3/action/{action}", {}, content_type="application/json"
        )
        assert as_staff.status_code == public.status_code == 200
        assert json.loads(as_staff.content) == json.loads(public.content)
        assert "庁内だけの台帳" not in as_staff.content.decode()
