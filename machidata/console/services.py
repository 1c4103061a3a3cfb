"""Running a statement from the SQL console: check, resolve the tables for the actor, run, audit.

Every statement is audited, whatever becomes of it: ``sql.query`` (ran: the tables and versions it
read, rows shown, whether they were cut, the time taken), ``sql.refused`` (the check or the policy
said no) and ``sql.failed`` (time or memory limit, or a DuckDB error). The statement's text is kept
(at most :data:`AUDIT_SQL_CHARS` characters) so 管理 can see what was asked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Final

from django.conf import settings
from django.db import transaction

from machidata.access.policy import Actor
from machidata.audit.services import audit_record
from machidata.console.selectors import OpenedTable, open_tables
from machidata.core.errors import InvalidInput, NotFound
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
    table that is missing or that the actor may not read (one answer for both).
    """
    started = time.monotonic()
    checked: CheckedSql | None = None
    opened: list[OpenedTable] = []
    try:
        checked = check_sql(sql)
        opened = open_tables(actor=actor, refs=checked.tables)
    except (SqlRefused, NotFound) as exc:
        named = [t.label() for t in checked.tables] if checked is not None else []
        _audit(actor, "sql.refused", sql, reason=exc.message, named=named)
        if isinstance(exc, NotFound):
            raise
        raise InvalidInput(exc.message) from None
    max_rows = int(settings.MACHIDATA_SQL_MAX_ROWS)
    try:
        result = run_sql(
            checked,
            [o.view for o in opened],
            max_rows=max_rows,
            timeout_s=float(settings.MACHIDATA_SQL_TIMEOUT_S),
            memory_mb=int(settings.MACHIDATA_SQL_MEMORY_MB),
            threads=int(settings.MACHIDATA_ENGINE_THREADS),
        )
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
