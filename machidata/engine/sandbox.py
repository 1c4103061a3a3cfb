"""A fresh, locked-down in-memory DuckDB connection per call, with a time limit that interrupts the query.

Why each setting:
- ``allowed_paths`` lists exactly the caller's files (and ``allowed_directories`` the staging output
  directory), then ``enable_external_access = false`` closes every other file, URL and extension, and
  ``lock_configuration = true`` refuses any later ``SET`` that would reopen them. Queries are built by
  Ibis from checked input, so this is defence in depth, and the base for a later SQL console.
- ``autoinstall/autoload_known_extensions = false``: nothing is downloaded at run time (LG-WAN).
- ``threads`` and ``memory_limit`` bound one query's share of the machine.
- Opening a DuckDB database costs tens of milliseconds, a large share of a small dashboard query.
  So when a sandbox is done, a background thread closes its connection and opens the *next* one (``duckdb.connect`` with
  the same threads and memory limit, nothing else) and keeps it as a spare; the next sandbox takes
  it and configures it exactly as above. A spare is used once and never shared; it belongs to the
  process that made it (a forked worker makes its own). ``SPARE_CONNECTIONS = False`` switches it off.
- A watcher thread calls ``connection.interrupt()`` at the deadline, and again every
  ``INTERRUPT_EVERY_S`` until the sandbox closes (a query started after the deadline is stopped
  too); DuckDB then raises ``InterruptException``, which becomes :class:`EngineTimeout`.
- The view ``t`` over the files: Ibis's ``read_parquet`` creates it and then asks DuckDB for its
  schema again (``DESCRIBE``, which reads the Parquet footers a second time). A version's data files
  never change, so the schema is kept per process by (path, mtime, size) of every file
  (``SCHEMA_CACHE``); the next sandbox over the same files creates the same view and builds the Ibis
  table from the kept schema. A changed file has another mtime or size and is described afresh.
"""

from __future__ import annotations

import atexit
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import duckdb
import ibis
import ibis.expr.operations as ops
import ibis.expr.schema as sch
import ibis.expr.types as ir
import pyarrow as pa
import sqlglot as sg
import sqlglot.expressions as sge
from ibis import util
from ibis.backends.duckdb import Backend as DuckDBBackend
from ibis.backends.sql.compilers.base import STAR

from machidata.engine.compile import NFKC_FUNCTION, nfkc_lower_arrow
from machidata.engine.errors import EngineError, EngineQueryError, EngineTimeout

DEFAULT_THREADS = 2
DEFAULT_MEMORY_LIMIT = "1GB"
DEFAULT_TIMEOUT_S = 30.0
INTERRUPT_EVERY_S = 0.05  # after the deadline, how often the watcher interrupts again
TABLE_NAME = "t"
SPARE_CONNECTIONS = True  # keep one pre-opened, unconfigured connection per (threads, memory limit)
SCHEMA_CACHE = True  # keep the schema of a file list (by path, mtime and size): no second DESCRIBE per query
SCHEMA_CACHE_SIZE = 256
_schemas: dict[tuple[tuple[str, int, int], ...], sch.Schema] = {}
_schemas_lock = threading.Lock()

_SpareKey = tuple[int, int, str]  # (process id, threads, memory limit)
_spares: dict[_SpareKey, duckdb.DuckDBPyConnection] = {}
_spares_lock = threading.Lock()
_spare_threads: set[threading.Thread] = set()
_shutting_down = threading.Event()


def _connect(threads: int, memory_limit: str) -> duckdb.DuckDBPyConnection:
    """A new in-memory database: bounded threads and memory, no extension loading or installing."""
    return duckdb.connect(
        ":memory:",
        config={
            "threads": threads,
            "memory_limit": memory_limit,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        },
    )


def _take_connection(threads: int, memory_limit: str) -> duckdb.DuckDBPyConnection:
    """The spare connection for these settings if one is ready, else a new one."""
    with _spares_lock:
        spare = _spares.pop((os.getpid(), threads, memory_limit), None)
    return spare if spare is not None else _connect(threads, memory_limit)


