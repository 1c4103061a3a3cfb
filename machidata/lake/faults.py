"""Fault points for the crash-safety tests: a no-op unless MACHIDATA_LAKE_FAULT names the point.

Setting ``MACHIDATA_LAKE_FAULT=<point>`` makes the writer die at once (``os._exit(137)``, like a
SIGKILL: no ``finally``, no rollback handlers) when it reaches that point. The points, in order:

- ``during_parse`` (reached by ingest, before the lake is called; not in :data:`POINTS`, which lists
  the writer's own points): the start of the file is read and sampled; no row, no file written.
- ``after_pending_row``: the pending TableVersion row is committed, nothing written to Delta yet.
- ``during_delta_write``: Parquet files are being written; fires after
  ``MACHIDATA_LAKE_FAULT_BATCHES`` (default 2) batches were handed to the Delta writer.
- ``after_delta_commit``: the Delta commit exists, the row is still pending.
- ``before_row_commit``: inside the DB transaction that marks the row committed, before COMMIT.
"""

from __future__ import annotations

import os

FAULT_ENV = "MACHIDATA_LAKE_FAULT"
FAULT_BATCHES_ENV = "MACHIDATA_LAKE_FAULT_BATCHES"
POINTS = (
    "after_pending_row",
    "during_delta_write",
    "after_delta_commit",
    "before_row_commit",
)


def fault_point(name: str) -> None:
    """Die immediately if the environment asks for a crash at this point (tests only)."""
    if os.environ.get(FAULT_ENV) == name:
        os._exit(137)


def fault_batches() -> int:
    """How many batches the writer hands over before the ``during_delta_write`` fault fires."""
    return int(os.environ.get(FAULT_BATCHES_ENV, "2"))
