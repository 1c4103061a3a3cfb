"""The SQL console's engine: the sqlglot check, the worker process, its caps and its kill."""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa
import pytest

from machidata.engine.errors import EngineError, EngineQueryError, EngineTimeout
from machidata.engine.sql import (
    MAX_SERIES,
    SqlRefused,
    SqlView,
    TableRef,
    check_sql,
    run_sql,
    view_columns,
)
from machidata.engine.tests.conftest import ROWS, SCHEMA, write_rows


@pytest.fixture
def views(tmp_path: Path) -> list[SqlView]:
    """The sample rows as ``"kenko-data"."shops"`` over two files, and an empty ``"kenko-data"."empty"``."""
    files = (
        write_rows(tmp_path / "part-0.parquet", ROWS[:6]),
        write_rows(tmp_path / "part-1.parquet", ROWS[6:]),
    )
    return [
        SqlView("kenko-data", "shops", files),
        SqlView("kenko-data", "empty", (), view_columns(SCHEMA)),
    ]


# ---- the check -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        'SELECT * FROM "kenko-data"."shops"',
        'select ward, count(*) from "kenko-data".shops group by ward order by 2 desc',
        'WITH a AS (SELECT * FROM "kenko-data"."shops") SELECT count(*) FROM a',
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5) SELECT * FROM n",
        "SELECT 1 UNION ALL SELECT 2",
        'FROM "kenko-data"."shops" SELECT name',
        "SELECT * FROM range(10)",
        "SELECT * FROM generate_series(DATE '2024-04-01', DATE '2025-03-31', INTERVAL 1 DAY)",
        "SELECT unnest([1, 2, 3])",
        'SELECT s.ward, e.name FROM "kenko-data"."shops" s LEFT JOIN "kenko-data"."empty" e ON s.id = e.id',
        "SELECT * FROM \"kenko-data\".\"shops\" WHERE name = 'read_csv(''/etc/passwd'')'",
        "SELECT 1 -- a comment",
    ],
)
def test_check_accepts_read_only_queries(sql: str) -> None:
    checked = check_sql(sql)
    assert "--" not in checked.sql
    assert "/*" not in checked.sql


def test_check_collects_tables_lower_case() -> None:
    checked = check_sql('SELECT * FROM "Kenko-Data"."SHOPS" a JOIN "kenko-data".e b ON a.id = b.id')
    assert checked.tables == (TableRef("kenko-data", "e"), TableRef("kenko-data", "shops"))


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("", "入力"),
        ("SELECT 1; SELECT 2", "1 つだけ"),
        ("DROP TABLE x", "SELECT"),
        ("CREATE TEMP TABLE x AS SELECT 1", "SELECT"),
        ("COPY (SELECT 1) TO '/tmp/x.csv'", "SELECT"),
        ("ATTACH ':memory:' AS m", "SELECT"),
        ("SET enable_external_access = true", "SELECT"),
        ("PRAGMA database_list", "SELECT"),
        ("SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
        ("SELECT read_text('/etc/passwd')", "read_text"),
        ("SELECT * FROM glob('/etc/*')", "glob"),
        ("SELECT current_setting('allowed_paths')", "current_setting"),
        ("SELECT * FROM '/etc/passwd'", "/etc/passwd"),
        ("SELECT * FROM shops", "shops"),
        ('SELECT * FROM information_schema."tables"', "information_schema"),
        ('SELECT * FROM memory."kenko-data"."shops"', "使えません"),
        (f"SELECT * FROM range({MAX_SERIES + 10})", f"{MAX_SERIES:,}"),  # noqa: S608 — a test payload
        ('SELECT range(id) FROM "kenko-data"."shops"', "定数"),
        ('SELECT * FROM "kenko-data"."shops" WHERE id = ?', "パラメータ"),
        ("SELECT 1\u200b", "U+200B"),
        ("SELECT 1 INTO x", "SELECT"),
    ],
)
def test_check_refuses(sql: str, words: str) -> None:
    with pytest.raises(SqlRefused) as info:
        check_sql(sql)
    assert words in info.value.message


def test_cte_name_is_only_valid_in_its_scope() -> None:
    check_sql("WITH x AS (SELECT 1 AS a) SELECT * FROM x")
    with pytest.raises(SqlRefused):
        check_sql("SELECT * FROM (WITH x AS (SELECT 1) SELECT * FROM x) q, x")


