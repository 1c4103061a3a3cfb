"""Audit seals: what they detect, and what is not sealed yet."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction

from machidata.access.policy import Actor
from machidata.audit.models import AuditEvent, AuditSeal
from machidata.audit.seals import audit_seal, audit_verify, seal_file
from machidata.audit.services import audit_record

pytestmark = pytest.mark.django_db(transaction=True)  # seals reach the file on commit


@pytest.fixture(autouse=True)
def _home(settings: Any, tmp_path: Path) -> None:
    settings.MACHIDATA_HOME = tmp_path
    settings.MACHIDATA_AUDIT_SEAL_FILE = ""
    settings.MACHIDATA_AUDIT_SEAL_GRACE_SECONDS = 300


def _record(n: int, tag: str = "e") -> list[AuditEvent]:
    out = []
    for i in range(n):
        with transaction.atomic():
            out.append(audit_record(actor=Actor(username="x"), action="test.seal", object_repr=f"{tag}{i}"))
    return out


def _later(minutes: int = 10) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)


def _file_numbers() -> list[int]:
    return [json.loads(line)["number"] for line in seal_file().read_text().splitlines()]


def test_young_events_wait_for_the_grace_period() -> None:
    _record(3)
    assert audit_seal() == []  # all younger than five minutes
    report = audit_verify()
    assert report.ok
    assert (report.seals, report.unsealed_events) == (0, 3)


def test_a_seal_covers_the_old_events_in_the_database_and_in_the_file() -> None:
    events = _record(3)
    seals = audit_seal(now=_later())
    assert len(seals) == 1
    seal = AuditSeal.objects.get()
    assert (seal.first_event_id, seal.last_event_id, seal.count) == (events[0].pk, events[-1].pk, 3)
    assert _file_numbers() == [1]
    _record(2, "f")
    assert len(audit_seal(now=_later())) == 1
    assert _file_numbers() == [1, 2]
    assert AuditSeal.objects.get(number=2).prev_hash == seal.hash
    report = audit_verify()
    assert report.ok, report.problems
    assert (report.events, report.sealed_events, report.unsealed_events) == (5, 5, 0)


def test_an_edited_event_is_named() -> None:
    events = _record(3)
    audit_seal(now=_later())
    AuditEvent.objects.filter(pk=events[1].pk).update(object_repr="書き換え")
    report = audit_verify()
    assert report.first_broken_event == events[1].pk
    assert any(f"ID {events[1].pk}" in p for p in report.problems)


def test_a_deleted_sealed_event_is_found_even_if_replaced() -> None:
    events = _record(3)
    audit_seal(now=_later())
    AuditEvent.objects.filter(pk=events[1].pk).delete()  # the queryset bypasses the model's refusal
    assert any("封印1" in p and "2件" in p for p in audit_verify().problems)
    # A forged event put back under the same id with a self-consistent hash is still caught.
    with transaction.atomic():
        forged = audit_record(actor=Actor(username="x"), action="test.seal", object_repr="e1")
    AuditEvent.objects.filter(pk=forged.pk).update(id=events[1].pk)
    assert any("封印1" in p for p in audit_verify().problems)


def test_deleting_the_newest_events_with_their_seal_shows_in_the_outside_file() -> None:
    _record(2)
    audit_seal(now=_later())
    newest = _record(2, "new")
    audit_seal(now=_later())
    AuditEvent.objects.filter(pk__in=[e.pk for e in newest]).delete()
    AuditSeal.objects.filter(number=2).delete()
    problems = audit_verify().problems
    assert any("封印2がデータベースにありません" in p for p in problems)


def test_an_edited_seal_breaks_the_seal_chain() -> None:
    _record(2)
    audit_seal(now=_later())
    AuditSeal.objects.filter(number=1).update(count=1)
    assert any("封印1が書き換えられている" in p for p in audit_verify().problems)


def test_a_removed_outside_file_is_reported() -> None:
    _record(1)
    audit_seal(now=_later())
    seal_file().unlink()
    assert any("データベースの外の封印記録" in p for p in audit_verify().problems)


def test_the_runner_seals_every_minute() -> None:
    from machidata.jobs.runner import PERIODIC

    assert "machidata.audit.jobs.seal_audit_log" in PERIODIC


def test_command_seals_and_reports(settings: Any) -> None:
    settings.MACHIDATA_AUDIT_SEAL_GRACE_SECONDS = 0
    _record(2)
    out = io.StringIO()
    call_command("verify_audit", "--seal", stdout=out)
    assert "封印しました: 1件" in out.getvalue()
    assert "改ざんは検知されていません" in out.getvalue()
    AuditSeal.objects.filter(number=1).update(count=5)
    err = io.StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("verify_audit", stderr=err, stdout=io.StringIO())
    assert exc.value.code == 1
    assert "封印1" in err.getvalue()
