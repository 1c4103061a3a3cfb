"""Apache Spark backend: the same Ibis expressions on a PySpark session, over the same Parquet file lists.

Used when ``MACHIDATA_ENGINE=spark`` (:mod:`machidata.engine.backends`). What differs from DuckDB:

- One ``SparkSession`` per process, created at the first Spark query (a JVM takes seconds to start)
  and kept; the Ibis PySpark backend wraps it. The master URL comes from ``MACHIDATA_SPARK_MASTER``
  (``local[2]`` by default: Spark in this process's JVM with two threads).
- A version's files are read with ``spark.read.option("mergeSchema", "true").parquet(*files)`` —
  Ibis's own ``read_parquet`` on PySpark takes one path, and a version whose later files carry an
  appended column needs the schemas merged (missing cells are blank, as DuckDB's
  ``union_by_name``) — and registered as a temporary view with a fresh name that Ibis reads as a table.
- ``machidata_nfkc_lower`` (the Japanese search normalisation, :mod:`machidata.engine.compile`) is a
  vectorised pandas UDF with the same pyarrow functions as DuckDB's.
- The session time zone is UTC and ANSI mode is off, as DuckDB behaves under Ibis: naive timestamps
  are wall-clock values, and a bad cast or a division by zero gives a blank rather than an error.
- Column names are case-sensitive (``ID`` and ``id`` are two columns, as in the lake).
- The time limit cancels the query's Spark job group (and keeps cancelling until the block ends, so
  a job started after the deadline is stopped too); the error becomes :class:`EngineTimeout`.
- Threads and memory are the session's (``MACHIDATA_SPARK_*``), not per query as in DuckDB.
- Results come back as Arrow (``DataFrame.toArrow``), cast to the types Ibis promises, so callers
  see the same Arrow types from both engines; a stream reads the result partition by partition.

The SQL console stays on DuckDB (:mod:`machidata.engine.sql`), and so do exports, profiles and staging.
"""

from __future__ import annotations

import os
import sys
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from machidata.engine.backends import SparkConfig, spark_config
from machidata.engine.compile import NFKC_FUNCTION
from machidata.engine.errors import EngineError, EngineQueryError, EngineTimeout

INTERRUPT_EVERY_S = 0.05

_lock = threading.Lock()
_state: dict[str, Any] = {}  # "session", "backend", "pid": the process's one session


def spark_available() -> bool:
    """Whether PySpark is installed (``pip install 'machidata[spark]'``)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    return True


def _build_session(cfg: SparkConfig) -> Any:
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise EngineError(
            "集計エンジンに Spark が設定されていますが、PySpark が入っていません（pip install 'machidata[spark]'）。"
        ) from exc
    # Python workers must run this interpreter (it has pyarrow and pandas); a cluster may set its own.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(cfg.master)
        .appName("machidata")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", cfg.driver_memory)
        .config("spark.executor.memory", cfg.executor_memory)
        .config("spark.sql.shuffle.partitions", str(cfg.shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.sql.caseSensitive", "true")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.parquet.inferTimestampNTZ.enabled", "true")
    )
    if cfg.master.startswith("local"):
        # A local Spark talks to itself only: never on the server's network address.
        builder = builder.config("spark.driver.host", "127.0.0.1").config(
            "spark.driver.bindAddress", "127.0.0.1"
        )
    try:
        session = builder.getOrCreate()
    except Exception as exc:
        raise EngineError(
            f"Spark に接続できませんでした（{cfg.master}）。Java と MACHIDATA_SPARK_MASTER を確かめてください（{type(exc).__name__}）。"
        ) from exc
    session.sparkContext.setLogLevel("ERROR")
    session.udf.register(NFKC_FUNCTION, _nfkc_udf())
    return session


def _nfkc_udf() -> Any:
    """``machidata_nfkc_lower`` as a pandas UDF (defined here so it is shipped to workers by value)."""
    import pandas as pd
    from pyspark.sql.functions import pandas_udf

    def nfkc(values: pd.Series) -> pd.Series:
        import pyarrow as pa_
        import pyarrow.compute as pc_

        arr = pa_.array(values, type=pa_.string(), from_pandas=True)
        return pc_.utf8_lower(pc_.utf8_normalize(arr, form="NFKC")).to_pandas()

    # The same two pyarrow functions as DuckDB's implementation (compile.nfkc_lower_arrow), written
    # out here so that cloudpickle ships the function by value and workers need no machidata.
    nfkc.__annotations__ = {"values": pd.Series, "return": pd.Series}  # real types, not postponed strings
    # Typed as Any: pyspark's overloads do not cover a function with runtime annotations, and without
    # the [spark] extra installed (the default lanes) mypy sees no pyspark at all.
    make_udf: Any = pandas_udf
    return make_udf(nfkc, "string")


def session_and_backend() -> tuple[Any, Any]:
    """The process's SparkSession and its Ibis backend, created on first use (one per process)."""
    with _lock:
        if _state.get("pid") != os.getpid() or _state["session"].sparkContext._jsc is None:
            session = _build_session(spark_config())
            _state.update(session=session, backend=ibis.pyspark.connect(session), pid=os.getpid())
        return _state["session"], _state["backend"]


