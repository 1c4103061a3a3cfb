"""Run in a subprocess by the backup tests: ``python -m machidata.ops.tests.home_script CMD``.

Each command works on the home and database named by MACHIDATA_HOME / DATABASE_URL and prints one
JSON line:
- ``populate``: migrate, then a dataset with a table of two versions (replace, then append) whose
  rows are ``ROWS`` below; prints the versions' digests.
- ``race-backup PATH``: a backup during which another version is committed just after the
  database copy (the lake then holds a commit the copied database does not know); prints the state
  as the copied database knows it.
- ``deid-key``: store a 仮名加工 key (``deid.keys``); prints its id and bytes (hex).
- ``keys``: every key file in the key folder: id → bytes (hex) and permission bits.
- ``purge-old``: a third version (replace, ``THIRD``), then versions 1 and 2 purged for retention;
  prints the state and the purged files.
- ``state``: every committed version's digest and its rows (names, in ``_id`` order), read from the
  Parquet files with pyarrow (not through the code under test).
"""

from __future__ import annotations

import json
import sys
import uuid
from typing import Any

import django

# The rows each version holds: known here, so the tests compare restored data with fixed values.
FIRST = [f"行{i}" for i in range(1, 6)]
SECOND = [f"追加{i}" for i in range(1, 4)]
THIRD = [f"新{i}" for i in range(1, 3)]


def _populate() -> dict[str, Any]:
    import datetime as dt

    import pyarrow as pa
    from django.core.management import call_command
    from django.utils import timezone

    from machidata.audit.seals import audit_seal
    from machidata.catalog.models import Table
    from machidata.core.testing import make_dataset, make_org
    from machidata.lake.protocol import write_version

    call_command("migrate", interactive=False, verbosity=0)
    org = make_org()
    dataset = make_dataset(org.health_div, title="バックアップ試験")
    table = Table.objects.create(dataset=dataset, name="t", title="表", storage_key=uuid.uuid4().hex)
    schema = pa.schema([("name", pa.string())])
    for mode, names in (("replace", FIRST), ("append", SECOND)):
        batch = pa.record_batch([pa.array(names)], schema=schema)
        write_version(table=table, batches=[batch], schema=schema, mode=mode, job_id=uuid.uuid4().hex)
    # Seal the audit log so far (as the runner would after the grace period): restore checks seals too.
    audit_seal(now=timezone.now() + dt.timedelta(days=1))
    return _state()


def _state() -> dict[str, Any]:
    import pyarrow.dataset as pads

    from machidata.catalog.models import TableVersion, VersionStatus
    from machidata.lake.readers import files_for, version_digest

    out: dict[str, Any] = {}
    for v in TableVersion.objects.filter(status=VersionStatus.COMMITTED).select_related("table"):
        data = pads.dataset(files_for(v), format="parquet").to_table().sort_by("_id")
        out[f"{v.table.storage_key}/{v.number}"] = {
            "digest": version_digest(v),
            "names": data["name"].to_pylist(),
        }
    return out


def _race_backup(path: str) -> dict[str, Any]:
    from pathlib import Path

    import pyarrow as pa

    from machidata.catalog.models import Table
    from machidata.lake.protocol import write_version
    from machidata.ops import database
    from machidata.ops.backup import create_backup

    before = _state()
    copy = database.snapshot

    def copy_then_commit(dest: Path) -> database.Snapshot:
        snapshot = copy(dest)
        schema = pa.schema([("name", pa.string())])
        batch = pa.record_batch([pa.array(["遅れて届いた行"])], schema=schema)
        write_version(table=Table.objects.get(), batches=[batch], schema=schema, mode="append", job_id="late")
        return snapshot

    database.snapshot = copy_then_commit  # type: ignore[assignment]
    create_backup(Path(path))
    return before


def _deid_key() -> dict[str, Any]:
    from machidata.deid.keys import key_new, key_store

    key = key_new()
    return {"id": key_store(key), "hex": key.hex()}


def _keys() -> dict[str, Any]:
    from machidata.deid.keys import key_dir

    return {
        p.stem: {"hex": p.read_bytes().hex(), "mode": oct(p.stat().st_mode & 0o777)}
        for p in sorted(key_dir().glob("*.key"))
    }


def _purge_old() -> dict[str, Any]:
    import pyarrow as pa

    from machidata.access.policy import system_actor
    from machidata.catalog.models import Table
    from machidata.lake.protocol import purge_versions, write_version

    table = Table.objects.get()
    schema = pa.schema([("name", pa.string())])
    batch = pa.record_batch([pa.array(THIRD)], schema=schema)
    write_version(table=table, batches=[batch], schema=schema, mode="replace", job_id=uuid.uuid4().hex)
    done = purge_versions(
        table=table, numbers=[1, 2], actor=system_actor("test"), tombstone={"reason": "保存期間の満了"}
    )
    return {"state": _state(), "files": done.files, "storage_key": table.storage_key}


def main() -> None:
    django.setup()
    command = sys.argv[1]
    commands = {
        "populate": _populate,
        "state": _state,
        "race-backup": lambda: _race_backup(sys.argv[2]),
        "deid-key": _deid_key,
        "keys": _keys,
        "purge-old": _purge_old,
    }
    result = commands[command]()
    print(json.dumps(result, ensure_ascii=False))  # noqa: T201 - read by the test


if __name__ == "__main__":
    main()
