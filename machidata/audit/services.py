"""Writing audit events; called by every service inside its own transaction."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import transaction
from django.utils import timezone

from machidata.access.policy import Actor
from machidata.audit.models import AuditEvent
from machidata.core.context import current_request_meta

GENESIS = "0" * 64


def _digest(prev_hash: str, payload: dict[str, Any]) -> str:
    """An event's hash: its content, after the previous event's hash for events made before seals."""
    body = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def _payload(event: AuditEvent) -> dict[str, Any]:
    payload = {
        "created_at": event.created_at.isoformat(),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "changes": event.changes,
    }
    if not event.prev_hash:  # events made since seals also cover where the request came from
        payload |= {"request_id": event.request_id, "ip": event.ip}
    return payload


def audit_record(
    *,
    actor: Actor,
    action: str,
    obj: Any = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event; must run inside the caller's transaction so both commit or neither."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must be called inside transaction.atomic()")
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:300]
    meta = current_request_meta()
    event = AuditEvent(
        created_at=timezone.now(),
        actor_id=actor.user_id,
        actor_label=actor.label(),
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        changes=json.loads(json.dumps(changes or {}, ensure_ascii=False, default=str)),
        request_id=meta.get("request_id", ""),
        ip=meta.get("ip") or None,
        prev_hash="",
    )
    event.hash = _digest(event.prev_hash, _payload(event))
    event.save()
    return event


def event_hash_ok(event: AuditEvent) -> bool:
    """Whether the event's stored hash still matches its content."""
    return _digest(event.prev_hash, _payload(event)) == event.hash


def audit_verify_chain() -> tuple[bool, int | None]:
    """Check every event's own hash, and the chain of the events made before seals existed.

    Returns (ok, id of the first broken event). Deletions and the seals are checked by
    ``audit.seals.audit_verify``.
    """
    prev = GENESIS
    for event in AuditEvent.objects.order_by("id").iterator():
        legacy = event.prev_hash != ""
        if not event_hash_ok(event) or (legacy and event.prev_hash != prev):
            return False, event.pk
        prev = event.hash if legacy else prev
    return True, None


def audit_export(*, actor: Actor, filters: Any = None, encoding: str = "utf-8") -> bytes:
    """The filtered audit log as CSV (管理 only); the export itself is recorded as "audit.export"."""
    from dataclasses import asdict

    from machidata.audit.exports import ENCODINGS, events_to_csv
    from machidata.audit.selectors import AuditFilters, audit_event_list
    from machidata.core.errors import InvalidInput

    if encoding not in ENCODINGS:
        raise InvalidInput("文字コードは utf-8 か cp932 を指定してください。", details={"encoding": encoding})
    filters = filters or AuditFilters()
    with transaction.atomic():
        events = audit_event_list(actor=actor, filters=filters)
        count = events.count()
        body = events_to_csv(events.iterator(), encoding=encoding)
        audit_record(
            actor=actor,
            action="audit.export",
            object_type="audit.auditevent",
            object_repr=f"監査ログCSV（{count}件）",
            changes={"filters": asdict(filters), "count": count, "encoding": encoding},
        )
    return body
