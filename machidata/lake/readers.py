"""Reading versions: a version's Parquet files and schema, and the table's history (our rows + Delta's)."""

from __future__ import annotations

from dataclasses import dataclass
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
