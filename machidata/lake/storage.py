"""Where tables live on disk and small facts read from their Delta logs (no DB writes here)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
from deltalake import DeltaTable, Schema
from django.conf import settings

from machidata.catalog.models import Table

# Keys of the custom commit metadata the writer and recovery put in each Delta commit.
JOB_KEY = "machidata.job_id"
NUMBER_KEY = "machidata.version_number"
RECOVERY_KEY = "machidata.recovery_to"
ID_COLUMN = "_id"
LOG_DIR = "_delta_log"


def lake_root() -> Path:
    """The folder holding every table: MACHIDATA_HOME/lake."""
    return Path(settings.MACHIDATA_HOME) / "lake"


def table_path(table: Table) -> Path:
    """The folder of one table's Delta table."""
    if not table.storage_key or "/" in table.storage_key or table.storage_key.startswith("."):
        raise ValueError(f"invalid storage_key {table.storage_key!r}")
    return lake_root() / table.storage_key


def table_uri(table: Table) -> str:
    """The Delta table URI (a local path) of a table."""
    return str(table_path(table))


def delta_exists(table: Table) -> bool:
    """Whether the table has a Delta log (at least one commit)."""
    return DeltaTable.is_deltatable(table_uri(table))


def open_delta(table: Table, version: int | None = None) -> DeltaTable:
    """The table's Delta table, at ``version`` or at the head."""
    return DeltaTable(table_uri(table), version=version)


@dataclass(frozen=True)
class VersionStats:
    """Numbers of one Delta version, read from its add actions."""

    rows: int
    bytes: int
    files: int
    max_id: int | None


def _to_path(uri: str) -> str:
    """A local path from a ``file://`` URI or a plain path."""
    if uri.startswith("file:"):
        return unquote(urlparse(uri).path)
    return uri


def check_no_deletion_vectors(dtable: DeltaTable) -> None:
    """Refuse tables with deletion vectors: a version's file list would no longer be its whole data."""
    features = dtable.protocol().reader_features or []
    if "deletionVectors" in features:
        raise RuntimeError("deletion vectors are not supported in machidata's lake")


def version_files(dtable: DeltaTable) -> list[str]:
    """Absolute Parquet paths making up the loaded version."""
    check_no_deletion_vectors(dtable)
    return [_to_path(u) for u in dtable.file_uris()]


def version_stats(dtable: DeltaTable) -> VersionStats:
    """Rows, bytes, file count and the largest ``_id`` of the loaded version."""
    check_no_deletion_vectors(dtable)
    actions = pa.table(dtable.get_add_actions(flatten=True))
    rows = int(pc.sum(actions["num_records"]).as_py() or 0) if actions.num_rows else 0
    size = int(pc.sum(actions["size_bytes"]).as_py() or 0) if actions.num_rows else 0
    max_id: int | None = None
    stat = f"max.{ID_COLUMN}"
    if actions.num_rows and stat in actions.column_names and actions[stat].null_count == 0:
        max_id = pc.max(actions[stat]).as_py()
    elif rows:
        # No statistics for _id (should not happen: it is the first column): scan just that column.
        scanned = pads.dataset(version_files(dtable), format="parquet").to_table(columns=[ID_COLUMN])
        max_id = pc.max(scanned[ID_COLUMN]).as_py()
    return VersionStats(rows=rows, bytes=size, files=actions.num_rows, max_id=max_id)


def delta_type_json(schema: pa.Schema) -> list[dict[str, Any]]:
    """Each field's name and Delta type (string/long/date/…), the types an append must match."""
    fields = json.loads(Schema.from_arrow(schema).to_json())["fields"]
    return [{"name": f["name"], "type": f["type"]} for f in fields]


def schema_json(schema: pa.Schema) -> dict[str, Any]:
    """The schema kept on a TableVersion: Arrow and Delta types of every column."""
    return {
        "fields": [
            {"name": f.name, "arrow_type": str(f.type), "type": d["type"], "nullable": f.nullable}
            for f, d in zip(schema, delta_type_json(schema), strict=True)
        ]
    }


def delta_arrow_schema(dtable: DeltaTable) -> pa.Schema:
    """The loaded version's schema as a pyarrow schema."""
    return pa.schema(dtable.schema().to_arrow())