# ---- running ---------------------------------------------------------------------------------------


def test_runs_over_the_views(views: list[SqlView]) -> None:
    result = run_sql(
        check_sql('SELECT ward, sum(visits) AS v FROM "kenko-data"."shops" GROUP BY ward ORDER BY ward'),
        views,
    )
    expected: dict[str | None, int] = {}
    for r in ROWS:
        if r["visits"] is not None:
            expected[r["ward"]] = expected.get(r["ward"], 0) + r["visits"]
    got = {row[0]: row[1] for row in result.rows}
    assert got == expected
    assert [c["name"] for c in result.columns] == ["ward", "v"]
    assert result.tables == (TableRef("kenko-data", "shops"),)
    assert not result.truncated


def test_values_are_json_safe(views: list[SqlView]) -> None:
    result = run_sql(
        check_sql(
            "SELECT day, \"at\", 1.50::DECIMAL(10, 2) AS d, [1, 2] AS l, 'a'::BLOB AS b, "
            '\'NaN\'::DOUBLE AS n FROM "kenko-data"."shops" WHERE id = 1'
        ),
        views,
    )
    assert result.rows == [["2024-03-31", "2024-03-31T23:30:00", "1.50", [1, 2], "61", None]]


def test_empty_version_has_columns_and_no_rows(views: list[SqlView]) -> None:
    result = run_sql(check_sql('SELECT * FROM "kenko-data"."empty"'), views)
    assert [c["name"] for c in result.columns] == SCHEMA.names
    assert result.rows == []


def test_a_table_not_offered_is_refused(views: list[SqlView]) -> None:
    with pytest.raises(SqlRefused) as info:
        run_sql(check_sql('SELECT * FROM "other-dept"."secret"'), views)
    assert "読む権限" in info.value.message


def test_row_cap_cuts_and_says_so(views: list[SqlView]) -> None:
    result = run_sql(check_sql("SELECT * FROM range(5000)"), views, max_rows=1000)
    assert len(result.rows) == 1000
    assert result.rows[-1] == [999]
    assert result.truncated
    exact = run_sql(check_sql("SELECT * FROM range(1000)"), views, max_rows=1000)
    assert len(exact.rows) == 1000
    assert not exact.truncated


def test_duckdb_errors_are_japanese(views: list[SqlView]) -> None:
    with pytest.raises(EngineQueryError) as info:
        run_sql(check_sql('SELECT no_such_column FROM "kenko-data"."shops"'), views)
    assert "列名" in info.value.message
    assert "part-0.parquet" not in info.value.message


def test_timeout_kills_the_worker(views: list[SqlView]) -> None:
    sql = check_sql("SELECT count(*) FROM range(1000000) a, range(1000000) b, range(1000) c")
    started = time.monotonic()
    with pytest.raises(EngineTimeout) as info:
        run_sql(sql, views, timeout_s=2, threads=1)
    took = time.monotonic() - started
    assert took < 6, f"the worker was not stopped at the deadline ({took:.1f} s)"
    assert "制限時間（2秒）" in info.value.message


def test_duckdb_memory_limit(views: list[SqlView]) -> None:
    with pytest.raises(EngineError) as info:
        run_sql(check_sql("SELECT list(a.range) FROM range(1000000) a, range(200) b"), views, memory_mb=64)
    assert "メモリ" in info.value.message


def test_address_space_limit_holds_when_duckdb_would_allow_more(views: list[SqlView]) -> None:
    """DuckDB is told it may use 16 GB; the process's RLIMIT_AS (1.4 GB) stops it all the same."""
    with pytest.raises(EngineError) as info:
        run_sql(
            check_sql("SELECT length(repeat('x', 2000000000))"),
            views,
            memory_mb=16_000,
            address_space_mb=1_400,
        )
    assert "メモリ" in info.value.message


def test_limits_are_validated(views: list[SqlView]) -> None:
    with pytest.raises(EngineQueryError):
        run_sql(check_sql("SELECT 1"), views, max_rows=0)


def test_view_columns_from_arrow() -> None:
    cols = view_columns(pa.schema([("a", pa.int64()), ("b", pa.string()), ("c", pa.date32())]))
    assert cols == (("a", "BIGINT"), ("b", "VARCHAR"), ("c", "DATE"))


ODD_INPUT = ["SELECT " + "(" * 5000 + "1" + ")" * 5000, "SELECT '\\", "SELECT [[[[", "\x00", "SELECT 1 FROM"]


