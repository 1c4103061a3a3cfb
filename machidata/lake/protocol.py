"""The write protocol of the lake: lease → pending version row → Delta commit → committed row.

"Only versions with a committed row are visible" is not enough on its own: an append made after a
crashed, row-less commit would silently include that commit's rows. So every write (and the job
runner at start-up) first recovers the table: Delta commits after the last committed row either
belong to a pending row whose job finished (rolled forward) or are undone by restoring the head to
the last committed Delta version. Orphan Parquet files are removed only by ``purge_orphans``, which
records what it removed in the audit log.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
from deltalake import CommitProperties, PostCommitHookProperties, write_deltalake
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from machidata.access.policy import Actor, system_actor
from machidata.audit.services import audit_record
from machidata.catalog.models import Table, TableVersion, VersionMode, VersionStatus
from machidata.core.errors import Conflict, InvalidInput
from machidata.lake import storage
from machidata.lake.faults import fault_batches, fault_point
from machidata.lake.lease import (
    DEFAULT_TTL,
    acquire_lease,
    acquire_lease_waiting,
    holds_lease,
    make_holder,
    release_lease,
    renew_lease,
)
from machidata.lake.signals import version_committed
from machidata.lake.storage import ID_COLUMN, JOB_KEY, NUMBER_KEY, RECOVERY_KEY

# Versions are the product: the log and removed files are kept for a century, never vacuumed.
TABLE_PROPERTIES = {
    "delta.logRetentionDuration": "interval 36500 days",
    "delta.deletedFileRetentionDuration": "interval 36500 days",
}
# Checkpoints speed up loading; expired-log cleanup stays off so every commit's JSON is kept.
_POST_COMMIT = PostCommitHookProperties(create_checkpoint=True, cleanup_expired_logs=False)
# Row groups: the writer's default (1,048,576 rows). Smaller groups (100,000, tried in session 10 so that
# DuckDB can skip groups on the portal's filtered pages) were taken out while a CI failure was diagnosed;
# the cause was elsewhere, and they return with a CI run of their own.
SYSTEM_ACTOR = system_actor("lake")
logger = logging.getLogger(__name__)

# Batches to write: any iterable of record batches (a generator streams) or a RecordBatchReader.
BatchSource: TypeAlias = Iterable[pa.RecordBatch] | pa.RecordBatchReader


@dataclass
class RecoveryReport:
    """What recovery did to one table."""

    table_id: int
    rolled_forward: list[int] = field(default_factory=list)  # version numbers
    abandoned: list[int] = field(default_factory=list)
    restored_to: int | None = None  # Delta version the head was restored to
    purged: list[str] = field(default_factory=list)


# ---- helpers --------------------------------------------------------------------------------------


def _last_committed(table: Table) -> TableVersion | None:
    return (
        TableVersion.objects.filter(table=table, status=VersionStatus.COMMITTED).order_by("-number").first()
    )


def _last_in_delta(table: Table) -> TableVersion | None:
    """The newest version whose Delta commit is part of the table's head history (committed or purged)."""
    return (
        TableVersion.objects.filter(table=table, status__in=[VersionStatus.COMMITTED, VersionStatus.PURGED])
        .order_by("-number")
        .first()
    )


def _storage_type(t: pa.DataType) -> pa.DataType:
    # Delta keeps timestamps in microseconds; a wider unit would need an extra table feature.
    if pa.types.is_timestamp(t) and t.unit != "us":
        return pa.timestamp("us", tz=t.tz)
    return t


def _storage_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([f.with_type(_storage_type(f.type)) for f in schema])


def _current_for(table: Table, mode: str) -> TableVersion | None:
    """The committed version a write builds on; an append onto a purged head is refused."""
    head = _last_in_delta(table)
    current = head if head is not None and head.status == VersionStatus.COMMITTED else None
    if mode == VersionMode.APPEND and head is not None and current is None:
        raise InvalidInput(
            f"現在の版（第{head.number}版）は保存期間の満了などで消去されているため、追加できません。"
            "置き換えで取り込んでください。"
        )
    return current


