"""The write protocol in-process: replace, append, schema check, restore, history, leases, recovery."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, write_deltalake
from django.utils import timezone

from machidata.audit.models import AuditEvent
from machidata.catalog.models import Table, TableVersion, VersionStatus
from machidata.core.errors import Conflict, InvalidInput
from machidata.lake.lease import acquire_lease, release_lease
from machidata.lake.protocol import purge_orphans, recover_table, restore_version, write_version
from machidata.lake.readers import arrow_schema, files_for, history, version_digest
from machidata.lake.storage import lake_root, table_uri
from machidata.lake.tests.data import SCHEMA, batches

pytestmark = pytest.mark.django_db


def read(version: TableVersion) -> pa.Table:
    """A version's rows, ordered by _id."""
    return pads.dataset(files_for(version), format="parquet").to_table().sort_by("_id")


def write(table: Table, tag: str, n: int, mode: str = "replace") -> TableVersion:
    return write_version(table=table, batches=batches(tag, n), schema=SCHEMA, mode=mode, job_id=f"job-{tag}")  # type: ignore[arg-type]


def test_replace_writes_a_committed_version_with_ids(table: Table, actors: object) -> None:
    user = actors.users["owner_editor"]  # type: ignore[attr-defined]
    v = write_version(
        table=table,
        batches=batches("a", 7),
        schema=SCHEMA,
        mode="replace",
        job_id="job-1",
        actor_user_id=user.pk,
        source_name="人口.csv",
        source_sha256="ab" * 32,
        note="初回",
        reports={"validation": {"errors": 0}},
    )
    assert (v.number, v.status, v.mode, v.rows) == (1, VersionStatus.COMMITTED, "replace", 7)
    assert v.delta_version == 0
    assert v.created_by == user
    assert v.source_name == "人口.csv"
    assert v.reports["validation"] == {"errors": 0}
    assert v.committed_at is not None
    assert v.bytes == sum(Path(p).stat().st_size for p in files_for(v))
    assert [f["name"] for f in v.schema["fields"]] == ["_id", "name", "amount"]
    table.refresh_from_db()
    assert table.current_version == v
    assert table.lease_holder == ""
    data = read(v)
    assert data["_id"].to_pylist() == [1, 2, 3, 4, 5, 6, 7]
    assert data["name"].to_pylist() == [f"a-{i}" for i in range(7)]
    assert data.schema.field("_id").type == pa.int64()
    # The Delta commit carries the job id and version number; the folder is under MACHIDATA_HOME/lake.
    info = DeltaTable(table_uri(table)).history(1)[0]
    assert info["machidata.job_id"] == "job-1"
    assert info["machidata.version_number"] == "1"
    assert Path(table_uri(table)).parent == lake_root()
    config = DeltaTable(table_uri(table)).metadata().configuration
    assert config["delta.logRetentionDuration"] == "interval 36500 days"


def test_append_continues_ids_and_keeps_the_old_version(table: Table) -> None:
    v1 = write(table, "a", 5)
    v2 = write(table, "b", 4, mode="append")
    assert (v2.number, v2.rows, v2.mode) == (2, 9, "append")
    assert read(v2)["_id"].to_pylist() == list(range(1, 10))
    assert read(v2)["name"].to_pylist()[5:] == ["b-0", "b-1", "b-2", "b-3"]
    # The earlier version still reads as it was.
    assert read(v1)["name"].to_pylist() == [f"a-{i}" for i in range(5)]
    assert len(files_for(v2)) == len(files_for(v1)) + 1
    # Replace starts the numbering again.
    v3 = write(table, "c", 2)
    assert read(v3)["_id"].to_pylist() == [1, 2]


def test_append_to_an_empty_table_is_a_first_write(table: Table) -> None:
    v = write(table, "a", 2, mode="append")
    assert (v.number, v.rows) == (1, 2)


