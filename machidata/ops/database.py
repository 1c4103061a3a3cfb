"""The metadata database's own consistent copy and its restore, per engine.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot while
other connections write. PostgreSQL: ``pg_dump`` in custom format (one snapshot) and ``pg_restore``
in one transaction. A copy is restored into the same engine; moving from SQLite to PostgreSQL is a
separate step (documented in docs/operations.md).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import connection, transaction

from machidata.core.errors import MachidataError

DUMP_NAMES = {"sqlite": "database/machidata.sqlite3", "postgresql": "database/machidata.pgdump"}


class OperationFailed(MachidataError):  # noqa: N818 - a user-facing category like InvalidInput
    """An operation (backup, restore) could not finish; nothing was changed that cannot be undone."""

    status = 500


def vendor() -> str:
    """``sqlite`` or ``postgresql``: the engine of the default database."""
    if connection.vendor not in DUMP_NAMES:
        raise OperationFailed(f"データベース「{connection.vendor}」のバックアップには対応していません。")
    return connection.vendor


def _pg_args(settings_dict: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """Connection arguments and environment for pg_dump/pg_restore (the password never on the command line)."""
    args = []
    if settings_dict.get("HOST"):
        args += ["--host", str(settings_dict["HOST"])]
    if settings_dict.get("PORT"):
        args += ["--port", str(settings_dict["PORT"])]
    if settings_dict.get("USER"):
        args += ["--username", str(settings_dict["USER"])]
    env = dict(os.environ)
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    return args, env


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise OperationFailed(
            f"PostgreSQL の {name} が見つかりません。PostgreSQL のクライアント（postgresql-client）を入れてください。"
        )
    return path


def dump(dest: Path) -> None:
    """Write a consistent copy of the default database to ``dest``.

    On PostgreSQL the caller's transaction (REPEATABLE READ) exports its snapshot and pg_dump reads
    through it, so the copy and what the caller counted in that transaction are the same state.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    if vendor() == "sqlite":
        connection.ensure_connection()
        source = connection.connection
        target = sqlite3.connect(dest)
        try:
            source.backup(target)
        finally:
            target.close()
        return
    settings_dict = connection.settings_dict
    args, env = _pg_args(settings_dict)
    if connection.in_atomic_block:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_export_snapshot()")
            args.append(f"--snapshot={cur.fetchone()[0]}")
    cmd = [_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={dest}", *args]
    done = subprocess.run(  # noqa: S603 - pg_dump with our own arguments, no shell
        [*cmd, str(settings_dict["NAME"])], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise OperationFailed(f"pg_dump が失敗しました: {done.stderr.strip()[:500]}")


@dataclass(frozen=True)
class Snapshot:
    """What the database copy holds, read from the same state the copy was made from."""

    version_ids: list[int]
    counts: dict[str, int]
    migrations: dict[str, list[str]]
    last_seal: int = 0  # the newest audit seal in the copy (the seal file is cut there)


def _facts(cursor: Any) -> Snapshot:
    """Committed version ids, row counts and applied migrations, by plain SQL on any DB-API cursor."""
    from machidata.audit.models import AuditEvent, AuditSeal
    from machidata.catalog.models import Dataset, Table, TableVersion, VersionStatus

    cursor.execute(
        f"SELECT id FROM {TableVersion._meta.db_table} WHERE status = '{VersionStatus.COMMITTED.value}'"  # noqa: S608 - our own table names
    )
    ids = sorted(int(row[0]) for row in cursor.fetchall())
    counts = {}
    for key, model in (("datasets", Dataset), ("tables", Table), ("audit_events", AuditEvent)):
        cursor.execute(f"SELECT COUNT(*) FROM {model._meta.db_table}")  # noqa: S608 - our own table names
        counts[key] = int(cursor.fetchone()[0])
    counts["versions"] = len(ids)
    cursor.execute(f"SELECT MAX(number) FROM {AuditSeal._meta.db_table}")  # noqa: S608 - our own table name
    last_seal = int(cursor.fetchone()[0] or 0)
    cursor.execute("SELECT app, name FROM django_migrations")
    migrations: dict[str, list[str]] = {}
    for app, name in cursor.fetchall():
        migrations.setdefault(app, []).append(name)
    return Snapshot(ids, counts, {app: sorted(names) for app, names in sorted(migrations.items())}, last_seal)


def snapshot(dest: Path) -> Snapshot:
    """Copy the database to ``dest`` and say what the copy holds.

    SQLite: the online backup API copies in one step under one read lock (it must run outside a
    transaction: machidata's IMMEDIATE transactions hold the write lock, and the API refuses to
    read a connection that is writing); the facts are then read from the copy itself.
    PostgreSQL: one REPEATABLE READ transaction exports its snapshot to pg_dump and reads the facts.
    """
    if vendor() == "sqlite":
        if connection.in_atomic_block:
            raise RuntimeError("the SQLite copy must be made outside a transaction")
        dump(dest)
        copy = sqlite3.connect(dest)
        try:
            return _facts(copy.cursor())
        finally:
            copy.close()
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        dump(dest)
        with connection.cursor() as cur:
            return _facts(cur)


def is_empty() -> bool:
    """Whether the default database has no tables yet (a restore goes only into an empty database)."""
    return not connection.introspection.table_names()


def load(source: Path) -> None:
    """Put the copy at ``source`` into the (empty) default database."""
    if vendor() == "sqlite":
        connection.close()
        target = sqlite3.connect(connection.settings_dict["NAME"])
        copy = sqlite3.connect(source)
        try:
            copy.backup(target)
        finally:
            copy.close()
            target.close()
        return
    settings_dict = connection.settings_dict
    connection.close()
    args, env = _pg_args(settings_dict)
    cmd = [
        _pg_tool("pg_restore"),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        *args,
    ]
    done = subprocess.run(  # noqa: S603 - pg_restore with our own arguments, no shell
        [*cmd, f"--dbname={settings_dict['NAME']}", str(source)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise OperationFailed(
            f"pg_restore が失敗しました（何も書き込まれていません）: {done.stderr.strip()[:500]}"
        )
