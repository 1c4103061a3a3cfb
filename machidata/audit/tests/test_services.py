"""The hash chain detects tampering; audit rows roll back with their transaction."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.utils import timezone

from machidata.access.policy import ANONYMOUS, Actor, actor_for
from machidata.audit.models import AuditEvent
from machidata.audit.selectors import AuditFilters
from machidata.audit.services import (
    GENESIS,
    _digest,
    _payload,
    audit_export,
    audit_record,
    audit_verify_chain,
)
from machidata.core.errors import InvalidInput, NotFound

pytestmark = pytest.mark.django_db

ACTOR = Actor(user_id=None, username="tester")


def _record(n: int) -> list[AuditEvent]:
    events = []
    for i in range(n):
        with transaction.atomic():
            events.append(audit_record(actor=ACTOR, action="test.write", object_repr=f"対象{i}"))
    return events


def test_intact_chain_verifies() -> None:
    _record(3)
    assert audit_verify_chain() == (True, None)


def test_queryset_update_is_detected() -> None:
    events = _record(4)
    AuditEvent.objects.filter(pk=events[2].pk).update(object_repr="書き換えた")
    assert audit_verify_chain() == (False, events[2].pk)


def test_raw_sql_update_of_changes_is_detected() -> None:
    events = _record(3)
    table = AuditEvent._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {table} SET changes = %s WHERE id = %s", ['{"x": 1}', events[1].pk])  # noqa: S608 - table name from the model
    assert audit_verify_chain() == (False, events[1].pk)


def test_events_from_before_seals_keep_their_chain() -> None:
    """Release 0.1.0 chained every event to the previous one; those rows still verify that way."""
    prev, legacy = GENESIS, []
    for i in range(3):
        event = AuditEvent(
            created_at=timezone.now(),
            actor_label="旧",
            action="test.legacy",
            object_repr=str(i),
            prev_hash=prev,
        )
        event.hash = _digest(prev, _payload(event))
        event.save()
        legacy.append(event)
        prev = event.hash
    _record(2)  # new events after them (no chain) do not disturb it
    assert audit_verify_chain() == (True, None)
    table = AuditEvent._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"DELETE FROM {table} WHERE id = %s", [legacy[1].pk])  # noqa: S608 - table name from the model
    assert audit_verify_chain() == (False, legacy[2].pk)


def test_new_events_hash_their_own_content_including_the_request() -> None:
    (event,) = _record(1)
    assert event.prev_hash == ""
    AuditEvent.objects.filter(pk=event.pk).update(request_id="forged")
    assert audit_verify_chain() == (False, event.pk)


def test_model_refuses_update_and_delete() -> None:
    (event,) = _record(1)
    event.object_repr = "changed"
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()


def test_row_of_rolled_back_transaction_does_not_exist() -> None:
    class BoomError(Exception):
        pass

    def write_then_fail() -> None:
        with transaction.atomic():
            audit_record(actor=ACTOR, action="test.rolled_back", object_repr="消えるはず")
            raise BoomError

    with pytest.raises(BoomError):
        write_then_fail()
    assert not AuditEvent.objects.filter(action="test.rolled_back").exists()
    assert audit_verify_chain() == (True, None)


@pytest.mark.django_db(transaction=True)
def test_audit_record_outside_transaction_is_refused() -> None:
    with pytest.raises(RuntimeError):
        audit_record(actor=ACTOR, action="test.no_tx")


def test_export_is_admin_only(actors) -> None:
    staff = actor_for(actors.users["staff"])
    with pytest.raises(NotFound):
        audit_export(actor=staff)
    with pytest.raises(NotFound):
        audit_export(actor=ANONYMOUS)
    assert not AuditEvent.objects.filter(action="audit.export").exists()


def test_export_is_audited_with_its_filters(actors) -> None:
    admin = actor_for(actors.users["admin"])
    _record(2)
    body = audit_export(actor=admin, filters=AuditFilters(action="test.write"))
    rows = body.decode("utf-8-sig").strip().split("\r\n")
    assert len(rows) == 3  # header + the two events
    event = AuditEvent.objects.get(action="audit.export")
    assert event.actor_id == actors.users["admin"].pk
    assert event.changes["count"] == 2
    assert event.changes["filters"]["action"] == "test.write"


def test_export_refuses_unknown_encoding(actors) -> None:
    admin = actor_for(actors.users["admin"])
    with pytest.raises(InvalidInput):
        audit_export(actor=admin, encoding="latin-1")