def test_append_with_other_columns_is_refused_before_writing(table: Table) -> None:
    write(table, "a", 3)
    head = DeltaTable(table_uri(table)).version()
    other = pa.schema([("name", pa.string()), ("amount", pa.float64()), ("ward", pa.string())])
    batch = pa.record_batch([pa.array(["x"]), pa.array([1.5]), pa.array(["中央区"])], schema=other)
    with pytest.raises(InvalidInput) as exc:
        write_version(table=table, batches=[batch], schema=other, mode="append", job_id="job-bad")
    assert "amount" in exc.value.message
    assert "ward" in exc.value.message
    assert "一致しません" in exc.value.message
    assert exc.value.details["changed"] == ["amount"]
    assert exc.value.details["extra"] == ["ward"]
    assert TableVersion.objects.filter(table=table).count() == 1
    assert DeltaTable(table_uri(table)).version() == head
    table.refresh_from_db()
    assert table.current_version.number == 1
    assert table.lease_holder == ""


def test_missing_column_named_in_message(table: Table) -> None:
    write(table, "a", 3)
    only = pa.schema([("name", pa.string())])
    with pytest.raises(InvalidInput, match="ない列: amount"):
        write_version(
            table=table,
            batches=[pa.record_batch([pa.array(["x"])], schema=only)],
            schema=only,
            mode="append",
            job_id="j",
        )


def test_replace_may_change_the_columns(table: Table) -> None:
    write(table, "a", 3)
    other = pa.schema([("ward", pa.string())])
    v = write_version(
        table=table,
        batches=[pa.record_batch([pa.array(["東区"])], schema=other)],
        schema=other,
        mode="replace",
        job_id="j",
    )
    assert arrow_schema(v).names == ["_id", "ward"]
    assert arrow_schema(TableVersion.objects.get(table=table, number=1)).names == ["_id", "name", "amount"]


def test_reserved_id_column_is_refused(table: Table) -> None:
    bad = pa.schema([("_id", pa.int64())])
    with pytest.raises(InvalidInput, match="_id"):
        write_version(table=table, batches=[], schema=bad, mode="replace", job_id="j")


def test_record_batch_reader_is_accepted(table: Table) -> None:
    reader = pa.RecordBatchReader.from_batches(SCHEMA, batches("r", 10))
    v = write_version(table=table, batches=reader, schema=SCHEMA, mode="replace", job_id="j")
    assert v.rows == 10


def test_timestamps_are_kept_as_naive_wall_clock(table: Table) -> None:
    schema = pa.schema([("at", pa.timestamp("ns"))])
    times = [dt.datetime(2024, 3, 31, 23, 30), dt.datetime(2024, 4, 1, 0, 30)]
    batch = pa.record_batch([pa.array(times, pa.timestamp("ns"))], schema=schema)
    v = write_version(table=table, batches=[batch], schema=schema, mode="replace", job_id="j")
    data = read(v)
    assert data["at"].to_pylist() == times
    assert data.schema.field("at").type.tz is None


def test_restore_makes_a_new_version_equal_to_the_old_one(table: Table) -> None:
    v1 = write(table, "a", 5)
    write(table, "b", 3, mode="append")
    other = pa.schema([("ward", pa.string())])
    write_version(
        table=table,
        batches=[pa.record_batch([pa.array(["北区"])], schema=other)],
        schema=other,
        mode="replace",
        job_id="j",
    )
    v4 = restore_version(table=table, version=v1, job_id="job-restore", note="誤って上書きしたため")
    assert (v4.number, v4.mode, v4.restored_from, v4.rows) == (4, "restore", v1, 5)
    assert v4.note == "誤って上書きしたため"
    assert read(v4).equals(read(v1))
    table.refresh_from_db()
    assert table.current_version == v4
    # An append after the restore continues from the restored ids.
    v5 = write(table, "c", 2, mode="append")
    assert read(v5)["_id"].to_pylist() == [1, 2, 3, 4, 5, 6, 7]


def test_history_joins_versions_with_delta_commits(table: Table) -> None:
    write(table, "a", 2)
    write(table, "b", 2, mode="append")
    TableVersion.objects.create(table=table, number=3, job_id="ghost", status=VersionStatus.ABANDONED)
    entries = history(table)
    assert [e.version.number for e in entries] == [3, 2, 1]
    assert entries[0].commit is None
    assert entries[1].commit["operationParameters"]["mode"] == "Append"
    assert entries[1].commit["machidata.job_id"] == "job-b"
    assert entries[2].commit["machidata.job_id"] == "job-a"


def test_files_for_refuses_uncommitted_versions(table: Table) -> None:
    from machidata.core.errors import NotFound

    pending = TableVersion.objects.create(table=table, number=1, job_id="x")
    with pytest.raises(NotFound):
        files_for(pending)


