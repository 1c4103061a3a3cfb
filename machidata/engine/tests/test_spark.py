"""What only the Spark backend has: its session, schema merging over a file list, its time limit."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pyarrow as pa
import pytest

from machidata.engine import EngineError, EngineQueryError, EngineTimeout, TableQuery, run_query
from machidata.engine.backends import use_engine
from machidata.engine.spark import open_spark, session_and_backend
from machidata.engine.tests.conftest import ROWS, SCHEMA, write_rows

pytestmark = pytest.mark.spark

SLOW_SQL = "SELECT count(*) FROM range(2000000000) a CROSS JOIN range(1000000) b WHERE a.id + b.id < 0"


def test_one_session_per_process_with_the_engine_settings() -> None:
    first, backend = session_and_backend()
    again, backend_again = session_and_backend()
    assert first is again
    assert backend is backend_again
    conf = first.conf
    assert first.sparkContext.master == "local[2]"
    assert conf.get("spark.sql.session.timeZone") == "UTC"
    assert conf.get("spark.sql.ansi.enabled") == "false"
    assert conf.get("spark.sql.caseSensitive") == "true"


def test_files_with_an_appended_column_are_merged_as_on_duckdb(tmp_path: Path) -> None:
    wider = SCHEMA.append(pa.field("memo", pa.string()))
    old = write_rows(tmp_path / "old.parquet", ROWS[:4])
    new = write_rows(tmp_path / "new.parquet", [{**r, "memo": f"m{r['id']}"} for r in ROWS[4:]], wider)
    q = TableQuery.from_dict({"sort": [["id", "asc"]], "fields": ["id", "memo"]})
    duck = run_query([old, new], q)
    with use_engine("spark"):
        spark = run_query([old, new], q)
    expected = [{"id": r["id"], "memo": None if r["id"] <= 4 else f"m{r['id']}"} for r in ROWS]
    assert duck.table.to_pylist() == expected
    assert spark.table.to_pylist() == expected
    assert spark.table.schema == duck.table.schema


def test_an_empty_version_uses_its_schema_and_wall_clock_times_stay(tmp_path: Path) -> None:
    with use_engine("spark"):
        empty = run_query(
            [], TableQuery.from_dict({"filters": [{"column": "id", "op": "gt", "value": 1}]}), schema=SCHEMA
        )
        assert (empty.total, empty.columns) == (0, SCHEMA.names)
        assert empty.table.schema == SCHEMA
        with pytest.raises(EngineQueryError, match="データファイルがありません"):
            run_query([], TableQuery())
        path = write_rows(tmp_path / "t.parquet", ROWS)
        got = run_query(
            [path],
            TableQuery.from_dict({"fields": ["at"], "filters": [{"column": "id", "op": "eq", "value": 1}]}),
        )
    assert got.table.column("at").to_pylist() == [dt.datetime(2024, 3, 31, 23, 30)]
    assert got.table.schema.field("at").type == pa.timestamp("us")


def test_a_missing_file_is_a_japanese_engine_error(tmp_path: Path) -> None:
    with use_engine("spark"), pytest.raises(EngineError, match="データの読み込みまたは集計に失敗しました"):
        run_query([str(tmp_path / "gone.parquet")], TableQuery())


def test_the_time_limit_cancels_the_job(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "t.parquet", ROWS)
    started = time.monotonic()
    with (
        pytest.raises(EngineTimeout, match=r"制限時間（1秒）を超えたため中止しました"),
        open_spark([path], timeout_s=1) as sb,
    ):
        sb.session.sql(SLOW_SQL).collect()
    assert time.monotonic() - started < 30
    # The session is still usable, and a fast query within its limit is not cancelled later (by the
    # earlier 1-second deadline). Its own limit leaves room for the cancelled job's tasks to wind down on
    # local[2]: with 5 s it was cancelled once in CI by its own limit while they still held both cores.
    with use_engine("spark"):
        result = run_query([path], TableQuery.from_dict({"limit": 1}), timeout_s=30)
    assert result.table.num_rows == 1


def test_a_job_started_after_the_deadline_is_cancelled_too(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "t.parquet", ROWS)
    started = time.monotonic()
    with pytest.raises(EngineTimeout), open_spark([path], timeout_s=0.5) as sb:  # noqa: PT012 - the wait is the point
        time.sleep(1.0)
        sb.session.sql(SLOW_SQL).collect()
    assert time.monotonic() - started < 30