def _check_append_schema(current: TableVersion, schema: pa.Schema) -> None:
    """Refuse an append whose columns (names and types) differ from the current version's."""
    old = [f for f in current.schema.get("fields", []) if f["name"] != ID_COLUMN]
    new = storage.delta_type_json(_storage_schema(schema))
    if [(f["name"], f["type"]) for f in old] == [(f["name"], f["type"]) for f in new]:
        return
    old_by, new_by = {f["name"]: f["type"] for f in old}, {f["name"]: f["type"] for f in new}
    missing = [n for n in old_by if n not in new_by]
    extra = [n for n in new_by if n not in old_by]
    changed = [n for n in new_by if n in old_by and old_by[n] != new_by[n]]
    parts = []
    if missing:
        parts.append("ない列: " + "、".join(missing))
    if extra:
        parts.append("増えた列: " + "、".join(extra))
    if changed:
        parts.append("型が違う列: " + "、".join(f"{n}（{old_by[n]}→{new_by[n]}）" for n in changed))
    if not parts:
        parts.append("列の順番が違います")
    raise InvalidInput(
        "追加するデータの列が現在の版と一致しません（" + "／".join(parts) + "）。",
        details={"missing": missing, "extra": extra, "changed": changed},
    )


def _with_ids(
    batches: BatchSource,
    schema: pa.Schema,
    *,
    first_id: int | None,
    renew: Any,
    counter: list[int],
    errors: list[Exception],
) -> Iterator[pa.RecordBatch]:
    """Stream the batches cast to the storage schema with ``_id`` first (numbered from ``first_id``)."""
    try:
        yield from _numbered(batches, schema, first_id=first_id, renew=renew, counter=counter)
    except Exception as exc:
        # The Delta writer (Rust) turns any exception into a generic DeltaError: keep the original
        # (e.g. an InvalidInput with a Japanese message from the reader) to raise it afterwards.
        errors.append(exc)
        raise


def _numbered(
    batches: BatchSource, schema: pa.Schema, *, first_id: int | None, renew: Any, counter: list[int]
) -> Iterator[pa.RecordBatch]:
    target = _storage_schema(schema)
    next_id = first_id
    limit = fault_batches()
    batch: pa.RecordBatch
    for handed, batch in enumerate(batches):
        if handed >= limit:
            fault_point("during_delta_write")
        if batch.schema != target:
            batch = batch.select(target.names).cast(target)  # noqa: PLW2901 - replace in place
        if next_id is not None:
            ids = pa.array(np.arange(next_id, next_id + batch.num_rows, dtype=np.int64))
            batch = pa.RecordBatch.from_arrays(  # noqa: PLW2901
                [ids, *batch.columns], schema=pa.schema([pa.field(ID_COLUMN, pa.int64()), *target])
            )
            next_id += batch.num_rows
        counter[0] += batch.num_rows
        renew()
        yield batch
    fault_point("during_delta_write")


def _commit_row(
    table: Table,
    version: TableVersion,
    delta_version: int,
    *,
    holder: str | None,
    rows_written: int | None = None,
    faults: bool = False,
) -> TableVersion:
    """Mark a pending row committed with the numbers of its Delta version, in one transaction."""
    dtable = storage.open_delta(table, delta_version)
    stats = storage.version_stats(dtable)
    schema = storage.schema_json(storage.delta_arrow_schema(dtable))
    now = timezone.now()
    reports = dict(version.reports or {})
    reports["lake"] = {"rows_written": rows_written, "files": stats.files, "max_id": stats.max_id}
    with transaction.atomic(durable=True):
        done = TableVersion.objects.filter(pk=version.pk, status=VersionStatus.PENDING).update(
            status=VersionStatus.COMMITTED,
            delta_version=delta_version,
            rows=stats.rows,
            bytes=stats.bytes,
            schema=schema,
            committed_at=now,
            reports=reports,
        )
        tables = Table.objects.filter(pk=table.pk)
        if holder is not None:
            tables = tables.filter(lease_holder=holder)
        if not done or not tables.update(current_version=version):
            raise Conflict("書き込みの途中で処理が取り消されました。もう一度取り込んでください。")
        if faults:
            fault_point("before_row_commit")
    version.refresh_from_db()
    table.current_version = version
    # Durable now: listeners (recipe re-runs) may start jobs; their failure never fails this write.
    for receiver, result in version_committed.send_robust(sender=TableVersion, version=version):
        if isinstance(result, Exception):
            logger.error("version_committed receiver %r failed: %s", receiver, result)
    return version


