"""Issue 14 point 1: every route and API operation × every kind of actor × every kind of dataset.

The figure this reports (printed, and kept in ``docs/security.md``): probes run, leaks (an actor got
through who must not), over-refusals (an actor was refused who must get through), hidden entries
revealed by a 403 instead of a 404, and server errors. A write counts as done when it left an audit
event (every service audits what it does), so a form that answers a refusal with a redirect and a
message is read correctly.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from django.contrib import admin
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import reverse

from machidata.access import policy
from machidata.access.models import Classification
from machidata.access.policy import Action
from machidata.audit.models import AuditEvent
from tests.security.matrix import (
    ADMIN,
    ADMIN_SITE_NO_ADD,
    ADMIN_SITE_SUPERUSER_ONLY,
    MATRIX,
    NOBODY,
    Probe,
    Rule,
)
from tests.security.routes import all_routes, example_bodies
from tests.security.world import ACTORS, World, build_world


@dataclass
class Tally:
    """What one run of the matrix found."""

    probes: int = 0
    leaks: list[str] = field(default_factory=list)
    over_refusals: list[str] = field(default_factory=list)
    revealed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def failures(self) -> list[str]:
        return self.leaks + self.over_refusals + self.revealed + self.errors

    def figure(self) -> dict[str, int]:
        return {
            "probes": self.probes,
            "leaks": len(self.leaks),
            "over_refusals": len(self.over_refusals),
            "hidden_revealed": len(self.revealed),
            "server_errors": len(self.errors),
        }


def _client(world: World, name: str, *, api: bool) -> Client:
    if name == "anonymous":
        return Client()
    if api:
        return Client(HTTP_AUTHORIZATION=f"Bearer {world.tokens[name]}")
    client = Client()
    client.force_login(world.actors.users[name])
    return client


def _refused(response: Any, *, api: bool) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    if not api and response.status_code == 302:
        return str(response["Location"]).startswith((resolve_url(settings.LOGIN_URL), reverse("admin:login")))
    return False


def _send(client: Client, method: str, url: str, *, api: bool, body: Any = None) -> Any:
    if method == "GET":
        return client.get(url)
    if api:
        return getattr(client, method.lower())(url, json.dumps(body or {}), content_type="application/json")
    return getattr(client, method.lower())(url, {})


def _audit_count() -> int:
    """Audit events that record something done (a refusal met by an 外部協力者 is audited too)."""
    return AuditEvent.objects.exclude(action__in=("access.partner_refused", "access.partner_expired")).count()


def run_matrix(world: World, matrix: dict[str, Rule], actors: Iterable[str] = ACTORS) -> Tally:
    """Probe every entry of ``matrix`` as every actor; writes are probed for refusals only."""
    tally = Tally()
    clients = {(n, a): _client(world, n, api=a) for n in actors for a in (False, True)}
    bodies = example_bodies()  # a valid body, so a refusal cannot hide behind a 422
    for key, rule in matrix.items():
        for probe in rule.probes(world):
            for name in actors:
                allowed = name in probe.allowed
                writes = rule.method != "GET" and not rule.reads
                if writes and allowed:
                    continue
                before = _audit_count() if writes else 0
                body = probe.body if probe.body is not None else bodies.get(key)
                response = _send(clients[(name, rule.api)], rule.method, probe.url, api=rule.api, body=body)
                tally.probes += 1
                where = f"{key} {probe.label} as {name}: {rule.method} {probe.url} → {response.status_code}"
                if (
                    response.status_code >= 500
                    or response.status_code == 405
                    or (rule.api and response.status_code == 422)
                ):
                    tally.errors.append(where)
                    continue
                if not writes:
                    refused = _refused(response, api=rule.api)
                else:
                    # A write was refused when nothing was done: every service audits what it does.
                    # (HTML forms answer a refusal with a redirect and a message, so the status alone
                    # cannot tell.)
                    refused = _audit_count() == before and (not rule.api or response.status_code >= 400)
                if allowed and refused:
                    tally.over_refusals.append("over-refused " + where)
                elif not allowed and not refused:
                    tally.leaks.append("LEAK " + where)
                if (
                    refused
                    and probe.dataset is not None
                    and name != "anonymous"
                    and name not in world.allowed(Action.DISCOVER, probe.dataset)
                    and response.status_code != 404
                ):
                    tally.revealed.append("hidden entry revealed " + where)
    return tally


def admin_site_rules() -> dict[str, Rule]:
    """The Django admin: every registered model's list and add pages."""
    rules: dict[str, Rule] = {}
    for model in admin.site._registry:
        meta = model._meta
        label = f"{meta.app_label}.{meta.model_name}"
        for page in ("changelist", "add"):
            name = f"admin:{meta.app_label}_{meta.model_name}_{page}"
            closed = label in ADMIN_SITE_SUPERUSER_ONLY or (page == "add" and label in ADMIN_SITE_NO_ADD)
            allowed = NOBODY if closed else ADMIN
            rules[name] = Rule("GET", lambda w, name=name, allowed=allowed: [Probe(reverse(name), allowed)])
    return rules