@pytest.mark.parametrize("sql", ODD_INPUT)
def test_odd_input_is_a_refusal_never_a_crash(sql: str) -> None:
    with pytest.raises(SqlRefused):
        check_sql(sql)


def test_column_names_that_look_like_functions_are_fine() -> None:
    check_sql('SELECT "read_flag", "parquet_id" -> \'$.a\' AS j FROM "kenko-data"."shops"')


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_csv('{other}')",
        "COPY (SELECT 42) TO '{out}'",
        "ATTACH '{other}' AS x",
        "SET enable_external_access = true",
        "LOAD sqlite",
    ],
)
def test_what_slips_past_the_check_is_stopped_by_the_lockdown(
    sql: str, views: list[SqlView], tmp_path: Path
) -> None:
    """With the checks off (as if sqlglot had been fooled), DuckDB's lockdown in the worker refuses."""
    other = write_rows(tmp_path / "other.parquet", ROWS[:1])
    out = tmp_path / "out.csv"
    payload = sql.replace("{other}", other).replace("{out}", str(out))
    with pytest.raises(EngineQueryError) as info:
        run_sql(payload, views, check=False)
    assert "許可されていない" in info.value.message or "configuration" in info.value.message
    assert not out.exists()


def test_bare_table_names_only_when_the_caller_names_their_schema() -> None:
    """CKAN's datastore_search_sql writes ``FROM "<resource id>"``: allowed with ``bare_schema`` only."""
    text = 'WITH w AS (SELECT 1 AS a) SELECT * FROM "0b1e-x" JOIN w ON true'
    with pytest.raises(SqlRefused):
        check_sql(text)
    checked = check_sql(text, bare_schema="main")
    assert checked.tables == (TableRef("main", "0b1e-x"),)  # the CTE is not a table
    with pytest.raises(SqlRefused):
        check_sql("SELECT * FROM read_text('/etc/passwd')", bare_schema="main")
    with pytest.raises(SqlRefused):
        check_sql('SELECT * FROM main."0b1e-x"', bare_schema="main")  # reserved schemas stay refused


# ---- kept checks and volatile statements ------------------------------------------------------------


def test_an_accepted_statement_is_kept_by_its_text_and_a_refusal_is_made_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from machidata.engine import sql as sqlmod

    parsed: list[str] = []
    real = sqlmod._check_tree
    monkeypatch.setattr(sqlmod, "_check_tree", lambda t, b=None: (parsed.append(t), real(t, b))[1])
    text = 'SELECT "ward", count(*) FROM "kenko-data"."shops" GROUP BY 1 -- kept'
    first = check_sql(text)
    assert check_sql(text) is first
    assert parsed == [text]
    assert check_sql(text, bare_schema="main") is not first  # another schema rule: checked on its own
    assert len(parsed) == 2
    for _ in range(2):
        with pytest.raises(SqlRefused, match="SELECT"):
            check_sql("DROP TABLE x")
    assert parsed[-2:] == ["DROP TABLE x", "DROP TABLE x"]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT random()",
        "SELECT now()",
        "SELECT current_date",
        "SELECT CURRENT_TIMESTAMP",
        "SELECT gen_random_uuid()",
        "SELECT uuid()",
        'SELECT * FROM "kenko-data"."shops" USING SAMPLE 10%',
        'SELECT * FROM "kenko-data"."shops" TABLESAMPLE 50 ROWS',
        'SELECT "id" FROM "kenko-data"."shops" WHERE "id" < 3 * random()',
        'SELECT "id" FROM "kenko-data"."shops" ORDER BY random() LIMIT 1',
    ],
)
def test_statements_whose_answer_may_change_are_volatile(sql: str) -> None:
    assert check_sql(sql).volatile, sql


@pytest.mark.parametrize(
    "sql",
    [
        'SELECT "ward", count(*) AS n, sum("amount") FROM "kenko-data"."shops" GROUP BY 1 ORDER BY 1',
        "SELECT upper('a'), round(1.25, 1), DATE '2024-04-01' + INTERVAL 1 DAY",
        'SELECT * FROM "kenko-data"."shops" WHERE "day" >= DATE \'2024-04-01\'',
        "SELECT count(*) FROM range(10)",
    ],
)
def test_statements_decided_by_the_data_alone_are_not_volatile(sql: str) -> None:
    assert not check_sql(sql).volatile, sql
