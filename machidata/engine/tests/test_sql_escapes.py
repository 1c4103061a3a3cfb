"""Issue 14 point 2: the SQL console's escape corpus — every payload refused or harmless, twice.

Each payload runs (1) as the console runs it: sqlglot's check, then the worker with DuckDB's own
one-SELECT check and the lockdown; and (2) with both checks off (``run_sql(..., check=False)``), as if
it had slipped past them: only the worker's DuckDB lockdown and limits stand. An *escape* is any
answer that contains a planted secret (a line of ``/etc/passwd``, a row of the metadata SQLite
database under a stand-in ``MACHIDATA_HOME``, a row of another department's Parquet file, a
marker in the server's environment), or a file written where a payload asked. Figure: payloads ×
2 modes, escapes (must be 0); ``MACHIDATA_SECURITY_REPORT=file`` appends it for docs/security.md.
"""

from __future__ import annotations

import json
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from machidata.engine.errors import EngineError
from machidata.engine.sql import SqlRefused, SqlView, check_sql, run_sql

SECRET_DB = "TOPSECRET-METADATA-ROW"
SECRET_PARQUET = "TOPSECRET-OTHER-DEPT-ROW"
SECRET_ENV = "TOPSECRET-ENVIRONMENT"
SECRET_HOME = "TOPSECRET-HOME-FILE"
PASSWD_MARK = "root:x:0:0"