def test_every_route_is_in_the_matrix() -> None:
    routes = all_routes()
    missing = sorted(routes - MATRIX.keys())
    stale = sorted(MATRIX.keys() - routes)
    assert not missing, "routes without an entry in tests/security/matrix.py:\n" + "\n".join(missing)
    assert not stale, "matrix entries for routes that no longer exist:\n" + "\n".join(stale)


def _api(*paths: str) -> tuple[str, ...]:
    """Route keys of every method under these API paths."""
    return tuple(f"{m} {p}" for p in paths for m in ("GET", "POST", "PUT", "PATCH", "DELETE"))


# The parts of the matrix, run as separate tests (in parallel): the first prefix that matches.
_GROUP_PREFIXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("admin", ("admin:",)),
    ("collect", _api("/api/v1/alerts", "/api/v1/opendata")),
    (
        "ebpm-analysis",
        ("ebpm:", "analysis:", "surveys:", *_api("/api/v1/ebpm", "/api/v1/analyses", "/api/v1/surveys")),
    ),
    ("collect", ("collect:", "GET /api/v1/campaigns", "POST /api/v1/campaigns", "GET /api/v1/schedules")),
    ("collect", ("POST /api/v1/schedules",)),
    ("support-api", ("GET /api/v1/support", "POST /api/v1/support", "PUT /api/v1/support")),
    (
        "publication",
        ("publish:", "GET /api/v1/publication", "POST /api/v1/publication", "PUT /api/v1/publication"),
    ),
    (
        "charts-prep",
        (
            "charts:",
            "charts_public:",
            "prep:",
            "GET /api/v1/charts",
            "POST /api/v1/charts",
            "GET /api/v1/dashboards",
            "POST /api/v1/dashboards",
        ),
    ),
    ("charts-prep", ("GET /api/v1/recipes", "POST /api/v1/recipes", "PUT /api/v1/recipes")),
    ("api", ("GET /api", "POST /api", "PUT /api", "PATCH /api", "DELETE /api")),
    ("support", ("support:",)),
    ("catalog-data", ("catalog:detail", "catalog:table_")),
)


def _group(key: str) -> str:
    """Which part of the matrix a route belongs to."""
    return next((group for group, prefixes in _GROUP_PREFIXES if key.startswith(prefixes)), "pages")


GROUPS = ("pages", "catalog-data", "publication", "charts-prep", "api", "support", "support-api", "admin")
GROUPS = (*GROUPS, "collect")  # 照会: its pages and /api/v1/campaigns, runnable on their own
GROUPS = (*GROUPS, "ebpm-analysis")  # EBPM, analyses and surveys: pages and API


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("group", GROUPS)
def test_authorization_matrix(group: str, settings: Any, tmp_path: Any) -> None:
    settings.MACHIDATA_HOME = tmp_path
    world = build_world()
    part = {k: r for k, r in (MATRIX | admin_site_rules()).items() if _group(k) == group}
    assert part, f"no routes in group {group}"
    tally = run_matrix(world, part)
    report = os.environ.get("MACHIDATA_SECURITY_REPORT")
    if report:  # `make security-report` collects the figures for docs/security.md
        with open(report, "a", encoding="utf-8") as f:
            f.write(json.dumps({"test": "authorization_matrix", "group": group, **tally.figure()}) + "\n")
    assert not tally.failures(), "\n".join(tally.failures())


