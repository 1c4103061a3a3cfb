"""Purging versions for retention (``purge_versions``): files, log statistics, tombstones, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.dataset as pads
import pytest
from deltalake import DeltaTable

from machidata.access.policy import system_actor
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Table, TableVersion, VersionStatus
from machidata.core.errors import Conflict, InvalidInput
from machidata.lake.protocol import purge_versions, read_ledger, recover_table, write_version
from machidata.lake.readers import files_for, version_digest
from machidata.lake.storage import LOG_DIR, table_path
from machidata.lake.tests.data import SCHEMA, batches

pytestmark = pytest.mark.django_db
ACTOR = system_actor("test")
TOMB = {"rule_label": "保存期間1年・版の作成日から", "reason": "保存期間の満了", "by_label": "system:test"}


def write(table: Table, tag: str, n: int, mode: str = "replace") -> TableVersion:
    return write_version(table=table, batches=batches(tag, n), schema=SCHEMA, mode=mode, job_id=f"job-{tag}")  # type: ignore[arg-type]


def names(version: TableVersion) -> list[str]:
    data = pads.dataset(files_for(version), format="parquet").to_table().sort_by("_id")
    return data["name"].to_pylist()


def own_files(version: TableVersion) -> set[str]:
    root = table_path(version.table).resolve()
    return {Path(p).resolve().relative_to(root).as_posix() for p in files_for(version)}


def log_stats(table: Table) -> dict[str, bool]:
    """Each add action's file name → whether it still carries statistics."""
    out: dict[str, bool] = {}
    for entry in sorted((table_path(table) / LOG_DIR).glob("*.json")):
        for line in entry.read_text(encoding="utf-8").splitlines():
            action = json.loads(line)
            if "add" in action:
                out[action["add"]["path"]] = "stats" in action["add"]
    return out


def test_purge_removes_only_that_versions_files_and_leaves_a_tombstone(table: Table) -> None:
    v1, v2, v3 = write(table, "a", 4), write(table, "b", 5), write(table, "c", 6)
    gone, kept = own_files(v1), own_files(v2) | own_files(v3)
    digests = {v.number: version_digest(v) for v in (v2, v3)}
    assert all(log_stats(table)[f] for f in gone)

    result = purge_versions(table=table, numbers=[1], actor=ACTOR, tombstone=TOMB)

    assert result.numbers == [1]
    assert sorted(result.files) == sorted(gone)
    assert result.bytes > 0
    root = table_path(table)
    assert not any((root / f).exists() for f in gone)
    assert all((root / f).exists() for f in kept)
    v1.refresh_from_db()
    assert v1.status == VersionStatus.PURGED
    assert v1.reports["purge"]["rule_label"] == TOMB["rule_label"]
    assert v1.reports["purge"]["done"] is True
    assert {v.number: version_digest(v) for v in (v2, v3)} == digests
    assert names(v3) == [f"c-{i}" for i in range(6)]
    stats = log_stats(table)
    assert not any(stats[f] for f in gone)  # min/max of the purged rows are gone from the log
    assert all(stats[f] for f in kept)
    event = AuditEvent.objects.get(action="lake.version_purge")
    assert event.changes["number"] == 1
    assert event.changes["reason"] == "保存期間の満了"
    assert [(e["number"], sorted(e["files"])) for e in read_ledger()] == [(1, sorted(gone))]
    DeltaTable(str(root), version=v2.delta_version)  # older kept versions still load


def test_files_a_later_append_still_uses_are_kept(table: Table) -> None:
    write(table, "a", 4)
    v2 = write(table, "b", 2, mode="append")
    result = purge_versions(table=table, numbers=[1], actor=ACTOR, tombstone=TOMB)
    assert result.files == []
    assert result.shared >= 1
    assert names(v2) == [f"a-{i}" for i in range(4)] + ["b-0", "b-1"]


def test_current_version_needs_an_explicit_decision(table: Table) -> None:
    write(table, "a", 3)
    v2 = write(table, "b", 3)
    with pytest.raises(Conflict, match="現在の版"):
        purge_versions(table=table, numbers=[2], actor=ACTOR, tombstone=TOMB)
    v2.refresh_from_db()
    assert v2.status == VersionStatus.COMMITTED
    assert not AuditEvent.objects.filter(action="lake.version_purge").exists()

    purge_versions(table=table, numbers=[2], actor=ACTOR, tombstone=TOMB, allow_current=True)
    table.refresh_from_db()
    assert table.current_version is None
    head_before = DeltaTable(str(table_path(table))).version()
    recover_table(table)  # a purged head is not mistaken for a commit without a row
    assert DeltaTable(str(table_path(table))).version() == head_before
    with pytest.raises(InvalidInput, match="置き換えで取り込んでください"):
        write(table, "c", 2, mode="append")
    v4 = write(table, "d", 2)
    assert names(v4) == ["d-0", "d-1"]


def test_unknown_and_uncommitted_versions_are_refused(table: Table) -> None:
    write(table, "a", 3)
    write(table, "b", 3)
    with pytest.raises(InvalidInput, match="第9版"):
        purge_versions(table=table, numbers=[9], actor=ACTOR, tombstone=TOMB)
    TableVersion.objects.create(table=table, number=3, status=VersionStatus.ABANDONED, job_id="x")
    with pytest.raises(InvalidInput, match="確定していない版"):
        purge_versions(table=table, numbers=[3], actor=ACTOR, tombstone=TOMB)


def test_checkpoints_listing_purged_files_are_removed_and_the_table_still_loads(table: Table) -> None:
    v1 = write(table, "a", 3)
    DeltaTable(str(table_path(table))).create_checkpoint()
    v2, v3 = write(table, "b", 3), write(table, "c", 3)
    DeltaTable(str(table_path(table))).create_checkpoint()
    log = table_path(table) / LOG_DIR
    assert len(list(log.glob("*.checkpoint.parquet"))) == 2
    result = purge_versions(table=table, numbers=[1], actor=ACTOR, tombstone=TOMB)
    assert result.files
    remaining = list(log.glob("*.checkpoint.parquet"))
    assert len(remaining) == 1  # the later checkpoint lists only v3's files
    assert names(v2) == [f"b-{i}" for i in range(3)]
    assert names(v3) == [f"c-{i}" for i in range(3)]
    assert v1.delta_version is not None
    assert len(DeltaTable(str(table_path(table)), version=v2.delta_version).file_uris()) >= 1


def test_a_second_purge_of_the_same_version_is_a_no_op(table: Table) -> None:
    write(table, "a", 3)
    write(table, "b", 3)
    purge_versions(table=table, numbers=[1], actor=ACTOR, tombstone=TOMB)
    again = purge_versions(table=table, numbers=[1], actor=ACTOR, tombstone=TOMB)
    assert again.numbers == []
    assert again.files == []
    assert AuditEvent.objects.filter(action="lake.version_purge").count() == 1
