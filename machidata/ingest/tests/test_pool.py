"""Arrow allocates from jemalloc while an ingest runs and from the previous default pool afterwards."""

from __future__ import annotations

import threading

import pyarrow as pa
import pytest

from machidata.ingest import services


def _has_jemalloc() -> bool:
    try:
        pa.jemalloc_memory_pool()
    except (NotImplementedError, pa.ArrowNotImplementedError):
        return False
    return True


pytestmark = pytest.mark.skipif(not _has_jemalloc(), reason="pyarrow built without jemalloc")


def test_ingest_runs_on_jemalloc_and_restores_the_default(monkeypatch):
    before = pa.default_memory_pool().backend_name
    seen = []

    def fake(**kwargs):
        seen.append(pa.default_memory_pool().backend_name)
        return "version"

    monkeypatch.setattr(services, "_ingest_file", fake)
    assert services.ingest_file(actor=None, table=None, path=None, source_name="x") == "version"
    assert seen == ["jemalloc"]
    assert pa.default_memory_pool().backend_name == before


def test_the_pool_comes_back_after_an_error_and_only_after_the_last_of_overlapping_ingests():
    before = pa.default_memory_pool().backend_name
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with services._arrow_pool():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    thread.start()
    inside.wait(10)
    with pytest.raises(ValueError, match="failed"), services._arrow_pool():
        raise ValueError("a failed ingest")
    assert pa.default_memory_pool().backend_name == "jemalloc"  # the other ingest still runs
    release.set()
    thread.join()
    assert pa.default_memory_pool().backend_name == before