_REAL_DECIDE = policy.decide


def _broken_decide(standing: policy.Standing, action: Action, subject: policy.Subject) -> bool:
    # A plausible bug: staff may read 所属限定 data.
    if (
        standing is policy.Standing.STAFF
        and action is Action.READ
        and subject.classification == Classification.RESTRICTED
    ):
        return True
    return _REAL_DECIDE(standing, action, subject)


@pytest.mark.django_db
def test_matrix_reports_a_leak(settings: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app follows a broken policy table; the matrix (which reads the real one) must report leaks."""
    settings.MACHIDATA_HOME = tmp_path
    world = build_world()
    monkeypatch.setattr(policy, "decide", _broken_decide)
    world_allowed = World.allowed

    def real_allowed(self: World, action: Action, dataset: Any) -> frozenset[str]:
        with monkeypatch.context() as m:
            m.setattr(policy, "decide", _REAL_DECIDE)
            return world_allowed(self, action, dataset)

    monkeypatch.setattr(World, "allowed", real_allowed)
    only = {
        k: MATRIX[k] for k in ("catalog:table_download", "GET /api/v1/datasets/{slug}/tables/{name}/rows")
    }
    tally = run_matrix(world, only, actors=("staff",))
    assert any(leak.startswith("LEAK catalog:table_download") for leak in tally.leaks)
    assert any("/rows" in leak for leak in tally.leaks)


def _warm_part(key: str, rule: Rule) -> str | None:
    """Which warm-cache part a route is in: the reads answered from the shared caches (query results,
    column profiles, chart and dashboard data); None for the rest."""
    if rule.method != "GET" and not rule.reads:
        return None
    if _group(key) == "catalog-data":
        return "tables"
    if _group(key) == "charts-prep" or key.startswith(
        ("POST /api/v1/query", "GET /api/v1/datasets/{slug}/tables")
    ):
        return "charts-query"
    return None


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("which", ["tables", "charts-query"])
def test_authorization_matrix_with_a_warm_cache(which: str, settings: Any, tmp_path: Any) -> None:
    """Every cached read is first made by everyone allowed, then a read grant is revoked: the matrix
    must still hold, so no answer is ever served from a cache to someone the policy now refuses."""
    from django.core.cache import cache

    from machidata.catalog.models import DatasetGrant

    settings.MACHIDATA_HOME = tmp_path
    settings.MACHIDATA_QUERY_CACHE_SECONDS = 600
    cache.clear()
    world = build_world()
    part = {k: r for k, r in MATRIX.items() if _warm_part(k, r) == which}
    assert part
    clients = {(n, a): _client(world, n, api=a) for n in ACTORS for a in (False, True)}
    bodies = example_bodies()
    warmed = 0
    for key, rule in part.items():
        for probe in rule.probes(world):
            body = probe.body if probe.body is not None else bodies.get(key)
            for name in sorted(probe.allowed):
                _send(clients[(name, rule.api)], rule.method, probe.url, api=rule.api, body=body)
                warmed += 1
    from django.db import connection

    with connection.cursor() as cursor:  # the database cache cannot list keys: count its rows
        cursor.execute(
            "SELECT COUNT(*) FROM machidata_cache WHERE cache_key LIKE %s OR cache_key LIKE %s",
            ["%catalog:query:%", "%catalog:profile:%"],
        )
        entries = cursor.fetchone()[0]
    assert entries > 0, "the warm pass left no cached results: the test would prove nothing"
    revoked, _ = DatasetGrant.objects.filter(user=world.actors.users["granted"]).delete()
    assert revoked == len(world.datasets)
    tally = run_matrix(world, part)
    report = os.environ.get("MACHIDATA_SECURITY_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as f:
            figure = {
                "test": "authorization_matrix_warm",
                "warmed": warmed,
                "cached": entries,
                **tally.figure(),
            }
            f.write(json.dumps(figure) + "\n")
    assert not tally.failures(), "\n".join(tally.failures())