# ---- writing --------------------------------------------------------------------------------------


def _write(
    *,
    table: Table,
    batches: BatchSource,
    schema: pa.Schema,
    mode: str,
    job_id: str,
    actor_user_id: int | None,
    source_name: str,
    source_sha256: str,
    note: str,
    reports: dict[str, Any] | None,
    restored_from: TableVersion | None,
    lease_ttl: dt.timedelta,
    target_file_size: int | None,
    lease_wait: float = 0.0,
) -> TableVersion:
    holder = make_holder(job_id)
    acquire_lease_waiting(table, holder, lease_ttl, wait=lease_wait)
    version: TableVersion | None = None
    try:
        _recover_locked(table)
        current = _current_for(table, mode)
        if mode == VersionMode.APPEND and current is not None:
            _check_append_schema(current, schema)
        if mode == VersionMode.RESTORE:
            first_id: int | None = None  # restored rows keep their _id
        elif mode == VersionMode.APPEND and current is not None:
            max_id = storage.version_stats(storage.open_delta(table, current.delta_version)).max_id
            first_id = (max_id or 0) + 1
        else:
            first_id = 1
        # durable: the row must really be committed before the Delta write (and no caller's
        # transaction may hold SQLite's write lock for the length of a write).
        with transaction.atomic(durable=True):
            last = TableVersion.objects.filter(table=table).aggregate(n=Max("number"))["n"] or 0
            version = TableVersion.objects.create(
                table=table,
                number=last + 1,
                status=VersionStatus.PENDING,
                mode=mode,
                job_id=job_id,
                source_name=source_name,
                source_sha256=source_sha256,
                note=note,
                reports=reports or {},
                restored_from=restored_from,
                created_by_id=actor_user_id,
            )
        fault_point("after_pending_row")

        last_renew = [time.monotonic()]

        def renew() -> None:
            # Keep the lease alive during a long write; a writer that lost it must not commit a row.
            if time.monotonic() - last_renew[0] > lease_ttl.total_seconds() / 3:
                last_renew[0] = time.monotonic()
                if not renew_lease(table, holder, lease_ttl):
                    raise Conflict("書き込みの途中で更新の権利を失いました。もう一度取り込んでください。")

        counter = [0]
        errors: list[Exception] = []
        storage_schema = _storage_schema(schema)
        if first_id is not None:
            storage_schema = pa.schema([pa.field(ID_COLUMN, pa.int64()), *storage_schema])
        stream = _with_ids(batches, schema, first_id=first_id, renew=renew, counter=counter, errors=errors)
        delta_append = mode == VersionMode.APPEND and current is not None
        storage.lake_root().mkdir(parents=True, exist_ok=True)
        try:
            write_deltalake(
                storage.table_uri(table),
                pa.RecordBatchReader.from_batches(storage_schema, stream),
                mode="append" if delta_append else "overwrite",
                schema_mode=None if delta_append else "overwrite",
                configuration=TABLE_PROPERTIES,
                target_file_size=target_file_size,
                commit_properties=CommitProperties(
                    custom_metadata={JOB_KEY: job_id, NUMBER_KEY: str(version.number)}
                ),
                post_commithook_properties=_POST_COMMIT,
            )
        except Exception:
            if errors:
                raise errors[0] from None
            raise
        fault_point("after_delta_commit")
        delta_version = _find_commit(table, job_id, version.number)
        return _commit_row(table, version, delta_version, holder=holder, rows_written=counter[0], faults=True)
    except Exception:
        if version is not None:
            _tidy_after_error(table, holder)
        raise
    finally:
        release_lease(table, holder)
        table.refresh_from_db(fields=["current_version", "lease_holder", "lease_expires_at"])


