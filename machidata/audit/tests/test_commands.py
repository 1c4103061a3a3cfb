"""``verify_audit`` exits 0 on an intact chain and 1 with the broken id."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import transaction

from machidata.access.policy import Actor
from machidata.audit.models import AuditEvent
from machidata.audit.services import audit_record

pytestmark = pytest.mark.django_db


def _record(n: int) -> list[AuditEvent]:
    out = []
    for i in range(n):
        with transaction.atomic():
            out.append(audit_record(actor=Actor(username="x"), action="test.cmd", object_repr=str(i)))
    return out


def test_intact_exits_zero() -> None:
    _record(2)
    out = io.StringIO()
    call_command("verify_audit", stdout=out)  # returns normally: exit code 0
    assert "改ざんは検知されていません" in out.getvalue()


def test_broken_exits_one_with_id() -> None:
    events = _record(3)
    AuditEvent.objects.filter(pk=events[1].pk).update(action="test.forged")
    err = io.StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("verify_audit", stderr=err)
    assert exc.value.code == 1
    assert f"ID {events[1].pk}" in err.getvalue()
