"""Seals over the audit log: batches of events digested and chained, with a copy outside the database.

Events no longer chain to each other (writers would all wait for one chain head); each carries the
hash of its own content. Every minute the job runner seals the events older than
``MACHIDATA_AUDIT_SEAL_GRACE_SECONDS`` that follow the last seal: one ``AuditSeal`` row holding the
digest of exactly those events' ids and hashes, chained to the previous seal, and the same seal
appended as a JSON line to ``MACHIDATA_AUDIT_SEAL_FILE`` after the commit. ``audit_verify`` then
finds an edited event (its hash), a deleted or inserted event (the seal's count and digest), an
edited seal (the seal chain) and deleted newest events together with their seals (the file still
lists the seals). Events younger than the last seal are reported as unsealed; that is the window in
which a deletion is not yet detectable.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from machidata.audit.models import AuditEvent, AuditSeal
from machidata.audit.services import GENESIS, audit_verify_chain

BATCH = 10_000  # events per seal at most
_SEAL_LOCK_KEY = 4_310_002  # PostgreSQL advisory lock: one sealer at a time (writers never take it)
logger = logging.getLogger("machidata.audit.seal")


def seal_file() -> Path:
    """Where seals are appended outside the database."""
    configured = settings.MACHIDATA_AUDIT_SEAL_FILE
    return Path(configured) if configured else Path(settings.MACHIDATA_HOME) / "audit-seals.jsonl"


def _events_digest(rows: list[tuple[int, str]]) -> str:
    sha = hashlib.sha256()
    for pk, digest in rows:
        sha.update(f"{pk}:{digest}\n".encode())
    return sha.hexdigest()


def _seal_body(seal: AuditSeal) -> dict[str, Any]:
    return {
        "number": seal.number,
        "first_event_id": seal.first_event_id,
        "last_event_id": seal.last_event_id,
        "count": seal.count,
        "events_digest": seal.events_digest,
        "created_at": seal.created_at.isoformat(),
    }


def _seal_hash(prev_hash: str, seal: AuditSeal) -> str:
    body = json.dumps(_seal_body(seal), sort_keys=True)
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def _append_outside(seal: AuditSeal) -> None:
    """Append the seal to the file outside the database (after the commit), and log it."""
    line = json.dumps({**_seal_body(seal), "prev_hash": seal.prev_hash, "hash": seal.hash}, sort_keys=True)
    path = seal_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        logger.exception("audit seal %s could not be written to %s", seal.number, path)
    logger.info("audit seal %s", line)


def audit_seal(*, now: dt.datetime | None = None) -> list[AuditSeal]:
    """Seal the events old enough that follow the last seal; returns the new seals (maybe none)."""
    cutoff = (now or timezone.now()) - dt.timedelta(seconds=settings.MACHIDATA_AUDIT_SEAL_GRACE_SECONDS)
    made: list[AuditSeal] = []
    while True:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cur:
                    cur.execute("SELECT pg_advisory_xact_lock(%s)", [_SEAL_LOCK_KEY])
            last = AuditSeal.objects.order_by("-number").first()
            start = last.last_event_id if last else 0
            # The batch is a prefix in id order: it stops before the first event still too young,
            # so no sealed range can later gain an event that committed late.
            young = (
                AuditEvent.objects.filter(pk__gt=start, created_at__gt=cutoff)
                .order_by("pk")
                .values_list("pk", flat=True)
                .first()
            )
            rows = AuditEvent.objects.filter(pk__gt=start).order_by("pk")
            if young is not None:
                rows = rows.filter(pk__lt=young)
            batch = list(rows.values_list("pk", "hash")[:BATCH])
            if not batch:
                return made
            seal = AuditSeal(
                number=(last.number + 1) if last else 1,
                first_event_id=batch[0][0],
                last_event_id=batch[-1][0],
                count=len(batch),
                events_digest=_events_digest(batch),
                prev_hash=last.hash if last else GENESIS,
                created_at=timezone.now(),
            )
            seal.hash = _seal_hash(seal.prev_hash, seal)
            seal.save()
            transaction.on_commit(lambda seal=seal: _append_outside(seal))  # type: ignore[misc]
        made.append(seal)


@dataclass
class AuditReport:
    """What ``audit_verify`` found; ``problems`` are Japanese sentences for the operator."""

    events: int = 0
    sealed_events: int = 0
    seals: int = 0
    unsealed_events: int = 0
    problems: list[str] = field(default_factory=list)
    first_broken_event: int | None = None

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems


def _read_outside() -> dict[int, dict[str, Any]] | None:
    path = seal_file()
    if not path.exists():
        return None
    out = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            entry = json.loads(line)
            out[int(entry["number"])] = entry
        except (ValueError, KeyError, TypeError):
            out[-n] = {"unreadable": line}
    return out


def _check_seals(report: AuditReport) -> None:
    """Each seal covers every event after the previous seal's last id up to its own last id."""
    prev_hash, prev_last = GENESIS, 0
    for seal in AuditSeal.objects.order_by("number").iterator():
        report.seals += 1
        if seal.prev_hash != prev_hash or _seal_hash(seal.prev_hash, seal) != seal.hash:
            report.problems.append(f"封印{seal.number}が書き換えられているか、封印の連鎖が途切れています。")
        rows = list(
            AuditEvent.objects.filter(pk__gt=prev_last, pk__lte=seal.last_event_id)
            .order_by("pk")
            .values_list("pk", "hash")
        )
        if len(rows) != seal.count or _events_digest(rows) != seal.events_digest:
            report.problems.append(
                f"封印{seal.number}（ID {seal.first_event_id}〜{seal.last_event_id}）の記録が削除・追加・変更されています"
                f"（封印時 {seal.count}件、いま {len(rows)}件）。"
            )
        report.sealed_events += len(rows)
        prev_hash, prev_last = seal.hash, max(prev_last, seal.last_event_id)


def _check_outside(report: AuditReport) -> None:
    outside = _read_outside()
    inside = {s.number: s for s in AuditSeal.objects.all()}
    if outside is None:
        if inside:
            report.problems.append(f"データベースの外の封印記録（{seal_file()}）がありません。")
        return
    for key, entry in sorted(outside.items()):
        if key < 0:
            report.problems.append(f"外部の封印記録の{-key}行目を読めません。")
            continue
        seal = inside.get(key)
        if seal is None:
            report.problems.append(
                f"外部の封印記録にある封印{key}がデータベースにありません（新しい記録が封印ごと削除された可能性があります）。"
            )
        elif entry.get("hash") != seal.hash:
            report.problems.append(f"封印{key}がデータベースの外の記録と一致しません。")
    missing = sorted(set(inside) - {k for k in outside if k > 0})
    if missing:
        report.problems.append(f"封印{missing[0]}など{len(missing)}件が外部の封印記録にありません。")


def audit_verify() -> AuditReport:
    """Check every event's hash, the pre-seal chain, every seal, and the seals kept outside the database."""
    report = AuditReport(events=AuditEvent.objects.count())
    ok, broken = audit_verify_chain()
    if not ok:
        report.first_broken_event = broken
        report.problems.append(f"ID {broken} の記録の内容が変更されています（ハッシュが一致しません）。")
    _check_seals(report)
    _check_outside(report)
    last = AuditSeal.objects.order_by("-number").first()
    report.unsealed_events = AuditEvent.objects.filter(pk__gt=last.last_event_id if last else 0).count()
    return report
