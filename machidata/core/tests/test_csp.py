"""The Content-Security-Policy header, set by django-csp from ``settings.CONTENT_SECURITY_POLICY``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from machidata.core.testing import Actors

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[3]


def directives(header: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def test_pages_forbid_inline_code_and_other_origins(actors: Actors) -> None:
    for client, path in ((Client(), "/accounts/login/"), (actors.client("staff"), "/catalog/")):
        policy = directives(client.get(path)["Content-Security-Policy"])
        assert policy["script-src"] == ["'self'"]
        assert policy["style-src"] == ["'self'"]
        assert policy["object-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert not any("unsafe" in v or "*" in v or "http" in v for vs in policy.values() for v in vs)


def test_admin_may_run_its_inline_widgets_but_nothing_from_elsewhere() -> None:
    response = Client().get("/admin/login/")
    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    assert "script-src" not in policy  # falls back to default-src 'self'
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]


def test_a_view_that_sets_its_own_policy_keeps_it() -> None:
    from django.http import HttpResponse
    from django.test import RequestFactory

    from machidata.core.middleware import ContentSecurityPolicyMiddleware

    def svg(request: Any) -> HttpResponse:
        response = HttpResponse("<svg/>", content_type="image/svg+xml")
        response["Content-Security-Policy"] = "default-src 'none'"
        return response

    middleware = ContentSecurityPolicyMiddleware(svg)
    assert middleware(RequestFactory().get("/x.svg"))["Content-Security-Policy"] == "default-src 'none'"


def test_https_deployments_upgrade_requests(tmp_path: Path) -> None:
    """Read in a fresh interpreter: the policy is computed from the environment when settings load."""
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'machidata.config.settings'; django.setup(); "
        "from django.conf import settings; "
        "print('upgrade-insecure-requests' in settings.CONTENT_SECURITY_POLICY['DIRECTIVES'])"
    )
    seen = {}
    for https in ("1", "0"):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MACHIDATA_", "DJANGO_"))}
        env.update(MACHIDATA_HOME=str(tmp_path), MACHIDATA_HTTPS=https, PYTHONPATH=str(ROOT))
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
        )
        seen[https] = done.stdout.strip()
    assert seen == {"1": "True", "0": "False"}
