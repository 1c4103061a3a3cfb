"""Fault points for the crash-safety tests: a no-op unless MACHIDATA_LAKE_FAULT names the point.

Setting ``MACHIDATA_LAKE_FAULT=<point>`` makes the writer die at once (``os._exit(137)``, like a
SIGKILL: no ``finally``, no rollback handlers) when it reaches that point. The points, in order:

- ``during_parse`` (reached by ingest, before the lake is called; not in :data:`POINTS`, which lists
  the writer's own points): the start of the file is read and sampled; no row, no file written.
- ``after_pending_row``: the pending TableVersion row is committed, nothing written to Delta yet.
- ``during_delta_write``: Parquet files are being written; fires after
  ``MACHIDATA_LAKE_FAULT_BATCHES`` (default 2) batches were handed to the Delta writer (and, with
  ``MACHIDATA_LAKE_FAULT_WAIT_FILES=<folder>:<n>``, once the folder holds more than n Parquet files).
- ``after_delta_commit``: the Delta commit exists, the row is still pending.
- ``before_row_commit``: inside the DB transaction that marks the row committed, before COMMIT.

Purging versions (``protocol.purge_versions``, retention) has two points of its own (:data:`PURGE_POINTS`):

- ``purge_after_mark``: the versions are marked 消去済み (and audited), no file deleted yet.
- ``purge_during_delete``: the log's statistics are scrubbed and one data file is deleted.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

FAULT_ENV = "MACHIDATA_LAKE_FAULT"
FAULT_BATCHES_ENV = "MACHIDATA_LAKE_FAULT_BATCHES"
# "<folder>:<n>": before dying, wait until the folder holds more than n Parquet files (see below).
FAULT_WAIT_FILES_ENV = "MACHIDATA_LAKE_FAULT_WAIT_FILES"
POINTS = (
    "after_pending_row",
    "during_delta_write",
    "after_delta_commit",
    "before_row_commit",
)
PURGE_POINTS = ("purge_after_mark", "purge_during_delete")


def fault_point(name: str) -> None:
    """Die immediately if the environment asks for a crash at this point (tests only)."""
    if os.environ.get(FAULT_ENV) == name:
        _wait_for_files()
        os._exit(137)


def _wait_for_files(limit_s: float = 60.0) -> None:
    # The Delta writer (Rust) pulls batches ahead of writing them out, so "N batches handed over"
    # does not mean a file is on disk yet: a test that needs orphan files waits for them here.
    spec = os.environ.get(FAULT_WAIT_FILES_ENV)
    if not spec:
        return
    folder, _, count = spec.rpartition(":")
    deadline = time.monotonic() + limit_s
    while len(list(Path(folder).glob("*.parquet"))) <= int(count) and time.monotonic() < deadline:
        time.sleep(0.05)


def fault_batches() -> int:
    """How many batches the writer hands over before the ``during_delta_write`` fault fires."""
    return int(os.environ.get(FAULT_BATCHES_ENV, "2"))