def commit_history(dtable: DeltaTable, *, after: int | None = None) -> list[dict[str, Any]]:
    """Commit infos (with our custom metadata) newer than ``after``, oldest first."""
    limit = None if after is None else max(dtable.version() - after, 0)
    if limit == 0:
        return []
    infos = dtable.history(limit)
    return sorted(
        (h for h in infos if after is None or int(h["version"]) > after), key=lambda h: int(h["version"])
    )


def referenced_files(table: Table) -> set[str]:
    """Every data file any commit in the log has ever added (the log is kept in full)."""
    log = table_path(table) / LOG_DIR
    names: set[str] = set()
    if not log.is_dir():
        return names
    for entry in sorted(log.glob("*.json")):
        with entry.open(encoding="utf-8") as fh:
            for line in fh:
                if '"add"' not in line:
                    continue
                action = json.loads(line)
                if "add" in action:
                    names.add(unquote(action["add"]["path"]))
    return names


def unreferenced_files(table: Table) -> list[Path]:
    """Parquet files in the table folder that no log entry references, and crashed commits' temp files."""
    root = table_path(table)
    if not root.is_dir():
        return []
    referenced = referenced_files(table)
    found = [p for p in root.glob("*.parquet") if p.name not in referenced]
    found += list((root / LOG_DIR).glob("*.tmp")) if (root / LOG_DIR).is_dir() else []
    return sorted(found)


def version_file_names(dtable: DeltaTable) -> set[str]:
    """The data files of the loaded version as the log names them (relative to the table folder)."""
    check_no_deletion_vectors(dtable)
    actions = pa.table(dtable.get_add_actions(flatten=True))
    if not actions.num_rows:
        return set()
    return {unquote(str(p)) for p in actions["path"].to_pylist()}


def scrub_commit_text(text: str, names: set[str]) -> str | None:
    """A commit file's text without the ``stats`` of the named files' actions, or None when unchanged."""
    out, changed = [], False
    for line in text.splitlines(keepends=True):
        if '"stats"' in line and ('"add"' in line or '"remove"' in line):
            action = json.loads(line)
            kind = "add" if "add" in action else "remove" if "remove" in action else ""
            if kind and unquote(action[kind].get("path", "")) in names and "stats" in action[kind]:
                del action[kind]["stats"]
                line = json.dumps(action, ensure_ascii=False, separators=(",", ":")) + "\n"  # noqa: PLW2901
                changed = True
        out.append(line)
    return "".join(out) if changed else None


def checkpoint_lists(data: bytes, names: set[str]) -> bool:
    """Whether a checkpoint (Parquet bytes) lists any of the named files among its add actions."""
    import pyarrow.parquet as pq

    table = pq.read_table(pa.BufferReader(data), columns=["add"])
    return any(a and unquote(str(a["path"])) in names for a in table["add"].to_pylist())


def scrub_log_stats(table: Table, names: set[str]) -> list[str]:
    """Remove the column statistics (min/max values: data) of ``names`` from the table's log.

    Commit files keep their actions (the log is the history) but lose the ``stats`` of the named
    files; checkpoints that list any of them are removed (Delta rebuilds a version from the JSON
    commits when no checkpoint covers it), and ``_last_checkpoint`` with them. Returns the names of
    the log files changed or removed.
    """
    log = table_path(table) / LOG_DIR
    touched: list[str] = []
    if not log.is_dir() or not names:
        return touched
    for entry in sorted(log.glob("*.json")):
        scrubbed = scrub_commit_text(entry.read_text(encoding="utf-8"), names)
        if scrubbed is not None:
            tmp = entry.with_name(entry.name + ".tmp")  # a crash leaves a *.tmp the orphan purge removes
            tmp.write_text(scrubbed, encoding="utf-8")
            tmp.replace(entry)
            touched.append(entry.name)
    removed_checkpoints = False
    for checkpoint in sorted(log.glob("*.checkpoint*.parquet")):
        if checkpoint_lists(checkpoint.read_bytes(), names):
            checkpoint.unlink(missing_ok=True)
            touched.append(checkpoint.name)
            removed_checkpoints = True
    if removed_checkpoints:
        (log / "_last_checkpoint").unlink(missing_ok=True)
        touched.append("_last_checkpoint")
    return touched
