"""The child process of the SQL console: one statement over a few Parquet views, in a locked-down DuckDB.

Run only by :func:`machidata.engine.sql.run_sql` as ``python -I <this file>`` (isolated mode: the
script's folder is not put on ``sys.path``, so ``engine/types.py`` cannot shadow the standard
library, and no ``PYTHON*`` variable or user site applies). It imports nothing from the project and
nothing but the standard library and ``duckdb``, so it starts in ~0.15 s. The request is one JSON
object on stdin; the answer is one JSON object on stdout.

Limits, in the order they bite:

1. ``RLIMIT_AS`` (address space) is set first, before DuckDB is loaded: every allocation of this
   process, DuckDB's own or not, fails beyond it (DuckDB then raises "Out of Memory ... bad
   allocation"; anything worse kills the process, which the parent reports as a memory error).
2. DuckDB's ``memory_limit`` (and ``temp_directory = ''``: nothing spills to disk).
3. The same lockdown as :mod:`machidata.engine.sandbox`: ``allowed_paths`` lists exactly the
   version files of the requested views, then ``enable_external_access = false`` closes every other
   file, URL and extension, ``autoinstall/autoload_known_extensions = false``, and
   ``lock_configuration = true`` refuses any later ``SET``/``RESET``/``PRAGMA`` that would reopen them.
4. The parent's wall clock: it kills this process when it overruns.

The environment is the parent's choice (no secrets, ``HOME`` and the working folder an empty
temporary folder), so ``~`` and relative paths lead nowhere.

Two ways to run: ``python -I sql_worker.py`` answers the one request on stdin and exits (a process per
statement); ``python -I sql_worker.py --serve <address space MB>`` is a pooled worker
(:class:`machidata.engine.sql.WorkerPool`): it caps its address space, loads DuckDB once, then answers
requests one JSON line at a time until stdin closes. A checked statement over the same views and limits
as the previous one runs on that statement's locked-down database (:class:`Kept`: a checked SELECT leaves
nothing behind); any other statement gets a fresh in-memory DuckDB database with its own lockdown and
limits (DuckDB keeps no state between two ``connect(":memory:")``); the parent kills the worker on
overrun or after a memory failure, and replaces it after :data:`machidata.engine.sql.POOL_USES` statements.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import resource
import sys
import uuid
from typing import Any

PROTOCOL = 1


def _cell(value: Any) -> Any:  # noqa: PLR0911 — one branch per value type
    """One value as JSON: ISO dates and times, decimals as text (exact), NaN/∞ as null, bytes as hex."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value) if value.is_finite() else None
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): _cell(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_cell(v) for v in value]
    if isinstance(value, uuid.UUID | dt.timedelta):
        return str(value)
    return str(value)


def _fail(kind: str, message: str) -> dict[str, Any]:
    return {"protocol": PROTOCOL, "ok": False, "kind": kind, "message": message}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _scrub(message: str, paths: list[str]) -> str:
    """Never show a data file's location in an error (longest first, so a folder does not cut a file)."""
    for p in sorted(paths, key=len, reverse=True):
        message = message.replace(p, "(データファイル)")
    return message


def _connect(request: dict[str, Any]) -> Any:
    """A new in-memory DuckDB database with the request's thread and memory limits, extensions off."""
    import duckdb

    return duckdb.connect(
        ":memory:",
        config={
            "threads": int(request["threads"]),
            "memory_limit": f"{int(request['memory_mb'])}MB",
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        },
    )


def run(request: dict[str, Any]) -> dict[str, Any]:
    """Run one request on a fresh locked-down in-memory database, closed afterwards."""
    con = _connect(request)
    try:
        failed = _set_up(con, request)
        return failed or _execute(con, request)
    finally:
        con.close()


class Kept:
    """The locked-down database of the last checked statement's views, kept for the next one (``--serve``).

    A statement that passed both checks (sqlglot's in the parent, DuckDB's one-SELECT check here) can
    leave nothing behind: no table, view, macro, type, setting or variable can be made by a SELECT, and
    ``lock_configuration`` refuses every SET. So the next checked statement over the *same* views, limits
    and threads runs on the same database, its views already bound, instead of a new one. A statement
    sent without the check (tests of the lockdown) never touches the kept database; after any answer that
    is not a normal one (an error, a refusal) the kept database is closed and the next one is new.
    """

    def __init__(self) -> None:
        self.key = ""
        self.con: Any = None

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
        self.key, self.con = "", None

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run one request, on the kept database when it is a checked statement over the same views."""
        if not request.get("check", True):
            return run(request)
        key = json.dumps([request["views"], request["threads"], request["memory_mb"]], sort_keys=True)
        if key != self.key or self.con is None:
            self.close()
            con = _connect(request)
            failed = _set_up(con, request)
            if failed is not None:
                con.close()
                return failed
            self.key, self.con = key, con
        answer = _execute(self.con, request)
        if not answer.get("ok"):
            self.close()
        return answer


def _paths(request: dict[str, Any]) -> list[str]:
    """The data files of the request's views and their folders (never shown in an error)."""
    files = [f for v in request["views"] for f in v["files"]]
    return files + sorted({f.rsplit("/", 1)[0] for f in files if "/" in f})