def _tidy_after_error(table: Table, holder: str) -> None:
    """After a failed write, abandon its row and remove its files now rather than at the next write."""
    if not holds_lease(table, holder):
        return  # someone else took the table over; their recovery does this
    try:
        _recover_locked(table)
    except Exception:  # the original error matters more; the next write recovers again
        logger.exception("lake: recovery after a failed write of table %s failed", table.pk)


def _find_commit(table: Table, job_id: str, number: int) -> int:
    """The Delta version of our own commit (the head, since we hold the lease)."""
    dtable = storage.open_delta(table)
    for info in reversed(storage.commit_history(dtable, after=max(dtable.version() - 10, -1))):
        if info.get(JOB_KEY) == job_id and str(info.get(NUMBER_KEY)) == str(number):
            return int(info["version"])
    raise RuntimeError(f"Delta commit of job {job_id} not found")


def write_version(
    *,
    table: Table,
    batches: BatchSource,
    schema: pa.Schema,
    mode: Literal["replace", "append"],
    job_id: str,
    actor_user_id: int | None = None,
    source_name: str = "",
    source_sha256: str = "",
    note: str = "",
    reports: dict[str, Any] | None = None,
    lease_ttl: dt.timedelta = DEFAULT_TTL,
    target_file_size: int | None = None,
    lease_wait: float = 0.0,
) -> TableVersion:
    """Write a new version (replace or append) from streamed batches and return its committed row.

    ``lease_wait``: seconds to wait for another writer of the table to finish (0: refuse at once)."""
    if mode not in (VersionMode.REPLACE, VersionMode.APPEND):
        raise InvalidInput(f"更新の方法「{mode}」は使えません（replace か append）。")
    if ID_COLUMN in schema.names:
        raise InvalidInput(f"列名「{ID_COLUMN}」はシステムが使うため、ほかの列名にしてください。")
    if not schema.names:
        raise InvalidInput("列が1つもありません。")
    return _write(
        table=table,
        batches=batches,
        schema=schema,
        mode=mode,
        job_id=job_id,
        actor_user_id=actor_user_id,
        source_name=source_name,
        source_sha256=source_sha256,
        note=note,
        reports=reports,
        restored_from=None,
        lease_ttl=lease_ttl,
        target_file_size=target_file_size,
        lease_wait=lease_wait,
    )


def restore_version(
    *,
    table: Table,
    version: TableVersion,
    job_id: str,
    actor_user_id: int | None = None,
    note: str = "",
    lease_ttl: dt.timedelta = DEFAULT_TTL,
) -> TableVersion:
    """Make a NEW version equal to an older one (its rows, with the same ``_id``s, streamed)."""
    if version.table_id != table.pk or version.status != VersionStatus.COMMITTED:
        raise InvalidInput("戻す先の版が見つかりません。")
    from machidata.lake.readers import arrow_schema, files_for

    schema = arrow_schema(version)
    data = pads.dataset(files_for(version), format="parquet", schema=schema)
    return _write(
        table=table,
        batches=data.to_batches(),
        schema=schema,
        mode=VersionMode.RESTORE,
        job_id=job_id,
        actor_user_id=actor_user_id,
        source_name=version.source_name,
        source_sha256=version.source_sha256,
        note=note or f"第{version.number}版に戻しました",
        reports={"restored_from_number": version.number},
        restored_from=version,
        lease_ttl=lease_ttl,
        target_file_size=None,
    )


# ---- recovery -------------------------------------------------------------------------------------


