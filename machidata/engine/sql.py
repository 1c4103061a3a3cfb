"""Read-only SQL for the SQL console: check one SELECT with sqlglot, run it in a killed-on-overrun worker process.

Two layers, each enough on its own for what it covers:

1. :func:`check_sql` parses the text with sqlglot (DuckDB dialect) and accepts exactly one query
   (``SELECT``, ``WITH … SELECT``, ``UNION``/``INTERSECT``/``EXCEPT`` of them). It walks the tree and
   refuses every statement that is not a query (DDL, DML, ``COPY``, ``ATTACH``, ``INSTALL``/``LOAD``,
   ``SET``/``RESET``/``PRAGMA``, ``CALL``, ``SELECT … INTO``), every table function in ``FROM`` except
   ``range``/``generate_series`` with constant bounds of at most :data:`MAX_SERIES` values and
   ``unnest``, every function that reads files or the catalog (``read_*``, ``glob``, ``sniff_csv``,
   ``query``, ``query_table``, ``parquet_*``, ``duckdb_*``, ``pragma_*``, ``pg_*``,
   ``current_setting``, …), every table reference that is not ``"データセット"."表"`` or a CTE in
   scope, parameters, and text with control or invisible format characters. What runs is the SQL
   sqlglot *generates* from the checked tree, without comments, so DuckDB never sees text the check
   did not understand (a comment hiding a second statement, a parser differential).
2. :func:`run_sql` runs that SQL in a ``python -I machidata/engine/sql_worker.py`` process — a
   pre-started one of :class:`WorkerPool` (a locked-down in-memory database, kept for the next checked
   statement over the same views) or, with
   ``pooled=False``, one started for this statement:
   DuckDB's own parser must again see exactly one SELECT; the only files are the Parquet files of
   the views the caller passes (access decided by the caller); the lockdown of
   :mod:`machidata.engine.sandbox` applies (``allowed_paths``, ``enable_external_access = false``,
   ``lock_configuration = true``, no extensions); memory is bounded by DuckDB's ``memory_limit`` and
   by ``RLIMIT_AS`` on the whole process; the parent kills the process at the wall-clock limit.

Views are named ``"<dataset slug>"."<table name>"`` (a schema per dataset). The DuckDB lockdown is
the real boundary; the check is defence in depth and gives clear Japanese refusals.

The console is DuckDB-only: with ``MACHIDATA_ENGINE=spark`` :func:`run_sql` refuses with a Japanese
message saying so (:data:`SPARK_MESSAGE`), rather than running DuckDB over data the city has moved
to Spark because it outgrew one machine.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import json
import logging
import math
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from machidata.engine.backends import engine_name
from machidata.engine.errors import EngineError, EngineQueryError, EngineTimeout

# sqlglot logs a warning with the statement's text for syntax it falls back on; the console refuses
# those statements anyway, and what staff typed belongs in the audit log, not the server log.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

WORKER: Final = Path(__file__).with_name("sql_worker.py")
MAX_SQL_CHARS: Final = 20_000
MAX_SERIES: Final = 1_000_000  # values one range()/generate_series() may produce
DEFAULT_MAX_ROWS: Final = 1_000
# The console runs DuckDB's SQL dialect in a DuckDB worker; with Spark configured it refuses and says why.
SPARK_MESSAGE: Final = (
    "SQLコンソールは DuckDB 専用です。この環境では集計エンジンに Spark を使う設定（MACHIDATA_ENGINE=spark）"
    "になっているため、SQLコンソールは使えません。表の画面の絞り込み・集計（グラフ、API の問い合わせ）を使ってください。"
)
DEFAULT_TIMEOUT_S: Final = 30.0
DEFAULT_MEMORY_MB: Final = 512
ADDRESS_SPACE_HEADROOM_MB: Final = 1_024  # the interpreter, DuckDB's own reservations and thread stacks
MAX_RESULT_BYTES: Final = 16_000_000  # JSON text of the rows shown
RESERVED_SCHEMAS: Final = frozenset({"main", "temp", "system", "information_schema", "pg_catalog"})

# Functions refused anywhere (scalar or table), by exact name or by prefix (case-insensitive).
BLOCKED_FUNCTIONS: Final = frozenset(
    {
        "glob", "query", "query_table", "sniff_csv", "current_setting", "getenv", "getvariable",
        "which_secret", "load_aws_credentials", "arrow_scan", "arrow_scan_dumb", "python_map_function",
        "checkpoint", "force_checkpoint", "seq_scan", "index_scan", "summary", "test_all_types",
        "test_vector_types", "repeat_row", "json_execute_serialized_sql", "json_serialize_sql",
        "json_deserialize_sql", "json_serialize_plan", "nextval", "currval", "setseed",
        "current_schemas", "enable_logging", "disable_logging", "truncate_duckdb_logs",
    }
)  # fmt: skip
BLOCKED_PREFIXES: Final = (
    "read_", "parquet_", "duckdb_", "pragma_", "pg_", "sqlite_", "postgres_", "mysql_", "iceberg",
    "delta_", "http", "s3", "azure", "icu_", "has_", "enable_", "disable_", "sniff_",
)  # fmt: skip
_NAME: Final = re.compile(r"[a-z_][a-z0-9_]*")

_STATEMENT_NODES: Final = tuple(
    cls
    for name in (
        "DDL",
        "DML",
        "Command",
        "Create",
        "Drop",
        "Alter",
        "Insert",
        "Update",
        "Delete",
        "Merge",
        "Copy",
        "Attach",
        "Detach",
        "Install",
        "Pragma",
        "Set",
        "Use",
        "Into",
        "Describe",
        "Summarize",
        "Show",
        "Transaction",
        "Commit",
        "Rollback",
        "LoadData",
        "Lock",
        "Export",
    )
    if isinstance(cls := getattr(exp, name, None), type)
)
_QUERY_ROOTS: Final = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery)
_SECONDS: Final = {  # the shortest length of each interval unit, for counting a date range's values
    "MICROSECOND": 1e-6, "MILLISECOND": 1e-3, "SECOND": 1, "MINUTE": 60, "HOUR": 3600,
    "DAY": 86400, "WEEK": 7 * 86400, "MONTH": 28 * 86400, "QUARTER": 89 * 86400, "YEAR": 365 * 86400,
}  # fmt: skip


class SqlRefused(EngineQueryError):  # noqa: N818 — a refusal, not a failure
    """The statement was refused before running (not one read-only query, or it names what it may not)."""


@dataclass(frozen=True, slots=True, order=True)
class TableRef:
    """A table named in a statement: ``"schema"."name"`` (the dataset's slug and the table's name), lower-case."""

    schema: str
    name: str

    def label(self) -> str:
        """How the reference is shown and written: ``"slug"."table"``."""
        return f'"{self.schema}"."{self.name}"'


@dataclass(frozen=True, slots=True)
class CheckedSql:
    """A statement that passed :func:`check_sql`: the SQL that will run and the tables it names.

    ``volatile``: its answer may differ between two runs over the same data (``random()``, ``now()``,
    ``current_date``, ``USING SAMPLE``, …): such a statement is never answered from a result cache.
    """

    text: str
    sql: str
    tables: tuple[TableRef, ...]
    volatile: bool = False


@dataclass(frozen=True, slots=True)
class SqlView:
    """One view offered to a statement: ``"schema"."name"`` over these Parquet files (access already decided).

    ``columns`` (name, DuckDB type) is used only when there are no files (a version without rows).
    """

    schema: str
    name: str
    files: tuple[str, ...]
    columns: tuple[tuple[str, str], ...] = ()

    @property
    def ref(self) -> TableRef:
        """The reference a statement uses for this view."""
        return TableRef(self.schema.lower(), self.name.lower())


@dataclass(frozen=True, slots=True)
class SqlResult:
    """Rows of one statement (JSON-safe values), capped; ``truncated`` when more rows existed."""

    columns: list[dict[str, str]]
    rows: list[list[Any]]
    truncated: bool
    duration_ms: int
    tables: tuple[TableRef, ...] = field(default=())


# ---- the check -------------------------------------------------------------------------------------


def _refuse(message: str) -> SqlRefused:
    return SqlRefused(message)


def _function_names(node: exp.Func) -> set[str]:
    """Every name a function node may run under in DuckDB: as written, sqlglot's name, and as generated."""
    names = {node.sql_name().lower()}
    if isinstance(node, exp.Anonymous):
        names.add(str(node.name).lower())
    try:
        generated = node.sql(dialect="duckdb", comments=False)
    except SqlglotError:
        generated = ""
    head = generated.split("(", 1)[0].strip().lower().rsplit(".", 1)[-1].strip('"')
    if _NAME.fullmatch(head):  # a call (``NAME(…)``), not an operator form such as ``col -> '$.a'``
        names.add(head)
    return names


