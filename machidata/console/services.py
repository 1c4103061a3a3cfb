"""Running a statement from the SQL console: check, resolve the tables for the actor, run, audit.

Every statement is audited, whatever becomes of it: ``sql.query`` (ran: the tables and versions it
read, rows shown, whether they were cut, the time taken), ``sql.refused`` (the check or the policy
said no) and ``sql.failed`` (time or memory limit, or a DuckDB error). The statement's text is kept
(at most :data:`AUDIT_SQL_CHARS` characters) so 管理 can see what was asked.

Each statement costs a process with up to ``MACHIDATA_SQL_MEMORY_MB`` + 1 GB of address space, so
one person runs one statement at a time and the server at most ``MACHIDATA_SQL_CONCURRENCY``
(lock files under ``MACHIDATA_HOME/run/sql``, shared by every web worker; the kernel releases a
lock when its process dies, so a crash never leaves a slot taken).
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

from django.conf import settings
from django.db import transaction

from machidata.access.policy import Actor
from machidata.audit.services import audit_record
from machidata.console.selectors import OpenedTable, open_tables
from machidata.core.errors import Conflict, InvalidInput, NotFound
from machidata.deid.services import LinkageRefused, refuse_linkage
from machidata.engine import EngineError
from machidata.engine.sql import CheckedSql, SqlRefused, check_sql, run_sql

AUDIT_SQL_CHARS: Final = 4_000


@dataclass(frozen=True)
class SqlAnswer:
    """What the console shows: columns, rows (JSON-safe), whether the rows were cut, and what was read."""

    columns: list[dict[str, str]]
    rows: list[list[Any]]
    truncated: bool
    max_rows: int
    duration_ms: int
    tables: list[dict[str, Any]] = field(default_factory=list)

    @property
    def row_count(self) -> int:
        """Rows shown (at most ``max_rows``)."""
        return len(self.rows)


BUSY_USER: Final = "前の SQL がまだ実行中です。終わってから、もう一度お試しください。"
BUSY_SERVER: Final = "SQL の実行が混み合っています。しばらく待ってから、もう一度お試しください。"


def _try_lock(path: Path, stack: ExitStack) -> bool:
    """Take an exclusive lock on ``path`` without waiting; kept until ``stack`` closes."""
    handle: IO[str] = stack.enter_context(path.open("a"))
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def statement_slot(actor: Actor) -> Iterator[None]:
    """One of the server's ``MACHIDATA_SQL_CONCURRENCY`` slots and the actor's own; Conflict when busy."""
    folder = Path(settings.MACHIDATA_HOME) / "run" / "sql"
    folder.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        if not _try_lock(folder / f"user-{actor.user_id}.lock", stack):
            raise Conflict(BUSY_USER)
        slots = max(1, int(settings.MACHIDATA_SQL_CONCURRENCY))
        if not any(_try_lock(folder / f"slot-{i}.lock", stack) for i in range(slots)):
            raise Conflict(BUSY_SERVER)
        yield


def _touched(opened: list[OpenedTable]) -> list[dict[str, Any]]:
    return [
        {"dataset": o.table.dataset.slug, "table": o.table.name, "version": o.version.number} for o in opened
    ]


def _audit(actor: Actor, action: str, sql: str, **changes: Any) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=action,
            object_type="console.sql",
            object_repr="SQLコンソール",
            changes={"sql": sql[:AUDIT_SQL_CHARS], "sql_chars": len(sql), **changes},
        )


def sql_run(*, actor: Actor, sql: str) -> SqlAnswer:
    """Run one read-only statement over the tables the actor may read.

    Raises InvalidInput (Japanese) when the statement is refused or fails, NotFound when it names a
    table that is missing or that the actor may not read (one answer for both), Conflict when the
    actor already has a statement running or the server's slots are all taken.
    """
    started = time.monotonic()
    checked: CheckedSql | None = None
    opened: list[OpenedTable] = []
    try:
        checked = check_sql(sql)
        opened = open_tables(actor=actor, refs=checked.tables)
        # 仮名加工情報 never meets its source or other personal data (audited as deid.linkage_refused).
        refuse_linkage(actor, [o.table for o in opened], where="sql")
    except (SqlRefused, NotFound, LinkageRefused) as exc:
        named = [t.label() for t in checked.tables] if checked is not None else []
        _audit(actor, "sql.refused", sql, reason=exc.message, named=named)
        if isinstance(exc, NotFound):
            raise
        raise InvalidInput(exc.message) from None
    max_rows = int(settings.MACHIDATA_SQL_MAX_ROWS)
    try:
        with statement_slot(actor):
            result = run_sql(
                checked,
                [o.view for o in opened],
                max_rows=max_rows,
                timeout_s=float(settings.MACHIDATA_SQL_TIMEOUT_S),
                memory_mb=int(settings.MACHIDATA_SQL_MEMORY_MB),
                threads=int(settings.MACHIDATA_ENGINE_THREADS),
            )
    except Conflict as exc:
        _audit(actor, "sql.refused", sql, reason=exc.message, tables=_touched(opened))
        raise
    except EngineError as exc:
        took = int((time.monotonic() - started) * 1000)
        action = "sql.refused" if isinstance(exc, SqlRefused) else "sql.failed"
        _audit(actor, action, sql, reason=exc.message, tables=_touched(opened), duration_ms=took)
        raise InvalidInput(exc.message) from None
    took = int((time.monotonic() - started) * 1000)
    touched = _touched(opened)
    _audit(
        actor,
        "sql.query",
        sql,
        tables=touched,
        rows=len(result.rows),
        truncated=result.truncated,
        duration_ms=took,
    )
    return SqlAnswer(
        columns=result.columns,
        rows=result.rows,
        truncated=result.truncated,
        max_rows=max_rows,
        duration_ms=took,
        tables=touched,
    )