# {db}: the metadata database; {other}: another department's Parquet file; {mine}: a file of the
# offered view; {lake}/{home}: their folders; {out}/{outdir}: where writes would land.
CORPUS: list[str] = [
    # reading local files
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_csv_auto('/etc/passwd', header = false)",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_blob('/etc/passwd')",
    "SELECT * FROM read_json_auto('/etc/passwd')",
    "SELECT * FROM read_csv(['/etc/passwd'])",
    "SELECT * FROM read_csv('/etc/passw' || 'd')",
    "SELECT * FROM READ_CSV('/etc/passwd')",
    "SELECT * FROM \"read_csv\"('/etc/passwd')",
    "SELECT * FROM main.read_csv('/etc/passwd')",
    "SELECT * FROM '/etc/passwd'",
    'SELECT * FROM "/etc/passwd"',
    "SELECT * FROM 'file:///etc/passwd'",
    "SELECT * FROM read_text('/proc/self/environ')",
    "SELECT * FROM read_csv('/proc/self/environ', sep = '\\0')",
    "SELECT * FROM read_text('/proc/self/cmdline')",
    "SELECT * FROM read_text('~/.bashrc')",
    "SELECT * FROM read_text('~/secret.txt')",
    "SELECT * FROM '~/secret.txt'",
    "SELECT * FROM read_text('{home}/secret.txt')",
    "SELECT * FROM read_text('{home}/*')",
    "SELECT * FROM sniff_csv('/etc/passwd')",
    "SELECT * FROM sniff_csv('{db}')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM glob('{home}/**')",
    "SELECT * FROM glob('{lake}/**/*.parquet')",
    "SELECT * FROM read_csv('http://127.0.0.1:9/x.csv')",
    # the metadata database
    "SELECT * FROM read_text('{db}')",
    "SELECT * FROM read_blob('{db}')",
    "SELECT * FROM read_csv('{db}', all_varchar = true)",
    "ATTACH '{db}' AS meta",
    "ATTACH '{db}' AS meta (TYPE sqlite)",
    "ATTACH '{db}' AS meta (READ_ONLY); SELECT * FROM meta.secret",
    "SELECT * FROM sqlite_scan('{db}', 'secret')",
    "ATTACH ':memory:' AS m",
    "ATTACH ':memory:' AS m; CREATE TABLE m.x AS SELECT 1; SELECT * FROM m.x",
    "DETACH memory",
    "USE memory.information_schema",
    # another department's Parquet, by path
    "SELECT * FROM read_parquet('{other}')",
    "SELECT * FROM parquet_scan('{other}')",
    "SELECT * FROM '{other}'",
    'SELECT * FROM "{other}"',
    "SELECT * FROM parquet_metadata('{other}')",
    "SELECT * FROM parquet_schema('{other}')",
    "SELECT * FROM read_parquet('{mine}/../../other/part-0.parquet')",
    "SELECT * FROM read_parquet('{lake}/*/*.parquet')",
    "SELECT * FROM read_parquet(['{mine}', '{other}'])",
    'SELECT * FROM "kenko"."t" UNION ALL SELECT * FROM read_parquet(\'{other}\')',
    'SELECT * FROM "kenko"."t", LATERAL (SELECT * FROM read_parquet(\'{other}\'))',
    "WITH x AS (SELECT * FROM read_parquet('{other}')) SELECT * FROM x",
    "SELECT (SELECT string_agg(secret, '') FROM read_parquet('{other}'))",
    "SELECT * FROM (FROM read_parquet('{other}'))",
    "SELECT * FROM query('SELECT * FROM read_parquet(''{other}'')')",
    "SELECT * FROM query_table('{other}')",
    "PIVOT read_parquet('{other}') ON secret",
    "DESCRIBE SELECT * FROM read_parquet('{other}')",
    "SUMMARIZE SELECT * FROM read_parquet('{other}')",
    "EXPLAIN ANALYZE SELECT * FROM read_parquet('{other}')",
    "CREATE OR REPLACE VIEW kenko.t AS SELECT * FROM read_parquet('{other}'); SELECT * FROM kenko.t",
    # writing
    "COPY (SELECT 1) TO '{out}'",
    "COPY (SELECT * FROM kenko.t) TO '{out}' (FORMAT parquet)",
    "COPY kenko.t TO '{out}'",
    "EXPORT DATABASE '{outdir}'",
    "CREATE TEMP TABLE x AS SELECT 1",
    "CREATE TABLE x AS SELECT * FROM read_text('/etc/passwd')",
    "INSERT INTO kenko.t SELECT * FROM kenko.t",
    "DROP VIEW kenko.t",
    "CREATE MACRO m(x) AS x",
    "CREATE SECRET (TYPE s3, KEY_ID 'k', SECRET 's')",
    "CHECKPOINT",
    # extensions
    "INSTALL sqlite",
    "INSTALL httpfs FROM 'http://127.0.0.1:9'",
    "LOAD sqlite",
    "LOAD '{home}/evil.duckdb_extension'",
    "FORCE INSTALL httpfs",
    # settings
    "SET enable_external_access = true",
    "RESET enable_external_access",
    "RESET allowed_paths",
    "SET allowed_paths = ['/etc/passwd']",
    "SET allowed_directories = ['/']",
    "SET memory_limit = '100GB'",
    "SET lock_configuration = false",
    "SET VARIABLE x = 1",
    "PRAGMA enable_profiling",
    "PRAGMA database_list",
    "CALL pragma_version()",
    "SELECT current_setting('allowed_paths')",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM duckdb_views()",
    "SELECT * FROM duckdb_extensions()",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM pg_catalog.pg_tables",
    "SELECT getenv('MACHIDATA_SQL_CANARY')",
    "SELECT getvariable('x')",
    # range() blow-ups (bounded by the check, by memory and by the clock)
    "SELECT * FROM range(10000000000)",
    "SELECT count(*) FROM range(9223372036854775807)",
    "SELECT * FROM generate_series(1, 1e12)",
    "SELECT unnest(generate_series(1, 1000000000000))",
    "SELECT list(range(100000000000))",
    "SELECT range(x.range) FROM range(100000) x",
    "SELECT count(*) FROM range(1000000) a, range(1000000) b",
    "SELECT length(repeat('x', 4000000000))",
    # several statements, comments hiding statements
    "SELECT 1; ATTACH '{db}' AS meta",
    "SELECT 1; COPY (SELECT 1) TO '{out}'",
    "SELECT 1 /* */; SELECT * FROM read_text('/etc/passwd')",
    "SELECT 1 -- \n; SELECT * FROM read_text('/etc/passwd')",
    "SELECT 1 /* ; SELECT * FROM read_text('/etc/passwd') */",
    "SELECT 1 -- */ ; SELECT * FROM read_text('/etc/passwd'); /*",
    "/* */ SELECT * FROM read_text('/etc/passwd') -- ",
    "SELECT '; SELECT * FROM read_text(''/etc/passwd'')'",
    "SELECT $$; SELECT * FROM read_text('/etc/passwd')$$",
    # unicode tricks
    "SELECT 1\u037e SELECT * FROM read_text('/etc/passwd')",  # Greek question mark looks like ;
    "SELECT 1\uff1b SELECT * FROM read_text('/etc/passwd')",  # full-width semicolon
    "SELECT 1\u200b; SELECT * FROM read_text('/etc/passwd')",  # zero-width space
    "SELECT * FROM read\u200b_text('/etc/passwd')",
    "SELECT * FROM read_text('/etc/pass\u200bwd')",
    "SELECT '\u202e' || content FROM read_text('/etc/passwd')",  # right-to-left override
    "\ufeffSELECT * FROM read_text('/etc/passwd')",  # byte-order mark
    "ＳＥＬＥＣＴ * FROM read_text('/etc/passwd')",  # full-width letters
    "SELECT * FROM reаd_text('/etc/passwd')",  # Cyrillic а
    "SELECT * FROM read_text('/etc/passwd\u0000.parquet')",
    "SELECT 1\r\n; SELECT * FROM read_text('/etc/passwd')",
]


ONLY_TEXT = {
    "SELECT 1 /* ; SELECT * FROM read_text('/etc/passwd') */",
    "SELECT 1 -- */ ; SELECT * FROM read_text('/etc/passwd'); /*",
    "SELECT '; SELECT * FROM read_text(''/etc/passwd'')'",
    "SELECT $$; SELECT * FROM read_text('/etc/passwd')$$",
}