def _display_name(node: exp.Func) -> str:
    """The function's name as the user wrote it (or as DuckDB will see it)."""
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    try:
        head = node.sql(dialect="duckdb", comments=False).split("(", 1)[0].strip().lower()
    except SqlglotError:
        head = ""
    return head or node.sql_name().lower()


def _blocked(name: str) -> bool:
    return name in BLOCKED_FUNCTIONS or name.startswith(BLOCKED_PREFIXES)


def _number(node: exp.Expression | None) -> float | None:
    """A numeric constant (with an optional minus sign), else None."""
    if node is None:
        return None
    if isinstance(node, exp.Paren):
        return _number(node.this)
    if isinstance(node, exp.Neg):
        inner = _number(node.this)
        return None if inner is None else -inner
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            value = float(node.this)
        except ValueError:
            return None
        return value if math.isfinite(value) else None
    return None


def _moment(node: exp.Expression | None) -> dt.datetime | None:
    """A DATE or TIMESTAMP constant (``DATE '2024-04-01'``), else None."""
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.this.is_string:
        try:
            value = dt.datetime.fromisoformat(str(node.this.this).strip())
        except ValueError:
            return None
        return value.replace(tzinfo=None)
    return None


def _interval_seconds(node: exp.Expression | None) -> float | None:
    """The shortest length in seconds of an ``INTERVAL n unit`` constant, else None."""
    if not isinstance(node, exp.Interval):
        return None
    amount = _number(node.this) if not (isinstance(node.this, exp.Literal) and node.this.is_string) else None
    if amount is None and isinstance(node.this, exp.Literal):
        try:
            amount = float(str(node.this.this).split()[0])
        except (ValueError, IndexError):
            return None
    unit_node = node.args.get("unit")
    unit = str(unit_node.name if unit_node is not None else "").upper().rstrip("S")
    seconds = _SECONDS.get(unit)
    if amount is None or seconds is None:
        return None
    return abs(amount) * seconds


