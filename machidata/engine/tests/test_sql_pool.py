"""The pool of pre-started SQL workers: reused only after a normal answer, a fresh database per statement,
the same limits as a process per statement (time, memory, address space)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


# ---- the kept database of checked statements -------------------------------------------------------


def _worker_module() -> Any:
    """``sql_worker.py`` loaded in this process (it imports nothing from the project)."""
    spec = importlib.util.spec_from_file_location("machidata_sql_worker_under_test", sqlmod.WORKER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _request(views: list[SqlView], sql: str, *, check: bool = True) -> dict[str, Any]:
    return {
        "sql": sql, "check": check, "threads": 1, "memory_mb": 256, "address_space_mb": 0,
        "max_rows": 100, "max_bytes": 1_000_000,
        "views": [{"schema": v.schema, "name": v.name, "files": list(v.files), "columns": []} for v in views],
    }  # fmt: skip


def test_checked_statements_over_the_same_views_share_one_locked_down_database(
    views: list[SqlView], tmp_path: Path
) -> None:
    w = _worker_module()
    kept = w.Kept()
    count = 'SELECT count(*) FROM "kenko-data"."shops"'
    assert kept.run(_request(views, count))["rows"] == [[len(ROWS)]]
    con = kept.con
    assert kept.run(_request(views, 'SELECT max(id) FROM "kenko-data"."shops"'))["rows"] == [[10]]
    assert kept.con is con  # the same database, its view already made
    # still locked down: no setting can be changed, no other file read
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n", encoding="utf-8")
    for attack in (f"SELECT * FROM read_csv('{secret}')", "SET enable_external_access = true"):  # noqa: S608
        assert not kept.run(_request(views, attack))["ok"]
    # other views: another database
    other = [SqlView("kenko-data", "shops", views[0].files), SqlView("x", "y", views[0].files)]
    assert kept.run(_request(other, count))["ok"]
    assert kept.con is not con
    kept.close()


def test_an_unchecked_statement_never_runs_on_the_kept_database(views: list[SqlView]) -> None:
    w = _worker_module()
    kept = w.Kept()
    assert kept.run(_request(views, "SELECT 1"))["ok"]
    con = kept.con
    made = kept.run(_request(views, "CREATE TEMP TABLE left_behind AS SELECT 42 AS x", check=False))
    assert made["ok"]
    assert kept.con is con
    assert con.execute("SELECT count(*) FROM duckdb_tables()").fetchone() == (0,)  # made elsewhere
    seen = kept.run(_request(views, "SELECT * FROM left_behind"))  # a checked statement: the kept database
    assert not seen["ok"]
    assert "left_behind" in seen["message"]


def test_a_failed_statement_closes_the_kept_database(views: list[SqlView]) -> None:
    w = _worker_module()
    kept = w.Kept()
    assert kept.run(_request(views, "SELECT 1"))["ok"]
    con = kept.con
    assert kept.run(_request(views, 'SELECT no_such_column FROM "kenko-data"."shops"'))["kind"] == "query"
    assert kept.con is None
    assert kept.run(_request(views, "SELECT 1"))["ok"]
    assert kept.con is not con


def test_a_statement_that_leaves_nothing_behind_runs_again_and_again(
    pool: WorkerPool, views: list[SqlView]
) -> None:
    """CTEs, window functions, UNNEST…: twice each through the pool (the kept database), the same answer.
    PIVOT is not among them: DuckDB runs it as several statements that create ENUM types, so its own
    check refuses it (it is not one SELECT) and nothing is left behind."""
    for text in (
        'WITH w AS (SELECT "ward", count(*) AS n FROM "kenko-data"."shops" GROUP BY 1) SELECT * FROM w ORDER BY 1',
        'SELECT "id", row_number() OVER (PARTITION BY "ward" ORDER BY "id") FROM "kenko-data"."shops" ORDER BY 1',
        "SELECT unnest([1, 2, 3]) AS x",
        'SELECT "ward", list("id" ORDER BY "id") FROM "kenko-data"."shops" GROUP BY 1 ORDER BY 1',
    ):
        first = run_sql(check_sql(text), views)
        assert first.rows
        assert run_sql(check_sql(text), views).rows == first.rows, text
    (worker,) = [w for ws in pool._idle.values() for w in ws]
    assert worker.uses == 8
    for text in (
        'PIVOT "kenko-data"."shops" ON "ward" USING count(*)',
        'SELECT * FROM (PIVOT "kenko-data"."shops" ON "ward" USING sum("visits"))',
    ):
        with pytest.raises(sqlmod.SqlRefused):
            run_sql(check_sql(text), views)
