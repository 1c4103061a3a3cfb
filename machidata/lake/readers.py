"""Reading versions: a version's Parquet files and schema, and the table's history (our rows + Delta's)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from machidata.catalog.models import Table, TableVersion, VersionStatus
from machidata.core.errors import NotFound
from machidata.lake import storage


def _committed_delta_version(version: TableVersion) -> int:
    if version.status != VersionStatus.COMMITTED or version.delta_version is None:
        raise NotFound("この版はまだ確定していないか、取り消されています。")
    return version.delta_version


def files_for(version: TableVersion) -> list[str]:
    """Absolute paths of the Parquet files holding exactly this version's rows."""
    dtable = storage.open_delta(version.table, _committed_delta_version(version))
    return storage.version_files(dtable)


def version_digest(version: TableVersion) -> str:
    """SHA-256 over this version's files (name relative to the table folder and content), in name order.

    Two homes hold the same version exactly when their digests match: backups record it and a
    restore recomputes it (``machidata restore``).
    """
    root = storage.table_path(version.table)
    outer = hashlib.sha256()
    for path in sorted(files_for(version)):
        inner = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                inner.update(chunk)
        outer.update(
            f"{Path(path).resolve().relative_to(root.resolve()).as_posix()}\0{inner.hexdigest()}\n".encode()
        )
    return outer.hexdigest()


def arrow_schema(version: TableVersion) -> pa.Schema:
    """The Arrow schema of a version (``_id`` first)."""
    dtable = storage.open_delta(version.table, _committed_delta_version(version))
    return storage.delta_arrow_schema(dtable)


@dataclass(frozen=True)
class HistoryEntry:
    """One version of a table with its Delta commit info (None while pending or when abandoned)."""

    version: TableVersion
    commit: dict[str, Any] | None


def history(table: Table) -> list[HistoryEntry]:
    """Every version row of the table, newest first, joined with its Delta commit info."""
    versions = list(TableVersion.objects.filter(table=table).order_by("-number"))
    infos: dict[int, dict[str, Any]] = {}
    if storage.delta_exists(table):
        infos = {int(h["version"]): h for h in storage.open_delta(table).history()}
    return [
        HistoryEntry(version=v, commit=infos.get(v.delta_version) if v.delta_version is not None else None)
        for v in versions
    ]