def test_lease_contention(table: Table) -> None:
    acquire_lease(table, "otherhost:1:ingest-42", 60)
    with pytest.raises(Conflict, match="この表はほかの処理が更新中です"):
        acquire_lease(table, "otherhost:2:ingest-43", 60)
    with pytest.raises(Conflict):
        write(table, "a", 1)
    assert not TableVersion.objects.filter(table=table).exists()
    # The same holder may renew; after release anyone may take it.
    acquire_lease(table, "otherhost:1:ingest-42", 60)
    release_lease(table, "otherhost:1:ingest-42")
    assert write(table, "a", 1).number == 1


def test_expired_lease_can_be_taken(table: Table) -> None:
    acquire_lease(table, "otherhost:1:x", 60)
    Table.objects.filter(pk=table.pk).update(lease_expires_at=timezone.now() - dt.timedelta(seconds=1))
    acquire_lease(table, "otherhost:2:y", 60)
    table.refresh_from_db()
    assert table.lease_holder == "otherhost:2:y"


def test_release_by_a_non_holder_does_nothing(table: Table) -> None:
    acquire_lease(table, "otherhost:1:x", 60)
    release_lease(table, "otherhost:2:y")
    table.refresh_from_db()
    assert table.lease_holder == "otherhost:1:x"


def test_rowless_commit_is_undone_before_the_next_append(table: Table) -> None:
    write(table, "a", 3)
    # A commit nobody recorded (no version row): e.g. a writer whose row was abandoned meanwhile.
    rogue = pa.table(
        {"_id": pa.array([100], pa.int64()), "name": ["rogue"], "amount": pa.array([0], pa.int64())}
    )
    write_deltalake(table_uri(table), rogue, mode="append")
    v2 = write(table, "b", 2, mode="append")
    assert "rogue" not in read(v2)["name"].to_pylist()
    assert read(v2)["_id"].to_pylist() == [1, 2, 3, 4, 5]
    restores = [h for h in DeltaTable(table_uri(table)).history() if h["operation"] == "RESTORE"]
    assert len(restores) == 1
    assert restores[0]["machidata.recovery_to"] == "0"


def test_rowless_replace_with_other_columns_is_undone(table: Table) -> None:
    v1 = write(table, "a", 3)
    write_deltalake(table_uri(table), pa.table({"x": [1.0]}), mode="overwrite", schema_mode="overwrite")
    report = recover_table(table)
    assert report.restored_to == 0
    head = DeltaTable(table_uri(table))
    assert head.schema().to_arrow() is not None
    assert pa.schema(head.schema().to_arrow()).names == ["_id", "name", "amount"]
    assert head.to_pyarrow_table().sort_by("_id").equals(read(v1))
    # Recovering again does nothing more (the restore is recognised as ours).
    again = recover_table(table)
    assert again.restored_to is None
    assert DeltaTable(table_uri(table)).version() == head.version()


def test_pending_row_without_commit_is_abandoned(table: Table) -> None:
    write(table, "a", 2)
    TableVersion.objects.create(table=table, number=2, job_id="dead-job")
    report = recover_table(table)
    assert report.abandoned == [2]
    assert TableVersion.objects.get(table=table, number=2).status == VersionStatus.ABANDONED
    v3 = write(table, "b", 1, mode="append")
    assert v3.number == 3


def test_purge_removes_only_unreferenced_files_and_records_them(table: Table) -> None:
    v1 = write(table, "a", 3)
    stray = Path(table_uri(table)) / "part-00000-deadbeef-c000.snappy.parquet"
    pq.write_table(pa.table({"x": [1]}), stray)
    removed = purge_orphans(table)
    assert removed == [stray.name]
    assert not stray.exists()
    assert all(Path(p).exists() for p in files_for(v1))
    event = AuditEvent.objects.get(action="lake.purge")
    assert event.changes["files"] == [stray.name]
    assert event.object_id == str(table.pk)
    assert purge_orphans(table) == []
    assert AuditEvent.objects.filter(action="lake.purge").count() == 1
    table.refresh_from_db()
    assert table.lease_holder == ""


