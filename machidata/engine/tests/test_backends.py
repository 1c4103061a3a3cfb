"""Choosing the engine (no Spark needed): the setting, its Japanese errors, and the SQL console's refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from machidata.engine import EngineError, EngineQueryError
from machidata.engine.backends import SparkConfig, engine_name, spark_config, use_engine
from machidata.engine.sql import SPARK_MESSAGE, SqlView, check_sql, run_sql
from machidata.engine.tests.conftest import ROWS, write_rows


def test_duckdb_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MACHIDATA_ENGINE", raising=False)
    assert engine_name() == "duckdb"
    monkeypatch.setenv("MACHIDATA_ENGINE", " Spark ")
    assert engine_name() == "spark"


def test_an_unknown_engine_is_a_japanese_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MACHIDATA_ENGINE", "trino")
    with pytest.raises(EngineError, match=r"MACHIDATA_ENGINE=trino.*duckdb か spark"):
        engine_name()


def test_use_engine_nests_and_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MACHIDATA_ENGINE", raising=False)
    with use_engine("spark"):
        assert engine_name() == "spark"
        with use_engine("duckdb"):
            assert engine_name() == "duckdb"
        assert engine_name() == "spark"
    assert engine_name() == "duckdb"
    with pytest.raises(EngineError), use_engine("oracle"):  # type: ignore[arg-type]
        pass


def test_spark_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MASTER", "DRIVER_MEMORY", "EXECUTOR_MEMORY", "SHUFFLE_PARTITIONS"):
        monkeypatch.delenv(f"MACHIDATA_SPARK_{name}", raising=False)
    assert spark_config() == SparkConfig(
        master="local[2]", driver_memory="1g", executor_memory="1g", shuffle_partitions=8
    )
    monkeypatch.setenv("MACHIDATA_SPARK_MASTER", "spark://spark.city.local:7077")
    monkeypatch.setenv("MACHIDATA_SPARK_DRIVER_MEMORY", "4g")
    monkeypatch.setenv("MACHIDATA_SPARK_SHUFFLE_PARTITIONS", "64")
    cfg = spark_config()
    assert (cfg.master, cfg.driver_memory, cfg.shuffle_partitions) == (
        "spark://spark.city.local:7077",
        "4g",
        64,
    )
    monkeypatch.setenv("MACHIDATA_SPARK_SHUFFLE_PARTITIONS", "0")
    with pytest.raises(EngineError, match="1以上の整数"):
        spark_config()


def test_the_sql_console_says_it_is_duckdb_only_under_spark(tmp_path: Path) -> None:
    view = SqlView("kenko-data", "shops", (write_rows(tmp_path / "p.parquet", ROWS),))
    statement = check_sql('SELECT count(*) AS n FROM "kenko-data"."shops"')
    assert run_sql(statement, [view]).rows == [[len(ROWS)]]  # DuckDB: runs
    with use_engine("spark"), pytest.raises(EngineQueryError) as info:
        run_sql(statement, [view])
    assert info.value.message == SPARK_MESSAGE
    assert "DuckDB 専用" in SPARK_MESSAGE
    assert "MACHIDATA_ENGINE=spark" in SPARK_MESSAGE