def _recover_locked(table: Table, report: RecoveryReport | None = None) -> RecoveryReport:
    """Recover one table; the caller holds its lease."""
    report = report or RecoveryReport(table_id=table.pk)
    pending = {
        (v.job_id, v.number): v
        for v in TableVersion.objects.filter(table=table, status=VersionStatus.PENDING)
    }
    if storage.delta_exists(table):
        last = _last_in_delta(table)  # a purged head is still the head Delta knows
        base = last.delta_version if last is not None else None
        dtable = storage.open_delta(table)
        # Whether the head still equals the last committed version (before any commit after it).
        clean = True
        for info in storage.commit_history(dtable, after=base):
            number = str(info.get(NUMBER_KEY, ""))
            key = (str(info.get(JOB_KEY, "")), int(number) if number.isdigit() else -1)
            if base is not None and str(info.get(RECOVERY_KEY)) == str(base):
                clean = True  # an earlier recovery already restored the head to ``base``
            elif key in pending and info.get("operation") == "WRITE" and (clean or base is None):
                # The job wrote its commit but died before marking its row: roll forward.
                row = _commit_row(table, pending.pop(key), int(info["version"]), holder=None)
                report.rolled_forward.append(row.number)
                base, clean = row.delta_version, True
            else:
                clean = False
        if not clean and base is not None:
            # A commit without a row: put the head back so no later version can include it.
            dtable.restore(
                base, commit_properties=CommitProperties(custom_metadata={RECOVERY_KEY: str(base)})
            )
            report.restored_to = base
        # With no committed version at all the next write overwrites, so nothing can leak.
    if pending:
        TableVersion.objects.filter(pk__in=[v.pk for v in pending.values()]).update(
            status=VersionStatus.ABANDONED
        )
        report.abandoned.extend(sorted(n for _, n in pending))
    report.purged = _purge_locked(table, actor=SYSTEM_ACTOR)
    report.purged += _finish_version_purges(table)
    return report


def recover_table(table: Table, *, ttl: dt.timedelta = DEFAULT_TTL) -> RecoveryReport:
    """Recover one table after a crash (roll forward, restore the head, abandon, purge orphans)."""
    holder = make_holder("recovery")
    acquire_lease(table, holder, ttl)
    try:
        return _recover_locked(table)
    finally:
        release_lease(table, holder)
        table.refresh_from_db(fields=["current_version", "lease_holder", "lease_expires_at"])


def recover_all() -> list[RecoveryReport]:
    """Recover every table (job runner start-up); tables a live writer is busy with are skipped."""
    reports = []
    for table in Table.objects.order_by("pk"):
        try:
            reports.append(recover_table(table))
        except Conflict:
            continue  # its writer is alive and will recover the table before its next write
    return reports


# ---- purge ----------------------------------------------------------------------------------------


def _purge_locked(table: Table, *, actor: Actor) -> list[str]:
    """Delete unreferenced files (caller holds the lease), recording them in the audit log first."""
    orphans = storage.unreferenced_files(table)
    if not orphans:
        return []
    root = storage.table_path(table)
    names = [str(p.relative_to(root)) for p in orphans]
    sizes = {str(p.relative_to(root)): p.stat().st_size for p in orphans if p.exists()}
    # Recorded (and committed) before deleting: a crash in between leaves a record and files the
    # next purge removes again, never a removal nobody recorded.
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="lake.purge",
            obj=table,
            changes={"storage_key": table.storage_key, "files": names, "bytes": sum(sizes.values())},
        )
    for path in orphans:
        path.unlink(missing_ok=True)
    return names


def purge_orphans(table: Table, *, actor: Actor = SYSTEM_ACTOR) -> list[str]:
    """Remove files no Delta commit references (left by crashed writers); returns and audits them."""
    holder = make_holder("purge")
    acquire_lease(table, holder, DEFAULT_TTL)
    try:
        return _purge_locked(table, actor=actor)
    finally:
        release_lease(table, holder)


# ---- purging versions (retention) -----------------------------------------------------------------

# The tombstone list at the lake root (a name no table can have): one JSON line per purged version.
# It travels inside every later backup, and ``machidata restore --purged`` / ``backup-prune`` apply
# it to backups made before the purge (see docs/privacy.md).
PURGE_LEDGER = ".purged-versions.jsonl"