def _series_size(node: exp.GenerateSeries) -> float | None:
    """How many values a range()/generate_series() with constant bounds produces (None: not constant)."""
    start, end, step = node.args.get("start"), node.args.get("end"), node.args.get("step")
    extra = 0 if node.args.get("is_end_exclusive") else 1  # range() leaves out its end, generate_series() not
    a, b = _number(start), _number(end)
    if a is not None and b is not None:
        s = 1.0 if step is None else _number(step)
        if s is None or s == 0:
            return None
        return math.ceil(abs(b - a) / abs(s)) + extra
    m, n = _moment(start), _moment(end)
    if m is not None and n is not None:
        seconds = _interval_seconds(step) if step is not None else 86400.0
        if not seconds:
            return None
        return math.ceil(abs((n - m).total_seconds()) / seconds) + extra
    return None


def _cte_in_scope(table: exp.Table, name: str) -> bool:
    """Whether an unqualified table name is a CTE of a query that encloses the reference."""
    node: Any = table.parent
    while node is not None:
        with_ = (node.args.get("with_") or node.args.get("with")) if isinstance(node, exp.Query) else None
        if isinstance(with_, exp.With) and any(
            cte.alias_or_name.lower() == name for cte in with_.expressions
        ):
            return True
        node = node.parent
    return False


