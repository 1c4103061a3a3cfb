"""Pre-opened spare connections and the compiled-SQL cache: faster, never shared, never stale."""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from machidata.engine import EngineError, TableQuery, run_query
from machidata.engine import sandbox as sandbox_module
from machidata.engine.sandbox import open_sandbox
from machidata.engine.tests.conftest import write_rows


def _wait_for_spare(threads: int = 2, memory_limit: str = "1GB") -> None:
    deadline = time.monotonic() + 10
    key = (sandbox_module.os.getpid(), threads, memory_limit)
    while key not in sandbox_module._spares:
        assert time.monotonic() < deadline, "no spare connection was prepared"
        time.sleep(0.01)


def test_a_spare_is_prepared_and_never_carries_state(files: list[str]) -> None:
    with open_sandbox(files) as sb:
        sb.raw.execute("CREATE TABLE leak AS SELECT 42 AS x")
    _wait_for_spare()
    with open_sandbox(files) as sb:
        with pytest.raises(Exception, match="leak"):
            sb.raw.sql("SELECT * FROM leak").fetchall()
        # The taken spare is locked down like any sandbox: no other files, no settings changes.
        with pytest.raises(Exception, match=r"lock|configuration|Cannot change"):
            sb.raw.execute("SET enable_external_access = true")


def test_spares_follow_thread_and_memory_settings(files: list[str]) -> None:
    with open_sandbox(files, threads=1, memory_limit="256MB"):
        pass
    _wait_for_spare(1, "256MB")
    with open_sandbox(files, threads=1, memory_limit="256MB") as sb:
        assert sb.raw.sql("SELECT current_setting('threads')").fetchall() == [(1,)]


def test_spares_can_be_switched_off(files: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_module, "SPARE_CONNECTIONS", False)
    with sandbox_module._spares_lock:
        running = list(sandbox_module._spare_threads)
    for thread in running:  # spares an earlier test asked for
        thread.join(timeout=10)
    with sandbox_module._spares_lock:
        sandbox_module._spares.clear()
    with open_sandbox(files):
        pass
    time.sleep(0.2)
    assert not sandbox_module._spares


def test_compiled_sql_is_keyed_by_the_column_types(tmp_path: Path) -> None:
    ints = pa.schema([("ward", pa.string()), ("n", pa.int64())])
    floats = pa.schema([("ward", pa.string()), ("n", pa.float64())])
    rows = [{"ward": "東区", "n": 1}, {"ward": "東区", "n": 2}, {"ward": "西区", "n": 4}]
    a = write_rows(tmp_path / "a.parquet", rows, ints)
    b = write_rows(tmp_path / "b.parquet", [{**r, "n": r["n"] + 0.5} for r in rows], floats)
    query = TableQuery.from_dict({"group_by": ["ward"], "measures": [{"op": "sum", "column": "n"}]})
    first = run_query([a], query).table
    second = run_query([b], query).table
    assert first.schema.field("合計（n）").type == pa.int64()
    assert second.schema.field("合計（n）").type == pa.float64()
    assert dict(zip(*second.to_pydict().values(), strict=True)) == {"東区": 4.0, "西区": 4.5}


def test_compiled_sql_follows_the_row_cap(tmp_path: Path) -> None:
    schema = pa.schema([("k", pa.int64())])
    f = write_rows(tmp_path / "k.parquet", [{"k": i} for i in range(30)], schema)
    query = TableQuery.from_dict({"group_by": ["k"]})
    assert run_query([f], query, max_rows=5).table.num_rows == 5
    assert run_query([f], query, max_rows=7).table.num_rows == 7
    assert run_query([f], query).table.column("k").to_pylist() == list(range(30))


def test_errors_still_close_and_replace_the_connection(files: list[str]) -> None:
    with pytest.raises(EngineError), open_sandbox(files) as sb:
        sb.raw.sql("SELECT * FROM read_csv('/etc/passwd')").fetchall()
    _wait_for_spare()


def test_a_used_connection_is_closed_in_the_background(files: list[str]) -> None:
    with open_sandbox(files) as sb:
        used = sb.raw
        assert used.sql("SELECT count(*) FROM t").fetchall() == [(10,)]
    with sandbox_module._spares_lock:
        running = list(sandbox_module._spare_threads)
    for thread in running:
        thread.join(timeout=10)
    with pytest.raises(Exception, match="closed"):
        used.execute("SELECT 1")


def test_the_schema_of_a_file_list_is_described_once_and_again_when_a_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    described: list[str] = []
    original = sandbox_module.DuckDBBackend.get_schema

    def counting(self: object, name: str, **kwargs: object) -> object:
        described.append(name)
        return original(self, name, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sandbox_module.DuckDBBackend, "get_schema", counting)
    monkeypatch.setattr(sandbox_module, "_schemas", {})
    path = tmp_path / "part-0.parquet"
    pq_rows = [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
    pa_table = pa.Table.from_pylist(pq_rows)
    pq.write_table(pa_table, path)
    query = TableQuery.model_validate({"group_by": ["b"], "measures": [{"op": "sum", "column": "a"}]})
    first = run_query([str(path)], query)
    assert described == ["t"]
    again = run_query([str(path)], query)
    assert described == ["t"]  # the kept schema: no second DESCRIBE
    assert again.table.to_pylist() == first.table.to_pylist()
    assert sorted(r["b"] for r in again.table.to_pylist()) == ["x", "y"]
    # the same path rewritten with another column: another size (and mtime), described afresh
    pq.write_table(pa.Table.from_pylist([{"a": 5, "b": "z", "c": 1.5}]), path)
    with open_sandbox([str(path)]) as sb:
        assert sb.table.schema().names == ("a", "b", "c")
    assert described == ["t", "t"]
    # switched off: every sandbox describes its view
    monkeypatch.setattr(sandbox_module, "SCHEMA_CACHE", False)
    with open_sandbox([str(path)]) as sb:
        assert "c" in sb.table.schema().names
    assert described == ["t", "t", "t"]