def test_reader_error_mid_stream_is_raised_as_is_and_nothing_is_kept(table: Table) -> None:
    v1 = write(table, "a", 3)
    before = {p.name for p in Path(table_uri(table)).glob("*.parquet")}

    def failing() -> Iterator[pa.RecordBatch]:
        big = pa.record_batch(
            [pa.array([f"x{i}" for i in range(5000)]), pa.array(range(5000))], schema=SCHEMA
        )
        for _ in range(5):
            yield big
        raise InvalidInput("3,001行目の日付「令和x年」を読み取れません。")

    with pytest.raises(InvalidInput, match="令和x年"):
        write_version(
            table=table,
            batches=failing(),
            schema=SCHEMA,
            mode="append",
            job_id="job-bad",
            target_file_size=10_000,
        )
    assert TableVersion.objects.get(table=table, number=2).status == VersionStatus.ABANDONED
    table.refresh_from_db()
    assert table.current_version == v1
    assert table.lease_holder == ""
    assert {p.name for p in Path(table_uri(table)).glob("*.parquet")} == before
    assert AuditEvent.objects.filter(action="lake.purge").exists()
    assert DeltaTable(table_uri(table)).version() == 0


def test_write_refuses_to_run_inside_a_callers_transaction(table: Table) -> None:
    from django.db import transaction

    # The pending row must be committed before the Delta write starts.
    with pytest.raises(RuntimeError), transaction.atomic():
        write(table, "a", 1)
    assert not TableVersion.objects.filter(table=table).exists()
    table.refresh_from_db()
    assert table.lease_holder == ""


def test_empty_replace_makes_an_empty_version(table: Table) -> None:
    write(table, "a", 3)
    v = write_version(table=table, batches=[], schema=SCHEMA, mode="replace", job_id="empty")
    assert (v.number, v.rows) == (2, 0)
    assert pads.dataset(files_for(v), format="parquet", schema=arrow_schema(v)).count_rows() == 0
    assert arrow_schema(v).names == ["_id", "name", "amount"]
    assert write(table, "b", 2, mode="append").rows == 2


def test_recover_all_skips_tables_a_live_writer_holds(table: Table) -> None:
    from machidata.lake.protocol import recover_all

    write(table, "a", 1)
    busy = Table.objects.create(dataset=table.dataset, name="busy", title="表2", storage_key="busy0001")
    TableVersion.objects.create(table=table, number=2, job_id="dead")
    TableVersion.objects.create(table=busy, number=1, job_id="alive")
    acquire_lease(busy, "otherhost:1:alive", 60)
    reports = recover_all()
    assert [(r.table_id, r.abandoned) for r in reports] == [(table.pk, [2])]
    assert TableVersion.objects.get(table=busy, number=1).status == VersionStatus.PENDING


def test_version_digest_names_exactly_a_versions_bytes(table: Table) -> None:
    v1 = write(table, "a", 5)
    v2 = write(table, "b", 4, mode="append")
    first = version_digest(v1)
    assert len(first) == 64
    assert version_digest(v1) == first  # stable
    assert version_digest(v2) != first  # another file set
    # One changed byte in one of v1's files changes the digest of v1 and of v2 (which reads it too).
    path = Path(files_for(v1)[0])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    assert version_digest(v1) != first
    assert version_digest(v2) != version_digest(v1)


def test_a_writer_may_wait_its_turn_for_the_lease(table: Table) -> None:
    """Behind another writer a write waits (``lease_wait``) instead of failing; past the wait it refuses."""
    import time

    acquire_lease(table, "otherhost:1:ingest-41", 60)  # a live writer elsewhere holds the table
    started = time.monotonic()
    with pytest.raises(Conflict, match="この表はほかの処理が更新中です"):
        write_version(
            table=table, batches=batches("w", 1), schema=SCHEMA, mode="replace", job_id="w1", lease_wait=1.0
        )
    assert time.monotonic() - started >= 1.0  # it did wait before refusing
    assert not TableVersion.objects.filter(table=table).exists()
    # The other writer's lease runs out while this one waits: it takes the lease and commits.
    Table.objects.filter(pk=table.pk).update(lease_expires_at=timezone.now() + dt.timedelta(seconds=1))
    v = write_version(
        table=table, batches=batches("w", 3), schema=SCHEMA, mode="replace", job_id="w2", lease_wait=10
    )
    assert (v.number, v.rows) == (1, 3)
    table.refresh_from_db()
    assert table.lease_holder == ""  # released after the commit