def _check_table(table: exp.Table, refs: set[TableRef], bare_schema: str | None = None) -> None:
    """A table in FROM/JOIN: a dataset's table, a CTE in scope, or a bounded range()/generate_series().

    With ``bare_schema`` an unqualified name that is not a CTE is the table ``bare_schema.name``.
    """
    target = table.this
    if isinstance(target, exp.GenerateSeries):
        return  # bounded below, with every other series
    if isinstance(target, exp.Func):
        raise _refuse(
            f"表関数「{_display_name(target)}」は使えません。"
            'FROM に書けるのは「"データセット"."表"」、WITH で付けた名前、range・generate_series・unnest だけです。'
        )
    if not isinstance(target, exp.Identifier):
        raise _refuse('FROM には「"データセット"."表"」の形で表を書いてください。')
    name = str(target.this)
    if table.args.get("catalog") is not None and table.catalog:
        raise _refuse(
            f'「{table.sql(dialect="duckdb")}」は使えません。表は「"データセット"."表"」の形で書いてください。'
        )
    if not table.db:
        if _cte_in_scope(table, name.lower()):
            return
        if bare_schema is not None:
            refs.add(TableRef(bare_schema.lower(), name.lower()))
            return
        raise _refuse(
            f'表「{name}」が見つかりません。表は「"データセット"."表"」の形で書いてください'
            "（左の一覧からコピーできます）。"
        )
    schema = str(table.db)
    if schema.lower() in RESERVED_SCHEMAS:
        raise _refuse(f"「{schema}」の表は使えません。読めるのは左の一覧の表だけです。")
    refs.add(TableRef(schema.lower(), name.lower()))


def _check_characters(text: str) -> None:
    for ch in text:
        category = unicodedata.category(ch)
        if (category == "Cc" and ch not in "\t\n\r") or category in {"Cf", "Co", "Cs", "Zl", "Zp"}:
            raise _refuse(
                f"SQL に見えない制御文字（U+{ord(ch):04X}）が含まれています。手で打ち直してください。"
            )


CHECKED_KEPT: Final = 512  # accepted statements kept per process (by text): a repeat skips sqlglot
_checked: OrderedDict[tuple[str, str | None], CheckedSql] = OrderedDict()
_checked_lock = threading.Lock()


def check_sql(text: str, *, bare_schema: str | None = None) -> CheckedSql:
    """Accept exactly one read-only query; raise :class:`SqlRefused` with a Japanese reason otherwise.

    ``bare_schema`` (e.g. ``"main"``, where DuckDB looks up unqualified names) lets a statement name
    tables without a schema, as CKAN's ``datastore_search_sql`` does with ``FROM "<resource id>"``;
    the caller offers those tables as views in that schema.

    The check is a pure function of ``(text, bare_schema)``: the last :data:`CHECKED_KEPT` accepted
    statements are kept by their exact text, so a statement sent again (a dashboard, a client polling)
    is not parsed again. Refusals are not kept (they are made again, with the same message).
    """
    key = (text, bare_schema) if isinstance(text, str) else None
    if key is not None:
        with _checked_lock:
            hit = _checked.get(key)
            if hit is not None:
                _checked.move_to_end(key)
                return hit
    checked = _check_text(text, bare_schema)
    if key is not None:
        with _checked_lock:
            _checked[key] = checked
            while len(_checked) > CHECKED_KEPT:
                _checked.popitem(last=False)
    return checked


def _check_text(text: str, bare_schema: str | None) -> CheckedSql:
    """:func:`check_sql` without the kept statements."""
    if not text or not text.strip():
        raise _refuse("SQL を入力してください。")
    if len(text) > MAX_SQL_CHARS:
        raise _refuse(f"SQL が長すぎます（{MAX_SQL_CHARS:,}文字まで）。")
    _check_characters(text)
    try:
        return _check_tree(text, bare_schema)
    except SqlRefused:
        raise
    except SqlglotError as exc:
        first = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise _refuse(f"SQL を読み取れません。書き方を確かめてください（{first}）。") from None
    except Exception:  # noqa: BLE001 — whatever trips the parser (deep nesting, odd tokens) is a refusal
        raise _refuse("SQL を読み取れません。書き方を確かめてください。") from None


