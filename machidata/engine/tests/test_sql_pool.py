"""The pool of pre-started SQL workers: reused only after a normal answer, a fresh database per statement,
the same limits as a process per statement (time, memory, address space)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from machidata.engine import sql as sqlmod
from machidata.engine.errors import EngineError, EngineQueryError, EngineTimeout
from machidata.engine.sql import SqlView, WorkerPool, check_sql, run_sql
from machidata.engine.tests.conftest import ROWS, write_rows


@pytest.fixture
def views(tmp_path: Path) -> list[SqlView]:
    return [SqlView("kenko-data", "shops", (write_rows(tmp_path / "part-0.parquet", ROWS),))]


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[WorkerPool]:
    """A pool of its own in place of the module's, closed afterwards."""
    mine = WorkerPool()
    monkeypatch.setattr(sqlmod, "_POOL", mine)
    yield mine
    mine.close()


def idle(pool: WorkerPool) -> list[int]:
    """Process ids of the idle workers."""
    return [w.proc.pid for ws in pool._idle.values() for w in ws]


def test_a_worker_answers_again_and_again(pool: WorkerPool, views: list[SqlView]) -> None:
    first = run_sql(check_sql('SELECT count(*) FROM "kenko-data"."shops"'), views)
    pids = idle(pool)
    assert len(pids) == 1
    second = run_sql(check_sql('SELECT max(id) FROM "kenko-data"."shops"'), views)
    assert idle(pool) == pids  # the same process answered
    assert first.rows == [[len(ROWS)]]
    assert second.rows == [[max(r["id"] for r in ROWS)]]


def test_each_statement_gets_a_fresh_database(pool: WorkerPool, views: list[SqlView]) -> None:
    """What one statement leaves behind (here a temp table, with every check off) is gone for the next."""
    run_sql("CREATE TEMP TABLE left_behind AS SELECT 42 AS x", views, check=False)
    pid = idle(pool)
    with pytest.raises(EngineQueryError) as info:
        run_sql("SELECT * FROM left_behind", views, check=False)
    assert idle(pool) == pid  # same worker, and still it does not see the table
    assert "left_behind" in info.value.message


def test_the_lockdown_holds_in_a_reused_worker(
    pool: WorkerPool, views: list[SqlView], tmp_path: Path
) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n", encoding="utf-8")
    steal = f"SELECT * FROM read_csv('{secret}')"  # noqa: S608 — the attack under test
    run_sql(check_sql('SELECT count(*) FROM "kenko-data"."shops"'), views)
    with pytest.raises(EngineQueryError):
        run_sql(steal, views, check=False)
    with pytest.raises(EngineQueryError):
        run_sql("SET enable_external_access = true", views, check=False)
    with pytest.raises(EngineQueryError):
        run_sql(steal, views, check=False)


def test_a_timed_out_worker_is_killed_not_reused(pool: WorkerPool, views: list[SqlView]) -> None:
    run_sql(check_sql("SELECT 1"), views)
    (worker,) = [w for ws in pool._idle.values() for w in ws]
    with pytest.raises(EngineTimeout):
        run_sql(
            check_sql("SELECT count(*) FROM range(1000000) a, range(1000000) b, range(1000) c"),
            views, timeout_s=2, threads=1,
        )  # fmt: skip
    assert worker.proc.poll() is not None  # killed
    assert idle(pool) == []
    assert run_sql(check_sql("SELECT 2"), views).rows == [[2]]  # a new worker answers


def test_a_worker_that_ran_out_of_memory_is_not_reused(pool: WorkerPool, views: list[SqlView]) -> None:
    run_sql(check_sql("SELECT 1"), views, memory_mb=64)
    (worker,) = [w for ws in pool._idle.values() for w in ws]
    with pytest.raises(EngineError) as info:
        run_sql(check_sql("SELECT list(a.range) FROM range(1000000) a, range(200) b"), views, memory_mb=64)
    assert "メモリ" in info.value.message
    assert worker.proc.poll() is not None
    assert idle(pool) == []


def test_the_address_space_limit_holds_in_the_pool(pool: WorkerPool, views: list[SqlView]) -> None:
    """Workers are kept per address-space limit: a statement never runs under another statement's cap."""
    run_sql(check_sql("SELECT 1"), views, memory_mb=16_000, address_space_mb=1_400)
    with pytest.raises(EngineError) as info:
        run_sql(
            check_sql("SELECT length(repeat('x', 2000000000))"), views,
            memory_mb=16_000, address_space_mb=1_400,
        )  # fmt: skip
    assert "メモリ" in info.value.message


def test_workers_are_replaced_after_their_uses(
    pool: WorkerPool, views: list[SqlView], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlmod, "POOL_USES", 2)
    run_sql(check_sql("SELECT 1"), views)
    (worker,) = [w for ws in pool._idle.values() for w in ws]
    run_sql(check_sql("SELECT 1"), views)
    assert worker.proc.poll() is not None
    assert idle(pool) == []


def test_one_process_per_statement_still_works(pool: WorkerPool, views: list[SqlView]) -> None:
    result = run_sql(check_sql('SELECT count(*) FROM "kenko-data"."shops"'), views, pooled=False)
    assert result.rows == [[len(ROWS)]]
    assert idle(pool) == []
