"""Small data shared by the lake tests and the crash-test writer."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

SCHEMA = pa.schema([("name", pa.string()), ("amount", pa.int64())])


def batches(tag: str, n: int, *, size: int = 3) -> Iterator[pa.RecordBatch]:
    """``n`` rows named ``tag-0``… in batches of ``size`` (a generator: consumed once, streamed)."""
    for start in range(0, n, size):
        stop = min(start + size, n)
        yield pa.record_batch(
            [pa.array([f"{tag}-{i}" for i in range(start, stop)]), pa.array(range(start, stop), pa.int64())],
            schema=SCHEMA,
        )
