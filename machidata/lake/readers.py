"""Reading versions: a version's Parquet files and schema, and the table's history (our rows + Delta's)."""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
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


@dataclass(frozen=True, slots=True)
class VersionRead:
    """What a reader needs of one committed version: its Parquet files and its Arrow schema."""

    files: tuple[str, ...]
    schema: pa.Schema


READ_CACHE_SIZE = 256  # committed versions kept per process (a file list and a schema each: a few KB)
_read_cache: OrderedDict[tuple[str, int], VersionRead] = OrderedDict()
_read_cache_lock = threading.Lock()


def version_read(version: TableVersion) -> VersionRead:
    """The files and schema of a committed version, resolved once per (table folder, Delta version).

    :func:`files_for` and :func:`arrow_schema` open the Delta log each (tens of milliseconds); a
    committed Delta version never changes its files or schema, so hot readers (the public API's pages)
    ask this instead. The key is the table's folder and the Delta version, so a table deleted and made
    again under another storage key never meets an old entry; an entry whose files are gone from disk
    (a vacuum, a restore) is resolved again. Whether the caller may read the version is decided before
    and on every call by the caller (only the file list is kept, never rows).
    """
    key = (str(storage.table_path(version.table)), _committed_delta_version(version))
    with _read_cache_lock:
        hit = _read_cache.get(key)
        if hit is not None:
            _read_cache.move_to_end(key)
    if hit is not None and all(os.path.exists(f) for f in hit.files):
        return hit
    dtable = storage.open_delta(version.table, key[1])
    fresh = VersionRead(files=tuple(storage.version_files(dtable)), schema=storage.delta_arrow_schema(dtable))
    with _read_cache_lock:
        _read_cache[key] = fresh
        _read_cache.move_to_end(key)
        while len(_read_cache) > READ_CACHE_SIZE:
            _read_cache.popitem(last=False)
    return fresh


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
