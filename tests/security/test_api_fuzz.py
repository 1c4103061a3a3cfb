"""API fuzzing: schemathesis generates requests for every /api/v1 operation from its OpenAPI schema.

Signed in with a bearer token of a 管理 member who also edits a 課 (the widest rights, so requests
reach the code behind the permission checks), it sends a bounded number of examples per operation
and fails on any 5xx. ``MACHIDATA_FUZZ_EXAMPLES`` raises the bound (``make security-report`` style
runs); ``MACHIDATA_SECURITY_REPORT`` collects the figures for docs/security.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from machidata.access.models import Role
from machidata.core.testing import D0, Org, make_dataset, make_token, make_user

EXAMPLES = int(os.environ.get("MACHIDATA_FUZZ_EXAMPLES", "8"))


def _schema() -> Any:
    from django.core.wsgi import get_wsgi_application

    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


schema = _schema()


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    """Calls go straight to the WSGI app, whose request_started/finished signals close old database
    connections; on PostgreSQL that closes the test's own transaction. Django's test client disconnects
    them for the same reason, and so does this."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(org: Org, settings: Any, tmp_path: Any) -> str:
    settings.MACHIDATA_HOME = tmp_path
    admin = make_user(unit=org.data_strategy, role=Role.ADMIN)
    from machidata.access.models import Membership

    Membership.objects.create(user=admin, unit=org.health_div, role=Role.EDITOR, valid_from=D0)
    make_dataset(org.health_div, title="ファジング用")
    return make_token(admin)


@pytest.fixture(scope="session")
def tally() -> Iterator[dict[str, Any]]:
    """Operations, examples and server errors of this process; written for docs/security.md at the end."""
    figures: dict[str, Any] = {"operations": set(), "examples": 0, "server_errors": 0}
    yield figures
    report = os.environ.get("MACHIDATA_SECURITY_REPORT")
    if report and figures["examples"]:
        line = {"test": "api_fuzz", **figures, "operations": len(figures["operations"])}
        with open(report, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_no_operation_answers_a_server_error(case: Any, token: str, tally: dict[str, Any]) -> None:
    tally["operations"].add(case.operation.label)
    tally["examples"] += 1
    try:
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=[not_a_server_error])
    except BaseException:  # schemathesis reports through an exception group
        tally["server_errors"] += 1
        raise