def stop_session() -> None:
    """Stop the process's session (tests, shutdown); the next Spark query starts a new one."""
    with _lock:
        session = _state.pop("session", None)
        _state.clear()
    if session is not None:
        session.stop()


def _timeout_message(timeout_s: float) -> str:
    return f"処理が制限時間（{timeout_s:g}秒）を超えたため中止しました。条件を絞るか、列を減らしてもう一度お試しください。"


def _spark_schema(schema: pa.Schema) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema, prefer_timestamp_ntz=True)


@dataclass
class SparkSandbox:
    """One query's use of the session: its temporary views, its job group and its deadline."""

    session: Any
    backend: Any
    group: str
    timed_out: threading.Event
    timeout_s: float
    maybe_table: ir.Table | None = None
    views: list[str] = field(default_factory=list)
    cached: list[Any] = field(default_factory=list)

    @property
    def table(self) -> ir.Table:
        """The version's rows (or the empty table of its schema)."""
        if self.maybe_table is None:
            raise EngineQueryError("この版にはデータファイルがありません。")
        return self.maybe_table

    def _check_deadline(self) -> None:
        if self.timed_out.is_set():
            raise EngineTimeout(_timeout_message(self.timeout_s))

    def _view(self, df: Any) -> ir.Table:
        name = f"machidata_{uuid.uuid4().hex[:16]}"
        df.createOrReplaceTempView(name)
        self.views.append(name)
        return self.backend.table(name)

    def read(self, files: Sequence[str], schema: pa.Schema | None = None) -> ir.Table | None:
        """A table over ``files`` (schemas merged), or the empty table of ``schema``, or None."""
        self._check_deadline()
        if files:
            paths = [os.path.abspath(f) for f in files]
            return self._view(self.session.read.option("mergeSchema", "true").parquet(*paths))
        if schema is not None:
            return self._view(self.session.createDataFrame([], _spark_schema(schema)))
        return None

    def _df(self, expr: ir.Expr) -> Any:
        self._check_deadline()
        return self.session.sql(str(self.backend.compile(expr)))

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        """The rows of ``expr`` as Arrow, typed as Ibis promises (as DuckDB's results are)."""
        schema = expr.schema().to_pyarrow()
        got = self._df(expr).toArrow()
        # Ibis emulates OFFSET on Spark with a row-number column: keep only the promised columns.
        return got.select(schema.names).cast(schema)

    def scalar(self, expr: ir.Scalar) -> Any:
        """The Python value of a scalar expression."""
        table = self.to_arrow(expr.as_table())
        return table.column(0)[0].as_py() if table.num_rows else None

    def temp(self, expr: ir.Table) -> ir.Table:
        """Materialise a small intermediate result (checks reuse it several times)."""
        df = self._df(expr).localCheckpoint(eager=True)
        self.cached.append(df)
        # Spark may type a column more narrowly than Ibis promised (an int32 year cast to int64):
        # the view is read back with the promised types, as DuckDB's temporary table has them.
        return self._view(df).cast(expr.schema())

    def stream(self, expr: ir.Table, *, batch_rows: int) -> pa.RecordBatchReader:
        """Stream the rows as Arrow batches, partition by partition (never the whole result at once)."""
        schema = expr.schema().to_pyarrow()
        df = self._df(expr).select(*[f"`{n.replace('`', '``')}`" for n in schema.names])

        def batches() -> Iterator[pa.RecordBatch]:
            with _errors(self):
                rows: list[tuple[Any, ...]] = []
                for row in df.toLocalIterator(prefetchPartitions=False):
                    rows.append(tuple(row))
                    if len(rows) >= batch_rows:
                        yield _batch(rows, schema)
                        rows = []
                if rows:
                    yield _batch(rows, schema)

        return pa.RecordBatchReader.from_batches(schema, batches())


