"""The ingest service's worker threads (read → normalise → write), without a database."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from machidata.core.errors import InvalidInput
from machidata.ingest.services import _ahead

# --- the worker threads between reader, normaliser and writer ---------------------------------------


def test_ahead_keeps_order_and_raises_the_workers_error_in_the_consumer() -> None:
    def items() -> Iterator[int]:
        yield from range(5)
        raise InvalidInput("壊れた行があります")

    stream = _ahead(_ahead(items(), 2), 2)
    assert [next(stream) for _ in range(5)] == [0, 1, 2, 3, 4]
    with pytest.raises(InvalidInput, match="壊れた行"):
        next(stream)


def test_ahead_stopped_early_stops_and_closes_its_source() -> None:
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            yield from range(1_000_000)
        finally:
            closed.set()

    before = threading.active_count()
    stream = _ahead(items(), 2)
    assert [next(stream) for _ in range(3)] == [0, 1, 2]
    stream.close()
    assert closed.wait(5)
    assert threading.active_count() == before


def test_ahead_starts_its_worker_before_the_first_item_is_asked_for() -> None:
    started = threading.Event()

    def items() -> Iterator[int]:
        started.set()
        yield from range(3)

    stream = _ahead(items(), 2)
    assert started.wait(5)  # the reader works while the sample is screened
    assert list(stream) == [0, 1, 2]
    stream.close()
