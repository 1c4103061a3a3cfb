"""A writer run in a subprocess by the crash tests: ``python -m machidata.lake.tests.crash_writer CMD``.

Commands (all print one JSON line on success):
- ``setup``: create an organisation, a dataset and an empty table; prints the table id.
- ``write TABLE_ID MODE JOB ROWS``: write ROWS rows named ``JOB-i`` (MACHIDATA_LAKE_FAULT may kill it).
- ``purge TABLE_ID NUMBER``: purge one version for retention (MACHIDATA_LAKE_FAULT may kill it).
- ``state TABLE_ID``: recover the table, then print every version and each committed version's rows.
- ``serve``: a fork server, so that each command does not pay for Python, Django and deltalake start-up:
  reads one JSON request per line (``{"args": [...], "env": {...}, "out": PATH}``, optionally
  ``"pidfile": PATH`` where the child writes its process id), forks a child that
  sets ``env``, runs the command and writes its JSON to ``out``, and answers ``{"rc": exit status}``.
  The child is a separate process that dies for real at a fault point (``os._exit(137)``).
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import django


def _setup() -> dict[str, object]:
    from machidata.access.models import Unit
    from machidata.catalog.models import Dataset, Table
    from machidata.core.testing import make_org

    # Several tests share one database: the organisation is made by the first.
    unit = Unit.objects.filter(code="200100").first() or make_org().health_div
    key = uuid.uuid4().hex
    dataset = Dataset.objects.create(identifier=key[:20], slug=f"crash-{key[:12]}", title="試験", owner=unit)
    table = Table.objects.create(dataset=dataset, name="t", title="表", storage_key=key)
    return {"table": table.pk}


def _state(table_id: int) -> dict[str, object]:
    import pyarrow.dataset as pads

    from machidata.catalog.models import Table, TableVersion
    from machidata.lake.protocol import recover_table
    from machidata.lake.readers import files_for

    table = Table.objects.get(pk=table_id)
    report = recover_table(table)
    versions = []
    for v in TableVersion.objects.filter(table=table).order_by("number"):
        entry: dict[str, object] = {"number": v.number, "status": v.status, "rows": v.rows, "mode": v.mode}
        if v.status == "committed":
            data = pads.dataset(files_for(v), format="parquet").to_table().sort_by("_id")
            entry["ids"] = data["_id"].to_pylist()
            entry["names"] = data["name"].to_pylist()
        versions.append(entry)
    table.refresh_from_db()
    current = table.current_version.number if table.current_version else None
    return {"versions": versions, "current": current, "purged": report.purged, "report": report.__dict__}


def _write(table_id: int, mode: str, job: str, rows: int) -> dict[str, object]:
    from machidata.catalog.models import Table
    from machidata.lake.protocol import write_version
    from machidata.lake.tests.data import SCHEMA, batches

    size = int(os.environ.get("CRASH_BATCH_ROWS", "3"))
    sleep = float(os.environ.get("CRASH_SLEEP", "0"))

    def slow() -> Iterator[Any]:
        for batch in batches(job, rows, size=size):
            time.sleep(sleep)  # gives an outside SIGKILL time to land mid-write
            yield batch

    table = Table.objects.get(pk=table_id)
    version = write_version(
        table=table,
        batches=slow(),
        schema=SCHEMA,
        mode=mode,  # type: ignore[arg-type]
        job_id=job,
        target_file_size=int(os.environ.get("CRASH_TARGET_FILE_SIZE", "0")) or None,
    )
    return {"number": version.number, "rows": version.rows}


def _purge(table_id: int, number: int) -> dict[str, object]:
    from machidata.access.policy import system_actor
    from machidata.catalog.models import Table
    from machidata.lake.protocol import purge_versions

    done = purge_versions(
        table=Table.objects.get(pk=table_id), numbers=[number], actor=system_actor("test"),
        tombstone={"reason": "保存期間の満了"},
    )  # fmt: skip
    return {"numbers": done.numbers, "files": done.files}


def _run(argv: list[str]) -> dict[str, object]:
    cmd = argv[0]
    if cmd == "purge":
        return _purge(int(argv[1]), int(argv[2]))
    if cmd == "setup":
        return _setup()
    if cmd == "write":
        return _write(int(argv[1]), argv[2], argv[3], int(argv[4]))
    return _state(int(argv[1]))


def _serve() -> None:
    from django.db import connections

    import machidata.lake.protocol
    import machidata.lake.tests.data  # noqa: F401

    for line in sys.stdin:
        request = json.loads(line)
        connections.close_all()  # a child must open its own database connection
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                if request.get("pidfile"):  # for a benchmark that kills the child from outside
                    with open(request["pidfile"], "w", encoding="utf-8") as fh:
                        fh.write(str(os.getpid()))
                os.environ.update(request["env"])
                result = _run(request["args"])
                with open(request["out"], "w", encoding="utf-8") as fh:
                    json.dump(result, fh, ensure_ascii=False)
                code = 0
            except BaseException:  # noqa: BLE001 - report anything, then leave without the parent's cleanup
                import traceback

                traceback.print_exc()
            finally:
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        sys.stdout.write(json.dumps({"rc": os.waitstatus_to_exitcode(status)}) + "\n")
        sys.stdout.flush()


def main(argv: list[str]) -> None:
    """Run one command (or serve many)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "machidata.config.settings")
    django.setup()
    if argv[0] == "serve":
        _serve()
        return
    sys.stdout.write(json.dumps(_run(argv), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