@dataclass
class VersionPurge:
    """What one purge of versions did to one table."""

    table_id: int
    numbers: list[int] = field(default_factory=list)  # versions marked purged now
    files: list[str] = field(default_factory=list)  # data files deleted (relative to the table folder)
    bytes: int = 0
    shared: int = 0  # files of the purged versions kept because a remaining version still uses them
    log_files: list[str] = field(default_factory=list)  # log files whose statistics were scrubbed


def ledger_path() -> Path:
    """The tombstone list of this home's lake."""
    return storage.lake_root() / PURGE_LEDGER


def read_ledger(path: Path | None = None) -> list[dict[str, Any]]:
    """The tombstones of a ledger file (this lake's by default); unreadable lines are skipped."""
    source = Path(path) if path is not None else ledger_path()
    if not source.is_file():
        return []
    out = []
    for line in source.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("storage_key") and isinstance(entry.get("number"), int):
            out.append(entry)
    return out


def _ledger_add(entries: list[dict[str, Any]]) -> None:
    known = {(e["storage_key"], e["number"]) for e in read_ledger()}
    fresh = [e for e in entries if (e["storage_key"], e["number"]) not in known]
    if not fresh:
        return
    storage.lake_root().mkdir(parents=True, exist_ok=True)
    with ledger_path().open("a", encoding="utf-8") as fh:
        for entry in fresh:
            fh.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
        fh.flush()


def _names_of(table: Table, version: TableVersion) -> set[str]:
    if version.delta_version is None:
        return set()
    return storage.version_file_names(storage.open_delta(table, version.delta_version))


def _unfinished(table: Table) -> list[TableVersion]:
    return [
        v
        for v in TableVersion.objects.filter(table=table, status=VersionStatus.PURGED).order_by("number")
        if not ((v.reports or {}).get("purge") or {}).get("done")
    ]


def _erase_locked(table: Table, purged: list[TableVersion], result: VersionPurge) -> None:
    """Delete the files only purged versions use, scrub their statistics from the log, mark them done."""
    if not purged:
        return
    keep: set[str] = set()
    for kept in TableVersion.objects.filter(table=table, status=VersionStatus.COMMITTED):
        keep |= _names_of(table, kept)
    own = {version.pk: _names_of(table, version) for version in purged}
    names: set[str] = set().union(*own.values())
    doomed = sorted(names - keep)
    result.shared += len(names & keep)
    root = storage.table_path(table)
    _ledger_add(
        [
            {
                "storage_key": table.storage_key,
                "number": v.number,
                "delta_version": v.delta_version,
                "files": sorted(own[v.pk] - keep),
                "purged_at": ((v.reports or {}).get("purge") or {}).get("at", ""),
                "tombstone": {k: x for k, x in ((v.reports or {}).get("purge") or {}).items() if k != "done"},
            }
            for v in purged
        ]
    )
    fault_point("purge_after_mark")
    result.log_files += storage.scrub_log_stats(table, set(doomed))
    for index, name in enumerate(doomed):
        path = root / name
        if path.exists():
            result.bytes += path.stat().st_size
            path.unlink()
            result.files.append(name)
        if index == 0:
            fault_point("purge_during_delete")
    with transaction.atomic():
        for version in purged:
            reports = dict(version.reports or {})
            reports["purge"] = {**(reports.get("purge") or {}), "done": True}
            TableVersion.objects.filter(pk=version.pk).update(reports=reports)


def _finish_version_purges(table: Table) -> list[str]:
    """Finish purges a crash interrupted (versions marked purged whose files may remain); caller holds the lease."""
    unfinished = _unfinished(table)
    if not unfinished:
        return []
    result = VersionPurge(table_id=table.pk)
    _erase_locked(table, unfinished, result)
    return result.files