def _check_tree(text: str, bare_schema: str | None = None) -> CheckedSql:  # noqa: PLR0912 — one walk, one branch per kind of node
    """Parse and walk: the body of :func:`check_sql` (any error it raises is a refusal)."""
    statements = [s for s in sqlglot.parse(text, read="duckdb") if s is not None]
    if not statements:
        raise _refuse("SQL を入力してください。")
    if len(statements) > 1:
        raise _refuse("実行できる SQL は 1 つだけです（セミコロンで区切った複数の文は実行しません）。")
    tree = statements[0]
    if not isinstance(tree, _QUERY_ROOTS):
        raise _refuse("実行できるのはデータを読む SELECT 文（WITH を含む）だけです。")
    refs: set[TableRef] = set()
    volatile = False
    for node in tree.walk():
        if isinstance(node, exp.TableSample):
            volatile = True  # a sample without a seed differs from run to run
        if isinstance(node, _STATEMENT_NODES):
            raise _refuse(
                "実行できるのはデータを読む SELECT 文だけです（作成・変更・設定などの命令は使えません）。"
            )
        if isinstance(node, exp.Placeholder | exp.Parameter):
            raise _refuse("パラメータ（? や $1）は使えません。値を SQL に直接書いてください。")
        if isinstance(node, exp.Table):
            _check_table(node, refs, bare_schema)
        if isinstance(node, exp.GenerateSeries):
            size = _series_size(node)
            if size is None:
                raise _refuse("range・generate_series の範囲は、数値か日付の定数で書いてください。")
            if size > MAX_SERIES:
                raise _refuse(f"range・generate_series で作れる値は {MAX_SERIES:,} 個までです。")
        elif isinstance(node, exp.Func):
            names = _function_names(node)
            if any(_blocked(n) for n in names):
                raise _refuse(
                    f"関数「{_display_name(node)}」は使えません（ファイルや設定を読む関数は使えません）。"
                )
            volatile = volatile or not names.isdisjoint(volatile_functions())
    sql = tree.sql(dialect="duckdb", comments=False)
    return CheckedSql(text=text, sql=sql, tables=tuple(sorted(refs)), volatile=volatile)


# Functions whose answer is not decided by their arguments and the data alone: those DuckDB marks VOLATILE
# (``duckdb_functions().stability``: random(), uuid(), nextval(), …) and the clock's. DuckDB marks many
# more CONSISTENT_WITHIN_QUERY (``+``, ``year``, ``date_trunc``, ``strftime``…) because of their
# TIMESTAMPTZ forms, which depend on the TimeZone setting: fixed here (the server's TZ, the configuration
# locked), so those are decided by the data.
_VOLATILE_ALWAYS: Final = frozenset(
    {
        "random", "uuid", "gen_random_uuid", "uuidv4", "uuidv7", "now", "today", "current_date",
        "current_time", "current_timestamp", "get_current_time", "get_current_timestamp", "localtime",
        "localtimestamp", "transaction_timestamp", "current_localtime", "current_localtimestamp",
        "currval", "nextval", "setseed", "current_query", "current_database", "current_catalog",
        "current_schema", "current_user", "user", "session_user", "version",
    }
)  # fmt: skip
_volatile: list[frozenset[str]] = []


def volatile_functions() -> frozenset[str]:
    """Names (lower-case) of the functions whose answer may change between two runs on the same data."""
    if not _volatile:
        names = set(_VOLATILE_ALWAYS)
        con = duckdb.connect(":memory:")
        try:
            rows = con.execute(
                "SELECT DISTINCT lower(function_name) FROM duckdb_functions() WHERE stability = 'VOLATILE'"
            ).fetchall()
            names.update(str(r[0]) for r in rows)
        except duckdb.Error:
            pass  # an older DuckDB without the column: the fixed list alone
        finally:
            con.close()
        _volatile.append(frozenset(names))
    return _volatile[0]


# ---- running ---------------------------------------------------------------------------------------