def _make_spare(key: _SpareKey) -> None:
    """Open one spare connection for ``key`` unless one is already waiting."""
    with _spares_lock:
        if key in _spares or _shutting_down.is_set():
            return
    raw = _connect(key[1], key[2])
    with _spares_lock:
        extra = raw if key in _spares or _shutting_down.is_set() else None
        if extra is None:
            _spares[key] = raw
    if extra is not None:
        extra.close()


def _in_background(work: Callable[[], None]) -> None:
    """Run ``work`` on a daemon thread that the exit hook waits for."""

    def run() -> None:
        try:
            work()
        finally:
            with _spares_lock:
                _spare_threads.discard(threading.current_thread())

    thread = threading.Thread(target=run, name="engine-spare", daemon=True)
    with _spares_lock:
        _spare_threads.add(thread)
    thread.start()


def _retire(raw: duckdb.DuckDBPyConnection, threads: int, memory_limit: str) -> None:
    """Close a used connection and open the next spare, off the request's path (closing takes ~10 ms)."""
    key = (os.getpid(), threads, memory_limit)

    def work() -> None:
        try:
            raw.close()
        finally:
            if SPARE_CONNECTIONS:
                _make_spare(key)

    if not SPARE_CONNECTIONS or _shutting_down.is_set():
        raw.close()
        return
    _in_background(work)


@atexit.register
def _close_spares() -> None:
    """At exit, wait for spares being opened and close them (a thread killed inside DuckDB aborts the process)."""
    _shutting_down.set()
    with _spares_lock:
        threads = list(_spare_threads)
    for thread in threads:
        thread.join(timeout=5)
    with _spares_lock:
        spares = list(_spares.values()) + list(_kept_all.values())
        _spares.clear()
        _kept_all.clear()
    for raw in spares:
        raw.close()


class QuerySession(Protocol):
    """What TableQueries and recipes need from an engine: DuckDB's :class:`Sandbox` or Spark's sandbox."""

    @property
    def table(self) -> ir.Table: ...

    def stream(self, expr: ir.Table, *, batch_rows: int) -> pa.RecordBatchReader: ...

    def to_arrow(self, expr: ir.Table) -> pa.Table: ...

    def scalar(self, expr: ir.Scalar) -> Any: ...

    def temp(self, expr: ir.Table) -> ir.Table: ...

    def read(self, files: Sequence[str], schema: pa.Schema | None = None) -> ir.Table | None: ...


@dataclass(frozen=True, slots=True)
class Sandbox:
    """An open sandboxed connection: the raw DuckDB connection, its Ibis backend and the table view."""

    raw: duckdb.DuckDBPyConnection
    backend: DuckDBBackend
    maybe_table: ir.Table | None
    timed_out: threading.Event
    known_schema: pa.Schema | None = None  # the view's Arrow schema when already known (kept connections)

    def view_schema(self) -> pa.Schema:
        """The Arrow schema of the view ``t``."""
        return self.known_schema if self.known_schema is not None else self.table.schema().to_pyarrow()

    @property
    def table(self) -> ir.Table:
        """The view ``t`` over the files (or the empty table of ``schema``)."""
        if self.maybe_table is None:
            raise EngineQueryError("この版にはデータファイルがありません。")
        return self.maybe_table

    def stream(self, expr: ir.Table, *, batch_rows: int) -> pa.RecordBatchReader:
        """Stream an expression's rows as Arrow batches (Ibis 12's own streaming calls an API DuckDB 2 renamed)."""
        sql = self.backend.compile(expr)  # SQL generated by Ibis from checked input, never user text
        return self.raw.sql(sql).to_arrow_reader(batch_rows)

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        """The rows of ``expr`` as Arrow (the same call on :class:`~machidata.engine.spark.SparkSandbox`)."""
        return self.backend.to_pyarrow(expr)

    def scalar(self, expr: ir.Scalar) -> Any:
        """The Python value of a scalar expression."""
        return self.backend.to_pyarrow(expr).as_py()

    def temp(self, expr: ir.Table) -> ir.Table:
        """Materialise a small intermediate result as a temporary table (SQL compiled by Ibis from checked input)."""
        name = f"_check_{uuid.uuid4().hex[:12]}"
        self.raw.execute(f'CREATE TEMP TABLE "{name}" AS {self.backend.compile(expr)}')
        return self.backend.table(name)

    def read(self, files: Sequence[str], schema: pa.Schema | None = None) -> ir.Table | None:
        """A table over ``files`` (allowed when the sandbox was opened), or the empty table of ``schema``."""
        name = f"src_{uuid.uuid4().hex[:12]}"
        if files:
            return self.backend.read_parquet(list(files), table_name=name, union_by_name=True)
        if schema is not None:
            self.raw.register(name, schema.empty_table())  # Ibis 12's create_table trips on DuckDB 2
            return self.backend.table(name)
        return None