def _batch(rows: list[tuple[Any, ...]], schema: pa.Schema) -> pa.RecordBatch:
    columns = list(zip(*rows, strict=True))
    return pa.RecordBatch.from_arrays(
        [pa.array(list(col), type=f.type) for col, f in zip(columns, schema, strict=True)], schema=schema
    )


@contextmanager
def _errors(sb: SparkSandbox) -> Iterator[None]:
    """Spark and Py4J errors become Japanese engine errors; a cancelled job past the deadline, a timeout."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    try:
        yield
    except (PySparkException, Py4JError) as exc:
        if sb.timed_out.is_set():
            raise EngineTimeout(_timeout_message(sb.timeout_s)) from exc
        if "OutOfMemory" in str(exc):
            raise EngineError(
                "Spark で処理に使えるメモリを超えました。条件を絞るか、列を減らしてください。"
            ) from exc
        raise EngineError(
            f"データの読み込みまたは集計に失敗しました（Spark: {type(exc).__name__}）。"
        ) from exc


@contextmanager
def open_spark(
    files: Sequence[str], *, schema: pa.Schema | None = None, timeout_s: float = 30.0
) -> Iterator[SparkSandbox]:
    """A sandbox over the process's session: ``files`` as its table, a job group cancelled at ``timeout_s``.

    Access is decided before the files get here; Spark reads exactly these files (the lake's list
    for the version), not a folder.
    """
    if timeout_s <= 0:
        raise EngineQueryError("制限時間は0より大きい秒数で指定してください。")
    session, backend = session_and_backend()
    sc = session.sparkContext
    group = f"machidata-{uuid.uuid4().hex}"
    timed_out = threading.Event()
    closed = threading.Event()
    sb = SparkSandbox(session=session, backend=backend, group=group, timed_out=timed_out, timeout_s=timeout_s)

    def watch() -> None:
        if closed.wait(timeout_s):
            return
        timed_out.set()
        while True:
            sc.cancelJobGroup(group)
            if closed.wait(INTERRUPT_EVERY_S):
                return

    timer = threading.Thread(target=watch, name="engine-spark-deadline", daemon=True)
    sc.setJobGroup(group, "machidata query", interruptOnCancel=True)
    timer.start()
    try:
        with _errors(sb):
            sb.maybe_table = sb.read(files, schema)
            yield sb
    finally:
        closed.set()
        timer.join()
        for key in ("spark.jobGroup.id", "spark.job.description", "spark.job.interruptOnCancel"):
            sc.setLocalProperty(key, None)
        for name in sb.views:
            session.catalog.dropTempView(name)
        for df in sb.cached:
            df.unpersist()
