"""Connections kept per thread for run_query: reused for the same files only, still locked down, dropped after a failure."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from machidata.engine import EngineError, EngineTimeout, TableQuery, run_query
from machidata.engine import sandbox as sandbox_module
from machidata.engine.sandbox import forget_kept_connections, reused_sandbox
from machidata.engine.tests.conftest import ROWS, ids, write_rows


@pytest.fixture(autouse=True)
def _fresh_shelf() -> Any:
    forget_kept_connections()
    yield
    forget_kept_connections()


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[duckdb.DuckDBPyConnection]:
    """Every connection the sandbox takes (new or spare), in order."""
    seen: list[duckdb.DuckDBPyConnection] = []
    real = sandbox_module._take_connection

    def take(threads: int, memory_limit: str) -> duckdb.DuckDBPyConnection:
        raw = real(threads, memory_limit)
        seen.append(raw)
        return raw

    monkeypatch.setattr(sandbox_module, "_take_connection", take)
    return seen


def test_the_same_files_reuse_one_connection_with_the_same_answers(
    files: list[str], opened: list[duckdb.DuckDBPyConnection]
) -> None:
    q = TableQuery.from_dict(
        {"filters": [{"column": "ward", "op": "eq", "value": "中央区"}], "sort": [["id", "asc"]]}
    )
    first = run_query(files, q)
    second = run_query(files, q)
    third = run_query(files, TableQuery.from_dict({"limit": 2}))
    assert len(opened) == 1
    expected = [r["id"] for r in ROWS if r["ward"] == "中央区"]
    assert ids(first.table) == ids(second.table) == expected
    assert first.total == second.total == len(expected)
    assert third.table.num_rows == 2
    assert third.total == len(ROWS)


def test_other_files_get_their_own_connection_and_the_shelf_is_bounded(
    files: list[str], tmp_path: Path, opened: list[duckdb.DuckDBPyConnection]
) -> None:
    others = []
    for k in range(sandbox_module.KEPT_PER_THREAD + 1):
        folder = tmp_path / f"other{k}"
        folder.mkdir()
        others.append([write_rows(folder / "part.parquet", ROWS[: k + 1])])
    assert run_query(files, TableQuery()).total == len(ROWS)
    for k, other in enumerate(others):
        assert run_query(other, TableQuery()).total == k + 1  # never the first files' rows
    assert len(opened) == 1 + len(others)
    assert len(sandbox_module._kept()) == sandbox_module.KEPT_PER_THREAD
    run_query(files, TableQuery())  # the oldest was closed: a new connection
    assert len(opened) == 2 + len(others)
    assert opened[0] not in [k.raw for k in sandbox_module._kept().values()]


def test_a_kept_connection_stays_locked_down(files: list[str], tmp_path: Path) -> None:
    secret = write_rows(tmp_path / "secret.parquet", ROWS[:1])
    for _ in range(2):  # the second use is the kept connection
        with reused_sandbox(files) as sb:
            with pytest.raises(duckdb.Error, match=r"lock|configuration|Cannot change"):
                sb.raw.execute("SET enable_external_access = true")
            with pytest.raises(duckdb.Error):
                sb.raw.sql(f"SELECT * FROM read_parquet('{secret}')").fetchall()  # noqa: S608 - the escape tried
    assert len(sandbox_module._kept()) == 1


def test_a_failed_or_timed_out_use_is_not_kept(files: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(EngineError), reused_sandbox(files) as sb:
        sb.raw.sql("SELECT * FROM no_such_table").fetchall()
    assert not sandbox_module._kept()
    real = sandbox_module._nfkc_udf

    def slow(values: pa.Array) -> pa.Array:
        time.sleep(0.6)
        return real(values)

    monkeypatch.setattr(sandbox_module, "_nfkc_udf", slow)
    q = TableQuery.from_dict({"filters": [{"column": "name", "op": "contains", "value": "a"}]})
    run_query(files, TableQuery())  # one kept connection …
    assert len(sandbox_module._kept()) == 1
    with pytest.raises(EngineTimeout):
        run_query(files, q, timeout_s=0.2)  # … interrupted at its deadline, then closed
    assert not sandbox_module._kept()
    monkeypatch.setattr(sandbox_module, "_nfkc_udf", real)
    assert run_query(files, TableQuery()).total == len(ROWS)  # a fresh one works


def test_connections_are_never_shared_between_threads(
    files: list[str], opened: list[duckdb.DuckDBPyConnection]
) -> None:
    run_query(files, TableQuery())
    totals: list[int] = []
    worker = threading.Thread(
        target=lambda: (totals.append(run_query(files, TableQuery()).total), forget_kept_connections())
    )
    worker.start()
    worker.join()
    assert totals == [len(ROWS)]
    assert len(opened) == 2
    assert opened[0] is not opened[1]