def _nfkc_udf(values: pa.Array) -> pa.Array:
    """Connection-level wrapper, resolved at call time so tests can slow it down."""
    return nfkc_lower_arrow(values)


def _timeout_message(timeout_s: float) -> str:
    """The Japanese message shown when a query hits its time limit."""
    return f"処理が制限時間（{timeout_s:g}秒）を超えたため中止しました。条件を絞るか、列を減らしてもう一度お試しください。"


def _lock_down(raw: duckdb.DuckDBPyConnection, allowed: list[str], write_dirs: Sequence[str]) -> None:
    """Allow exactly these files (and write directories), close external access, add the NFKC function."""
    if allowed:
        raw.execute("SET allowed_paths = $paths", {"paths": allowed})
    if write_dirs:
        dirs = [os.path.join(os.path.abspath(d), "") for d in write_dirs]
        raw.execute("SET allowed_directories = $dirs", {"dirs": dirs})
    raw.execute("SET enable_external_access = false")
    raw.create_function(  # type: ignore[call-overload]  # the stubs want an enum; DuckDB takes "arrow"
        NFKC_FUNCTION, _call_nfkc, [duckdb.sqltype("VARCHAR")], duckdb.sqltype("VARCHAR"), type="arrow"
    )


def _watch(
    raw: duckdb.DuckDBPyConnection, timed_out: threading.Event, done: threading.Event, timeout_s: float
) -> None:
    """Interrupt ``raw`` at the deadline, and again every INTERRUPT_EVERY_S until ``done``.

    interrupt() only stops a query that is running at that instant: one that starts after the
    deadline (a slow set-up on a busy server) would run on unbounded. So after the deadline keep
    interrupting until the work is done."""
    if done.wait(timeout_s):
        return
    timed_out.set()
    while True:
        raw.interrupt()
        if done.wait(INTERRUPT_EVERY_S):
            return


def _configure(
    raw: duckdb.DuckDBPyConnection,
    paths: list[str],
    schema: pa.Schema | None,
    read_paths: Sequence[str],
    write_dirs: Sequence[str],
) -> tuple[DuckDBBackend, ir.Table | None]:
    """Lock ``raw`` down to ``paths`` (+ ``read_paths``, ``write_dirs``), make the view ``t``, lock the configuration."""
    _lock_down(raw, paths + [os.path.abspath(p) for p in read_paths], write_dirs)
    backend = ibis.duckdb.from_connection(raw)
    table: ir.Table | None = None
    if paths:
        table = _parquet_view(backend, paths)
    elif schema is not None:
        raw.register(TABLE_NAME, schema.empty_table())  # Ibis 12's create_table trips on DuckDB 2
        table = backend.table(TABLE_NAME)
    raw.execute("SET lock_configuration = true")
    return backend, table