@dataclass
class Tally:
    """What the corpus found in one mode."""

    refused: int = 0  # by sqlglot's check or DuckDB's one-SELECT check
    stopped: int = 0  # by the DuckDB lockdown, the memory limits or the clock
    harmless: int = 0  # ran, and nothing secret came back or was written
    escapes: list[str] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A stand-in MACHIDATA_HOME: a metadata database, our table's files and another department's."""
    home = tmp_path / "home"
    lake = home / "lake"
    (lake / "mine").mkdir(parents=True)
    (lake / "other").mkdir(parents=True)
    db = home / "db.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE secret (v TEXT)")
        conn.execute("INSERT INTO secret VALUES (?)", (SECRET_DB,))
    pq.write_table(pa.table({"ward": ["中央区", "東区"], "n": [1, 2]}), lake / "mine" / "part-0.parquet")
    pq.write_table(pa.table({"secret": [SECRET_PARQUET]}), lake / "other" / "part-0.parquet")
    (home / "secret.txt").write_text(SECRET_HOME)
    monkeypatch.setenv("HOME", str(home))  # the worker must not inherit it
    monkeypatch.setenv("MACHIDATA_SQL_CANARY", SECRET_ENV)
    return {
        "db": str(db),
        "other": str(lake / "other" / "part-0.parquet"),
        "mine": str(lake / "mine" / "part-0.parquet"),
        "lake": str(lake),
        "home": str(home),
        "out": str(tmp_path / "out.csv"),
        "outdir": str(tmp_path / "exported"),
    }


def _payload(template: str, world: dict[str, str]) -> str:
    out = template
    for key, value in world.items():
        out = out.replace("{" + key + "}", value)
    return out


def _leaked(text: str) -> list[str]:
    return [s for s in (SECRET_DB, SECRET_PARQUET, SECRET_ENV, SECRET_HOME, PASSWD_MARK) if s in text]


def _run(payload: str, views: list[SqlView], *, checked: bool) -> tuple[str, str]:
    """(outcome, answer text) of one payload in one mode."""
    try:
        if checked:
            result = run_sql(check_sql(payload), views, timeout_s=5, memory_mb=256, threads=1)
        else:
            result = run_sql(payload, views, timeout_s=5, memory_mb=256, threads=1, check=False)
    except SqlRefused as exc:
        return "refused", exc.message
    except EngineError as exc:
        return "stopped", exc.message
    return "ran", json.dumps({"columns": result.columns, "rows": result.rows}, ensure_ascii=False)


def run_corpus(world: dict[str, str], *, checked: bool) -> Tally:
    """Every payload in one mode (four workers at a time)."""
    views = [SqlView("kenko", "t", (world["mine"],))]
    payloads = [_payload(t, world) for t in CORPUS]
    tally = Tally()
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(lambda p: _run(p, views, checked=checked), payloads))
    for payload, (outcome, text) in zip(payloads, outcomes, strict=True):
        leaked = _leaked(text)
        written = [p for p in (world["out"], world["outdir"]) if os.path.exists(p)]
        if leaked or written:
            tally.escapes.append(f"{payload!r}: {outcome} leaked={leaked} wrote={written}")
            for p in written:
                if os.path.isfile(p):
                    os.remove(p)
        elif outcome == "refused":
            tally.refused += 1
        elif outcome == "stopped":
            tally.stopped += 1
        else:
            tally.harmless += 1
            tally.ran.append(payload)
    return tally


def _report(mode: str, tally: Tally) -> None:
    report = os.environ.get("MACHIDATA_SECURITY_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as f:
            figure = {
                "test": "sql_escape_corpus",
                "mode": mode,
                "payloads": len(CORPUS),
                "refused": tally.refused,
                "stopped": tally.stopped,
                "harmless": tally.harmless,
                "escapes": len(tally.escapes),
            }
            f.write(json.dumps(figure) + "\n")


def test_corpus_is_refused_by_the_check(world: dict[str, str]) -> None:
    """As the console runs them: every payload is refused (none of them is a plain read of the view)."""
    tally = run_corpus(world, checked=True)
    _report("checked", tally)
    assert not tally.escapes, "\n".join(tally.escapes)
    # Only payloads whose "attack" sits in a comment or a string literal run, as the SELECT they are.
    assert set(tally.ran) <= {_payload(t, world) for t in ONLY_TEXT}
    assert tally.refused + tally.stopped + tally.harmless == len(CORPUS)


def test_corpus_with_the_checks_off_is_stopped_by_the_lockdown(world: dict[str, str]) -> None:
    """With sqlglot's and DuckDB's statement checks off, the worker's lockdown alone lets nothing out."""
    tally = run_corpus(world, checked=False)
    _report("lockdown_only", tally)
    assert not tally.escapes, "\n".join(tally.escapes)
    assert tally.stopped >= len(CORPUS) // 2  # most payloads die on the lockdown, not by luck


def test_the_corpus_can_find_an_escape(world: dict[str, str]) -> None:
    """The detector works: the other department's file offered as a view (an access bug) is reported."""
    views = [SqlView("kenko", "t", (world["other"],))]
    outcome, text = _run('SELECT * FROM "kenko"."t"', views, checked=True)
    assert outcome == "ran"
    assert _leaked(text) == [SECRET_PARQUET]