def view_columns(schema: pa.Schema) -> tuple[tuple[str, str], ...]:
    """(name, DuckDB type) of an Arrow schema, for the view of a version without data files."""
    con = duckdb.connect(":memory:")
    try:
        rel = con.from_arrow(schema.empty_table())
        return tuple((str(n), str(t)) for n, t in zip(rel.columns, rel.types, strict=True))
    finally:
        con.close()


def _python() -> str:
    """The interpreter for the worker: this one, unless the server embeds Python (uWSGI and the like)."""
    exe = sys.executable
    if exe and Path(exe).name.startswith("python"):
        return exe
    return str(Path(sys.prefix) / "bin" / "python3")


def _error_message(kind: str, detail: str, *, memory_mb: int) -> EngineError:
    """The Japanese error for a refused or failed statement in the worker."""
    if kind == "memory":
        return EngineError(
            f"処理に使えるメモリの上限（{memory_mb:,}MB）を超えたため中止しました。"
            "集計してから取り出すか、列や行を絞ってください。"
        )
    if kind == "crashed":
        return EngineError(
            "SQL を実行する処理が途中で終了しました（メモリの上限を超えた可能性があります）。"
            "集計してから取り出すか、列や行を絞ってください。"
        )
    if kind == "too_large":
        return EngineQueryError(
            f"結果が大きすぎます（{MAX_RESULT_BYTES // 1_000_000}MBまで）。列や行を絞ってください。"
        )
    if kind == "refused":
        return SqlRefused(f"実行できるのはデータを読む SELECT 文 1 つだけです。{detail}")
    hints = {
        "ParserException": "SQL の書き方に誤りがあります。",
        "BinderException": "列名や表名、関数の使い方を確かめてください。",
        "CatalogException": "表または関数が見つかりません。",
        "ConversionException": "値の型を変換できませんでした。",
        "PermissionException": "許可されていないファイルや機能は使えません。",
        "InvalidInputException": "入力が正しくありません。",
        "OutOfRangeException": "値が扱える範囲を超えました。",
    }
    name = detail.split(":", 1)[0].strip()
    hint = hints.get(name, "SQL を実行できませんでした。")
    return EngineQueryError(f"{hint}（DuckDB: {detail[:500]}）")


def _timeout_message(timeout_s: float) -> str:
    return (
        f"処理が制限時間（{timeout_s:g}秒）を超えたため中止しました。"
        "条件を絞るか、集計してから取り出してください。"
    )


def run_sql(
    statement: CheckedSql | str,
    views: Sequence[SqlView],
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = DEFAULT_MEMORY_MB,
    threads: int = 2,
    address_space_mb: int | None = None,
    check: bool = True,
    pooled: bool = True,
) -> SqlResult:
    """Run one checked statement over ``views`` in a worker process; the first ``max_rows`` rows.

    ``statement`` is normally a :class:`CheckedSql`: every table it names must be one of ``views``.
    With ``check=False`` (tests of the lockdown only) a raw string runs as written, without
    sqlglot's check and without DuckDB's one-SELECT check: only the worker's lockdown and limits apply.
    ``pooled`` (the default) takes a pre-started worker of :class:`WorkerPool` (a locked-down database,
    fresh or kept from the previous checked statement over the same views; the same limits);
    ``pooled=False`` starts a process for this statement alone.
    """
    if engine_name() == "spark":
        raise EngineQueryError(SPARK_MESSAGE)
    if max_rows < 1 or timeout_s <= 0 or memory_mb < 16 or threads < 1:
        raise EngineQueryError("SQL の実行の上限（行数・時間・メモリ・スレッド）が正しくありません。")
    if isinstance(statement, CheckedSql):
        offered = {v.ref for v in views}
        missing = [t for t in statement.tables if t not in offered]
        if missing:
            raise SqlRefused(f"表 {missing[0].label()} は見つからないか、読む権限がありません。")
        sql, tables = statement.sql, statement.tables
    elif check:
        checked = check_sql(statement)
        return run_sql(
            checked, views, max_rows=max_rows, timeout_s=timeout_s, memory_mb=memory_mb,
            threads=threads, address_space_mb=address_space_mb, pooled=pooled,
        )  # fmt: skip
    else:
        sql, tables = statement, ()
    request = {
        "sql": sql,
        "check": check,
        "views": [
            {
                "schema": v.schema,
                "name": v.name,
                "files": [os.path.abspath(f) for f in v.files],
                "columns": [list(c) for c in v.columns],
            }
            for v in views
        ],
        "threads": threads,
        "memory_mb": memory_mb,
        "address_space_mb": address_space_mb or memory_mb + ADDRESS_SPACE_HEADROOM_MB,
        "max_rows": max_rows,
        "max_bytes": MAX_RESULT_BYTES,
    }
    started = time.monotonic()
    answer = _POOL.run(request, timeout_s=timeout_s) if pooled else _spawn(request, timeout_s=timeout_s)
    duration_ms = int((time.monotonic() - started) * 1000)
    if not answer.get("ok"):
        raise _error_message(str(answer.get("kind")), str(answer.get("message") or ""), memory_mb=memory_mb)
    return SqlResult(
        columns=list(answer["columns"]),
        rows=list(answer["rows"]),
        truncated=bool(answer["truncated"]),
        duration_ms=duration_ms,
        tables=tables,
    )