def _engine_error(
    exc: duckdb.Error, timed_out: threading.Event, timeout_s: float, memory_limit: str
) -> EngineError:
    """The engine's error (Japanese message) for a DuckDB error raised inside a sandbox."""
    if isinstance(exc, duckdb.InterruptException):
        if timed_out.is_set():
            return EngineTimeout(_timeout_message(timeout_s))
        return EngineError("処理が中断されました。")
    if isinstance(exc, duckdb.OutOfMemoryException):
        return EngineError(
            f"処理に使えるメモリの上限（{memory_limit}）を超えました。条件を絞るか、列を減らしてください。"
        )
    if timed_out.is_set():  # an interrupt can surface as another error class mid-operator
        return EngineTimeout(_timeout_message(timeout_s))
    return EngineError(f"データの読み込みまたは集計に失敗しました（{type(exc).__name__}）。")


@contextmanager
def open_sandbox(
    files: Sequence[str],
    *,
    schema: pa.Schema | None = None,
    threads: int = DEFAULT_THREADS,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    read_paths: Sequence[str] = (),
    write_dirs: Sequence[str] = (),
) -> Iterator[Sandbox]:
    """Open a connection that can read only ``files`` (as table ``t``) plus ``read_paths``, and write only in ``write_dirs``.

    With no files, ``schema`` gives an empty table (a version with no rows); with neither, there is
    no table (staging needs none) and ``Sandbox.table`` raises. Every DuckDB error in
    the body becomes an :class:`EngineError`; the deadline becomes :class:`EngineTimeout`.
    """
    paths = [os.path.abspath(f) for f in files]
    if timeout_s <= 0:
        raise EngineQueryError("制限時間は0より大きい秒数で指定してください。")
    raw = _take_connection(threads, memory_limit)
    timed_out = threading.Event()
    closed = threading.Event()
    timer = threading.Thread(
        target=_watch, args=(raw, timed_out, closed, timeout_s), name="engine-deadline", daemon=True
    )
    try:
        timer.start()
        backend, table = _configure(raw, paths, schema, read_paths, write_dirs)
        yield Sandbox(raw=raw, backend=backend, maybe_table=table, timed_out=timed_out)
    except duckdb.Error as exc:
        raise _engine_error(exc, timed_out, timeout_s, memory_limit) from exc
    finally:
        closed.set()
        if timer.is_alive():
            timer.join()
        _retire(raw, threads, memory_limit)


# ---- connections kept per thread for read-only queries (run_query) -------------------------------------

KEPT_PER_THREAD = 2  # locked-down connections a thread keeps for the files it read last
_KeptKey = tuple[int, tuple[str, ...], int, str]  # (process id, files, threads, memory limit)


@dataclass(slots=True)
class _Kept:
    raw: duckdb.DuckDBPyConnection
    backend: DuckDBBackend
    table: ir.Table
    schema: pa.Schema


_kept_local = threading.local()
_kept_all: dict[int, duckdb.DuckDBPyConnection] = {}  # every kept connection, closed at exit


def _kept() -> OrderedDict[_KeptKey, _Kept]:
    """This thread's kept connections (a fresh shelf in a forked child: the parent's are not its own)."""
    shelf: OrderedDict[_KeptKey, _Kept] | None = getattr(_kept_local, "shelf", None)
    if shelf is None or getattr(_kept_local, "pid", None) != os.getpid():
        shelf = _kept_local.shelf = OrderedDict()
        _kept_local.pid = os.getpid()
    return shelf


def _drop_kept(kept: _Kept) -> None:
    with _spares_lock:
        _kept_all.pop(id(kept.raw), None)
    kept.raw.close()


def forget_kept_connections() -> None:
    """Close the connections this thread keeps (tests; a thread that is done with its files)."""
    shelf = _kept()
    while shelf:
        _drop_kept(shelf.popitem()[1])