def _set_up(con: Any, request: dict[str, Any]) -> dict[str, Any] | None:
    """Lock the database down with the views' files allowed and make the views; a failure answer or None."""
    import duckdb

    views: list[dict[str, Any]] = request["views"]
    files = [f for v in views for f in v["files"]]
    hidden = _paths(request)
    try:
        con.execute("SET temp_directory = ''")  # nothing spills to disk
        if files:
            con.execute("SET allowed_paths = $paths", {"paths": files})
        con.execute("SET enable_external_access = false")
        for view in views:
            schema, name = view["schema"], view["name"]
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(schema)}")
            target = f"{_quote(schema)}.{_quote(name)}"
            if view["files"]:
                listing = ", ".join("'" + f.replace("'", "''") + "'" for f in view["files"])
                body = f"SELECT * FROM read_parquet([{listing}], union_by_name = true)"  # noqa: S608 — our paths, quoted
            else:  # a version without data files: the columns, no rows
                cols = (
                    ", ".join(f"CAST(NULL AS {ctype}) AS {_quote(cname)}" for cname, ctype in view["columns"])
                    or "NULL AS _"
                )
                body = f"SELECT {cols} WHERE false"
            con.execute(f"CREATE VIEW {target} AS {body}")
        con.execute("SET lock_configuration = true")
    except duckdb.OutOfMemoryException as exc:
        return _fail("memory", _scrub(str(exc), hidden))
    except duckdb.Error as exc:
        return _fail("setup", _scrub(f"{type(exc).__name__}: {exc}", hidden))
    return None


def _execute(con: Any, request: dict[str, Any]) -> dict[str, Any]:  # noqa: PLR0911, PLR0912 — one answer per outcome
    """Check the statement with DuckDB's own parser, run it on the set-up database, return capped rows."""
    import duckdb

    hidden = _paths(request)
    sql: str = request["sql"]
    if request.get("check", True):
        try:
            statements = duckdb.extract_statements(sql)
        except duckdb.OutOfMemoryException as exc:  # the address-space cap can strike while parsing too
            return _fail("memory", _scrub(str(exc), hidden))
        except duckdb.Error as exc:
            return _fail("refused", _scrub(f"{type(exc).__name__}: {exc}", hidden))
        if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
            return _fail("refused", "DuckDB の解析で、1 つの SELECT 文ではありませんでした。")

    max_rows = int(request["max_rows"])
    max_bytes = int(request["max_bytes"])
    try:
        result = con.execute(sql)
        description = result.description or []
        columns = [{"name": str(d[0]), "type": str(d[1])} for d in description]
        rows: list[list[Any]] = []
        size = 0
        truncated = False
        while True:
            chunk = result.fetchmany(1024) if description else []
            if not chunk:
                break
            for record in chunk:
                if len(rows) >= max_rows:
                    truncated = True
                    break
                row = [_cell(v) for v in record]
                size += len(json.dumps(row, ensure_ascii=False))
                if size > max_bytes:
                    return _fail("too_large", "")
                rows.append(row)
            if truncated:
                break
    except duckdb.OutOfMemoryException as exc:
        return _fail("memory", _scrub(str(exc), hidden))
    except duckdb.InterruptException as exc:
        return _fail("interrupted", str(exc))
    except duckdb.Error as exc:
        return _fail("query", _scrub(f"{type(exc).__name__}: {exc}", hidden))
    except MemoryError:
        return _fail("memory", "MemoryError")
    return {"protocol": PROTOCOL, "ok": True, "columns": columns, "rows": rows, "truncated": truncated}


def _limit(address_space_mb: int) -> None:
    limit = address_space_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file of a crashed query


def _answer(request: dict[str, Any], kept: Kept | None = None) -> str:
    try:
        answer = kept.run(request) if kept is not None else run(request)
    except MemoryError:
        if kept is not None:
            kept.close()
        answer = _fail("memory", "MemoryError")
    return json.dumps(answer, ensure_ascii=False, allow_nan=False)


def serve(address_space_mb: int) -> int:
    """A pooled worker: cap the address space, load DuckDB, answer one JSON line per request line."""
    _limit(address_space_mb)
    import duckdb  # noqa: F401 — loaded once, before the first request

    sys.stdout.write(json.dumps({"protocol": PROTOCOL, "ready": True}) + "\n")
    sys.stdout.flush()
    kept = Kept()
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        request = json.loads(line.decode("utf-8"))
        if int(request["address_space_mb"]) != address_space_mb:  # the parent keys workers by it
            text = json.dumps(_fail("setup", "address space limit mismatch"))
        else:
            text = _answer(request, kept)
        sys.stdout.write(text + "\n")  # JSON text never holds a raw newline
        sys.stdout.flush()
    return 0


def main() -> int:
    """Read the request, cap the address space, answer on stdout (or serve requests: ``--serve MB``)."""
    if sys.argv[1:2] == ["--serve"]:
        return serve(int(sys.argv[2]))
    request = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    _limit(int(request["address_space_mb"]))
    sys.stdout.write(_answer(request))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