def _worker_env(home: str) -> dict[str, str]:
    """The worker's whole environment: no secrets, ``HOME``/``TMPDIR`` an empty folder of its own."""
    env = {"PATH": "/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TMPDIR": home}
    if os.environ.get("TZ"):
        env["TZ"] = os.environ["TZ"]
    return env


def _died(err_tail: str, returncode: int | None) -> dict[str, Any]:
    """The answer for a worker that died without answering (the address-space limit outside DuckDB, a crash)."""
    if "MemoryError" in err_tail or "bad_alloc" in err_tail or "memory" in err_tail.lower():
        return {"ok": False, "kind": "memory", "message": err_tail}
    return {"ok": False, "kind": "crashed", "message": f"exit {returncode}"}


def _spawn(request: dict[str, Any], *, timeout_s: float) -> dict[str, Any]:
    """Start the worker in an empty folder with a bare environment, wait at most ``timeout_s``, kill on overrun."""
    with tempfile.TemporaryDirectory(prefix="machidata-sql-") as home:
        env = _worker_env(home)
        proc = subprocess.Popen(  # noqa: S603 — our own interpreter and script, no shell
            [_python(), "-I", str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=home,
            env=env,
            close_fds=True,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(json.dumps(request).encode("utf-8"), timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise EngineTimeout(_timeout_message(timeout_s)) from None
        except BaseException:
            proc.kill()
            proc.communicate()
            raise
    try:
        answer = json.loads(out.decode("utf-8")) if out else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        answer = None
    if isinstance(answer, dict) and answer.get("protocol") == 1:
        return answer
    # No answer: the process died (the address-space limit hit outside DuckDB, or a crash).
    return _died(err.decode("utf-8", "replace")[-500:], proc.returncode)


# ---- the pool of pre-started workers ---------------------------------------------------------------

POOL_IDLE: Final = 2  # idle workers kept per address-space limit and server process
POOL_USES: Final = 200  # statements a worker answers before it is replaced (bounds any slow leak)
POOL_READY_S: Final = 30.0  # how long a new worker may take to load DuckDB


class _Worker:
    """One pooled ``sql_worker.py --serve`` process, its empty home folder and its stderr file."""

    def __init__(self, address_space_mb: int) -> None:
        self.address_space_mb = address_space_mb
        self.uses = 0
        self.home = tempfile.mkdtemp(prefix="machidata-sql-")
        self.err = open(os.path.join(self.home, ".stderr"), "w+b")  # noqa: SIM115 — closed in stop()
        self.proc = subprocess.Popen(  # noqa: S603 — our own interpreter and script, no shell
            [_python(), "-I", str(WORKER), "--serve", str(address_space_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.err,
            cwd=self.home,
            env=_worker_env(self.home),
            close_fds=True,
            start_new_session=True,
        )
        self._buffer = b""
        ready = self._line(time.monotonic() + POOL_READY_S)
        if not (isinstance(ready, dict) and ready.get("ready")):
            self.stop()
            raise EngineError("SQL を実行する処理を起動できませんでした。")

    def _line(self, deadline: float) -> dict[str, Any] | None:
        """The next JSON line from the worker, None when it closed; :class:`EngineTimeout` past ``deadline``."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise EngineTimeout("")
            readable, _, _ = select.select([fd], [], [], left)
            if not readable:
                continue
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            answer = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None
        return answer if isinstance(answer, dict) and answer.get("protocol") == 1 else None

    def ask(self, request: dict[str, Any], *, timeout_s: float) -> dict[str, Any] | None:
        """Send one request and wait at most ``timeout_s`` for its answer (None: the worker died)."""
        deadline = time.monotonic() + timeout_s
        self.uses += 1
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(request).encode("utf-8") + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return None
        return self._line(deadline)

    def error_tail(self) -> str:
        """The end of what the worker wrote on stderr."""
        try:
            self.proc.wait(timeout=5)
            self.err.seek(0, os.SEEK_END)
            self.err.seek(max(0, self.err.tell() - 500))
            return self.err.read().decode("utf-8", "replace")
        except (OSError, subprocess.TimeoutExpired):
            return ""

    def stop(self) -> None:
        """Kill the worker and remove its folder."""
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout, self.err):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()
        shutil.rmtree(self.home, ignore_errors=True)


class WorkerPool:
    """Pre-started SQL workers, per server process: a statement takes an idle worker (or starts one),
    and gives it back when it answered normally.

    The guarantees of a process per statement hold: every statement runs on a locked-down in-memory
    DuckDB database with the same limits in a process capped by ``RLIMIT_AS`` — a fresh one, or the one
    the previous checked statement over the same views used (``sql_worker.Kept``: a statement that passed
    both checks creates nothing and cannot change a setting); a worker that
    overran the time limit is killed (as before); one that failed for memory, crashed or sent anything
    but a well-formed answer is discarded, never reused; each is replaced after :data:`POOL_USES`
    statements. Forked server processes start their own workers (the pool notices the new pid)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[int, list[_Worker]] = {}
        self._pid = os.getpid()

    def _take(self, address_space_mb: int) -> _Worker:
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the parent's workers are not ours
                self._idle, self._pid = {}, os.getpid()
            idle = self._idle.get(address_space_mb)
            if idle:
                return idle.pop()
        return _Worker(address_space_mb)

    def _give_back(self, worker: _Worker) -> None:
        if worker.uses < POOL_USES and worker.proc.poll() is None:
            with self._lock:
                idle = self._idle.setdefault(worker.address_space_mb, [])
                if self._pid == os.getpid() and len(idle) < POOL_IDLE:
                    idle.append(worker)
                    return
        worker.stop()

    def run(self, request: dict[str, Any], *, timeout_s: float) -> dict[str, Any]:
        """One request on a pooled worker; the answer as :func:`_spawn` gives it."""
        worker = self._take(int(request["address_space_mb"]))
        try:
            answer = worker.ask(request, timeout_s=timeout_s)
        except EngineTimeout:
            worker.stop()
            raise EngineTimeout(_timeout_message(timeout_s)) from None
        except BaseException:
            worker.stop()
            raise
        if answer is None:  # died without answering: the address-space limit outside DuckDB, a crash
            answer = _died(worker.error_tail(), worker.proc.returncode)
            worker.stop()
            return answer
        if answer.get("ok") or answer.get("kind") in ("query", "refused", "too_large", "setup"):
            self._give_back(worker)
        else:  # memory, interrupted, anything unexpected: never reuse that process
            worker.stop()
        return answer

    def close(self) -> None:
        """Stop every idle worker (at exit and in tests)."""
        with self._lock:
            workers = [w for ws in self._idle.values() for w in ws]
            self._idle = {}
        for w in workers:
            w.stop()


_POOL: Final = WorkerPool()
atexit.register(_POOL.close)