@contextmanager
def reused_sandbox(
    files: Sequence[str],
    *,
    threads: int = DEFAULT_THREADS,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Iterator[Sandbox]:
    """A sandbox over exactly ``files`` like :func:`open_sandbox`, kept by this thread for the next query over the same files.

    Opening and locking down a connection and making its view costs 20–40 ms, more than a page of
    rows. A committed version's files never change, so this thread keeps the locked-down connection
    (allowed paths = exactly these files, external access off, configuration locked, the same thread
    and memory limits) and the next query over the *same* files reuses it; the time limit is watched
    per use as in :func:`open_sandbox`. Nothing but read-only SELECTs compiled from checked queries
    runs on it (callers must not create temporary tables); a connection whose use raised anything is
    closed, never kept. At most :data:`KEPT_PER_THREAD` per thread (least recently used closed first);
    never shared between threads or processes. No files: a fresh :func:`open_sandbox` (nothing to keep).
    """
    paths = tuple(os.path.abspath(f) for f in files)
    if timeout_s <= 0:
        raise EngineQueryError("制限時間は0より大きい秒数で指定してください。")
    if not paths:
        raise EngineQueryError("この版にはデータファイルがありません。")
    key: _KeptKey = (os.getpid(), paths, threads, memory_limit)
    shelf = _kept()
    kept = shelf.pop(key, None)  # out of the shelf while in use: a nested use opens its own
    timed_out = threading.Event()
    done = threading.Event()
    raw = kept.raw if kept is not None else _take_connection(threads, memory_limit)
    timer = threading.Thread(
        target=_watch, args=(raw, timed_out, done, timeout_s), name="engine-deadline", daemon=True
    )
    ok = False
    try:
        timer.start()
        if kept is None:
            backend, table = _configure(raw, list(paths), None, (), ())
            assert table is not None  # paths always make the view
            kept = _Kept(raw=raw, backend=backend, table=table, schema=table.schema().to_pyarrow())
            with _spares_lock:
                _kept_all[id(raw)] = raw
        yield Sandbox(
            raw=raw,
            backend=kept.backend,
            maybe_table=kept.table,
            timed_out=timed_out,
            known_schema=kept.schema,
        )
        ok = not timed_out.is_set()
    except duckdb.Error as exc:
        raise _engine_error(exc, timed_out, timeout_s, memory_limit) from exc
    finally:
        done.set()
        if timer.is_alive():
            timer.join()
        if ok and kept is not None and not _shutting_down.is_set():
            shelf[key] = kept
            while len(shelf) > KEPT_PER_THREAD:
                _drop_kept(shelf.popitem(last=False)[1])
        elif kept is not None:
            _drop_kept(kept)
        else:
            raw.close()


def _files_key(paths: Sequence[str]) -> tuple[tuple[str, int, int], ...] | None:
    try:
        return tuple((p, st.st_mtime_ns, st.st_size) for p in paths for st in (os.stat(p),))
    except OSError:
        return None  # let DuckDB say what is wrong with the file


def _parquet_view(backend: DuckDBBackend, paths: list[str]) -> ir.Table:
    """The view ``t`` over ``paths`` (union by name) as an Ibis table; described once per file list."""
    key = _files_key(paths) if SCHEMA_CACHE else None
    with _schemas_lock:
        schema = _schemas.get(key) if key is not None else None
    if schema is None:
        table = backend.read_parquet(paths, table_name=TABLE_NAME, union_by_name=True)
        if key is not None:
            with _schemas_lock:
                if len(_schemas) >= SCHEMA_CACHE_SIZE:
                    _schemas.pop(next(iter(_schemas)))
                _schemas[key] = table.schema()
        return table
    # the same view Ibis's read_parquet creates (its SQL generation), without asking for the schema
    union = sg.to_identifier("union_by_name").eq(sge.convert(True))
    definition = sg.select(STAR).from_(
        backend.compiler.f.read_parquet(util.normalize_filenames(paths), union)
    )
    backend._create_temp_view(TABLE_NAME, definition)  # Ibis's own view DDL keeps the SQL identical
    return ops.DatabaseTable(
        TABLE_NAME, schema=schema, source=backend, namespace=ops.Namespace(catalog=None, database=None)
    ).to_expr()


def _call_nfkc(values: pa.Array) -> pa.Array:
    """Indirection so the registered function looks up ``_nfkc_udf`` on every call."""
    return _nfkc_udf(values)