def purge_versions(
    *,
    table: Table,
    numbers: Iterable[int],
    actor: Actor,
    tombstone: dict[str, Any],
    allow_current: bool = False,
) -> VersionPurge:
    """Remove versions' data for good: the rows stay as tombstones (status 消去済み), the files go.

    ``tombstone`` says why (the rule or decision; kept on the version as ``reports["purge"]`` and in
    the audit event ``lake.version_purge``). Refused: a version that is not committed, and the
    current version unless ``allow_current`` (an explicit decision the caller has recorded). Files a
    remaining version still uses (an append shares its predecessor's files) are kept. The versions
    are marked (and audited) in one transaction before any file is deleted, so a crash leaves
    unreadable-but-present files that the next recovery of the table deletes, never a committed
    version with files missing. Already purged versions in ``numbers`` are finished, not refused.
    """
    wanted = sorted(set(numbers))
    if not wanted:
        return VersionPurge(table_id=table.pk)
    holder = make_holder("purge-versions")
    acquire_lease(table, holder, DEFAULT_TTL)
    try:
        _recover_locked(table)
        table.refresh_from_db(fields=["current_version"])
        rows = list(TableVersion.objects.filter(table=table, number__in=wanted).order_by("number"))
        missing = sorted(set(wanted) - {v.number for v in rows})
        if missing:
            raise InvalidInput(
                "消去する版が見つかりません: " + "、".join(f"第{n}版" for n in missing),
                details={"missing": missing},
            )
        unusable = [v.number for v in rows if v.status not in (VersionStatus.COMMITTED, VersionStatus.PURGED)]
        if unusable:
            raise InvalidInput(
                "確定していない版は消去できません: " + "、".join(f"第{n}版" for n in unusable),
                details={"not_committed": unusable},
            )
        targets = [v for v in rows if v.status == VersionStatus.COMMITTED]
        current = [v for v in targets if v.pk == table.current_version_id]
        if current and not allow_current:
            raise Conflict(
                f"第{current[0].number}版は現在の版です。現在の版は、理由を記録した明示の決定がなければ消去しません。"
            )
        now = timezone.now()
        result = VersionPurge(table_id=table.pk, numbers=[v.number for v in targets])
        with transaction.atomic(durable=True):
            for version in targets:
                reports = dict(version.reports or {})
                reports["purge"] = {"at": now.isoformat(), **tombstone, "done": False}
                updated = TableVersion.objects.filter(pk=version.pk, status=VersionStatus.COMMITTED).update(
                    status=VersionStatus.PURGED, reports=reports
                )
                if not updated:
                    raise Conflict("消去の途中で版の状態が変わりました。もう一度実行してください。")
                version.status, version.reports = VersionStatus.PURGED, reports
                audit_record(
                    actor=actor,
                    action="lake.version_purge",
                    obj=version,
                    changes={
                        "storage_key": table.storage_key,
                        "number": version.number,
                        "delta_version": version.delta_version,
                        "rows": version.rows,
                        "current": bool(current) and version.pk == current[0].pk,
                        **{k: v for k, v in tombstone.items() if k not in {"at", "done"}},
                    },
                )
            if current:
                Table.objects.filter(pk=table.pk).update(current_version=None)
        _erase_locked(table, targets, result)
        return result
    finally:
        release_lease(table, holder)
        table.refresh_from_db(fields=["current_version", "lease_holder", "lease_expires_at"])


def apply_ledger(entries: list[dict[str, Any]], *, actor: Actor, note: str) -> list[str]:
    """Purge every still-committed version a tombstone list names (a restore of a backup made before
    the purge); returns ``<storage key>/<number>`` of those purged now. Unknown tables are skipped."""
    by_table: dict[str, dict[int, dict[str, Any]]] = {}
    for entry in entries:
        by_table.setdefault(str(entry["storage_key"]), {})[int(entry["number"])] = entry
    done: list[str] = []
    for key, wanted in sorted(by_table.items()):
        table = Table.objects.filter(storage_key=key).first()
        if table is None:
            continue
        numbers = sorted(
            TableVersion.objects.filter(
                table=table, number__in=list(wanted), status=VersionStatus.COMMITTED
            ).values_list("number", flat=True)
        )
        for number in numbers:
            tombstone = dict(wanted[number].get("tombstone") or {})
            tombstone["applied"] = note
            purge_versions(
                table=table, numbers=[number], actor=actor, tombstone=tombstone, allow_current=True
            )
            done.append(f"{key}/{number}")
    return done
