"""Which engine runs TableQueries and recipes: DuckDB in this process (the default) or Apache Spark.

The engine is a leaf (it never imports Django settings), so it reads its own environment variables,
at the moment of each query: ``MACHIDATA_ENGINE`` (``duckdb`` or ``spark``), and for Spark
``MACHIDATA_SPARK_MASTER`` (``local[2]``, ``spark://host:7077``, ``yarn``, …),
``MACHIDATA_SPARK_DRIVER_MEMORY``, ``MACHIDATA_SPARK_EXECUTOR_MEMORY`` and
``MACHIDATA_SPARK_SHUFFLE_PARTITIONS``. ``machidata/config/settings.py`` declares the same names
(with the same defaults) so that they are documented and checked with the others.

:func:`use_engine` switches the engine for the current process for a block (tests, benchmarks).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from machidata.engine.errors import EngineError

EngineName = Literal["duckdb", "spark"]
ENGINES: tuple[EngineName, ...] = ("duckdb", "spark")
DEFAULT_SPARK_MASTER = "local[2]"

_override: list[EngineName] = []
_override_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class SparkConfig:
    """How the process's one SparkSession is built (read when it is first needed)."""

    master: str = DEFAULT_SPARK_MASTER
    driver_memory: str = "1g"
    executor_memory: str = "1g"
    shuffle_partitions: int = 8


def engine_name() -> EngineName:
    """The engine for the next query: the innermost :func:`use_engine`, else ``MACHIDATA_ENGINE``."""
    with _override_lock:
        if _override:
            return _override[-1]
    raw = os.environ.get("MACHIDATA_ENGINE", "duckdb").strip().lower() or "duckdb"
    if raw == "duckdb":
        return "duckdb"
    if raw == "spark":
        return "spark"
    raise EngineError(
        f"集計エンジンの設定（MACHIDATA_ENGINE={raw}）が正しくありません。duckdb か spark を指定してください。"
    )


@contextmanager
def use_engine(name: EngineName) -> Iterator[None]:
    """Run the block's queries on ``name`` (every thread of this process), then restore the previous choice."""
    if name not in ENGINES:
        raise EngineError(f"集計エンジン「{name}」はありません（duckdb か spark）。")
    with _override_lock:
        _override.append(name)
    try:
        yield
    finally:
        with _override_lock:
            _override.pop()


def spark_config() -> SparkConfig:
    """The Spark settings from the environment (defaults suit a local Spark on a small server)."""
    partitions = os.environ.get("MACHIDATA_SPARK_SHUFFLE_PARTITIONS", "8").strip() or "8"
    if not partitions.isdigit() or int(partitions) < 1:
        raise EngineError("MACHIDATA_SPARK_SHUFFLE_PARTITIONS は1以上の整数で指定してください。")
    return SparkConfig(
        master=os.environ.get("MACHIDATA_SPARK_MASTER", DEFAULT_SPARK_MASTER).strip() or DEFAULT_SPARK_MASTER,
        driver_memory=os.environ.get("MACHIDATA_SPARK_DRIVER_MEMORY", "1g").strip() or "1g",
        executor_memory=os.environ.get("MACHIDATA_SPARK_EXECUTOR_MEMORY", "1g").strip() or "1g",
        shuffle_partitions=int(partitions),
    )
