"""run_query over Parquet files: every filter op, sort, paging, caps, safety and time limits."""

from __future__ import annotations

import datetime as dt
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from machidata.engine import EngineError, EngineQueryError, EngineTimeout, TableQuery, run_query
from machidata.engine import sandbox as sandbox_module
from machidata.engine.sandbox import open_sandbox
from machidata.engine.tests.conftest import ROWS, SCHEMA, ids, write_rows


def _fold(s: str) -> str:
    """The test's own NFKC + lower-case, independent of the engine's pyarrow-based one."""
    return unicodedata.normalize("NFKC", s).lower()


def _where(pred: Callable[[dict[str, Any]], bool]) -> list[int]:
    return [r["id"] for r in ROWS if pred(r)]


CASES: list[tuple[dict[str, Any], list[int]]] = [
    ({"column": "ward", "op": "eq", "value": "中央区"}, _where(lambda r: r["ward"] == "中央区")),
    ({"column": "ward", "op": "ne", "value": "中央区"}, _where(lambda r: r["ward"] != "中央区")),  # keeps None
    ({"column": "visits", "op": "in", "values": [7, 1]}, _where(lambda r: r["visits"] in (7, 1))),
    ({"column": "visits", "op": "not_in", "values": [7, 1]}, _where(lambda r: r["visits"] not in (7, 1))),
    ({"column": "name", "op": "contains", "value": "ABC"}, _where(lambda r: r["name"] is not None and "abc" in _fold(r["name"]))),
    ({"column": "name", "op": "starts_with", "value": "ｶﾌｪ"}, _where(lambda r: r["name"] is not None and _fold(r["name"]).startswith("カフェ"))),
    ({"column": "amount", "op": "range", "min": 50.25, "max": 999}, _where(lambda r: r["amount"] is not None and 50.25 <= r["amount"] <= 999)),
    ({"column": "amount", "op": "range", "min": 400}, _where(lambda r: r["amount"] is not None and r["amount"] >= 400)),
    ({"column": "day", "op": "range", "max": "2024-04-15"}, _where(lambda r: r["day"] is not None and r["day"] <= dt.date(2024, 4, 15))),
    ({"column": "visits", "op": "gt", "value": 4}, _where(lambda r: r["visits"] is not None and r["visits"] > 4)),
    ({"column": "visits", "op": "ge", "value": "4"}, _where(lambda r: r["visits"] is not None and r["visits"] >= 4)),
    ({"column": "amount", "op": "lt", "value": 0}, _where(lambda r: r["amount"] is not None and r["amount"] < 0)),
    ({"column": "amount", "op": "le", "value": 0}, _where(lambda r: r["amount"] is not None and r["amount"] <= 0)),
    ({"column": "at", "op": "ge", "value": "2024-04-01T00:00:00"}, _where(lambda r: r["at"] is not None and r["at"] >= dt.datetime(2024, 4, 1))),
    ({"column": "flag", "op": "eq", "value": False}, _where(lambda r: r["flag"] is False)),
    ({"column": "amount", "op": "is_null"}, _where(lambda r: r["amount"] is None)),
    ({"column": "flag", "op": "not_null"}, _where(lambda r: r["flag"] is not None)),
]  # fmt: skip


@pytest.mark.parametrize(("flt", "expected"), CASES, ids=[f"{c[0]['op']}-{c[0]['column']}" for c in CASES])
def test_every_filter_op(files: list[str], flt: dict[str, Any], expected: list[int]) -> None:
    assert expected, "each case must select something, or it proves nothing"
    assert len(expected) < len(ROWS), "each case must drop something, or it proves nothing"
    result = run_query(files, TableQuery.from_dict({"filters": [flt], "sort": [["id", "asc"]]}))
    assert ids(result.table) == expected
    assert result.total == len(expected)
    assert not result.truncated


def test_filters_combine_with_and(files: list[str]) -> None:
    q = TableQuery.from_dict(
        {
            "filters": [
                {"column": "ward", "op": "in", "values": ["中央区", "西区"]},
                {"column": "amount", "op": "gt", "value": 100},
            ],
            "sort": [["id", "asc"]],
        }
    )
    expected = _where(lambda r: r["ward"] in ("中央区", "西区") and (r["amount"] or 0) > 100)
    assert ids(run_query(files, q).table) == expected


def test_nfkc_contains_full_width_half_width_and_case(files: list[str]) -> None:
    for needle in ("ABC", "ａｂｃ", "abc"):
        q = TableQuery.from_dict(
            {"filters": [{"column": "name", "op": "contains", "value": needle}], "sort": [["id", "asc"]]}
        )
        assert ids(run_query(files, q).table) == [1, 2, 8], needle
    for needle in ("カフェ", "ｶﾌｪ"):
        q = TableQuery.from_dict(
            {"filters": [{"column": "name", "op": "contains", "value": needle}], "sort": [["id", "asc"]]}
        )
        assert ids(run_query(files, q).table) == [3, 4], needle


@pytest.mark.parametrize("needle", ["%", "_店", "100%", "果汁_"])
def test_like_wildcards_are_plain_text(files: list[str], needle: str) -> None:
    q = TableQuery.from_dict({"filters": [{"column": "name", "op": "contains", "value": needle}]})
    assert ids(run_query(files, q).table) == [10]


def test_sort_desc_keeps_nulls_last_and_ties_by_next_key(files: list[str]) -> None:
    q = TableQuery.from_dict({"sort": [["amount", "desc"], ["id", "desc"]], "fields": ["id", "amount"]})
    with_amount = sorted(
        (r for r in ROWS if r["amount"] is not None), key=lambda r: (r["amount"], r["id"]), reverse=True
    )
    expected = [r["id"] for r in with_amount] + [r["id"] for r in ROWS if r["amount"] is None]
    result = run_query(files, q)
    assert ids(result.table) == expected
    assert result.columns == ["id", "amount"]


def test_sort_text_ascending(files: list[str]) -> None:
    q = TableQuery.from_dict({"sort": [["ward", "asc"], ["id", "asc"]], "fields": ["id", "ward"]})
    known = sorted(
        (r for r in ROWS if r["ward"] is not None), key=lambda r: (r["ward"].encode("utf-8"), r["id"])
    )
    assert ids(run_query(files, q).table) == [r["id"] for r in known] + [7]


def test_paging_and_total(files: list[str]) -> None:
    q = TableQuery.from_dict({"sort": [["id", "asc"]], "limit": 3, "offset": 3})
    result = run_query(files, q)
    assert ids(result.table) == [4, 5, 6]
    assert result.total == 10
    assert result.offset == 3
    assert not result.truncated
    last = run_query(files, TableQuery.from_dict({"sort": [["id", "asc"]], "limit": 5, "offset": 8}))
    assert ids(last.table) == [9, 10]
    assert not last.truncated
    beyond = run_query(files, TableQuery.from_dict({"limit": 5, "offset": 50}))
    assert beyond.table.num_rows == 0
    assert beyond.total == 10


def test_row_cap_truncates(files: list[str]) -> None:
    capped = run_query(files, TableQuery.from_dict({"sort": [["id", "asc"]]}), max_rows=4)
    assert ids(capped.table) == [1, 2, 3, 4]
    assert capped.total == 10
    assert capped.truncated
    asked_more = run_query(files, TableQuery.from_dict({"sort": [["id", "asc"]], "limit": 6}), max_rows=4)
    assert asked_more.table.num_rows == 4
    assert asked_more.truncated
    within = run_query(files, TableQuery.from_dict({"limit": 3}), max_rows=4)
    assert within.table.num_rows == 3
    assert not within.truncated
    with pytest.raises(EngineQueryError, match="最大件数"):
        run_query(files, TableQuery(), max_rows=0)


def test_fields_select_columns_in_order(files: list[str]) -> None:
    result = run_query(files, TableQuery.from_dict({"fields": ["ward", "id"], "limit": 1}))
    assert result.table.column_names == ["ward", "id"]


def test_sort_by_a_column_that_is_not_shown(files: list[str]) -> None:
    q = TableQuery.from_dict({"fields": ["name"], "sort": [["visits", "desc"], ["id", "asc"]], "limit": 3})
    ranked = sorted((r for r in ROWS if r["visits"] is not None), key=lambda r: (-r["visits"], r["id"]))
    assert run_query(files, q).table.column("name").to_pylist() == [r["name"] for r in ranked[:3]]


def test_unknown_column_against_file_schema(files: list[str]) -> None:
    with pytest.raises(EngineQueryError, match="列「住所」はこの表にありません"):
        run_query(files, TableQuery.from_dict({"fields": ["住所"]}))


def test_wall_clock_times_are_not_shifted(files: list[str]) -> None:
    result = run_query(
        files,
        TableQuery.from_dict(
            {"filters": [{"column": "id", "op": "in", "values": [1, 2]}], "sort": [["id", "asc"]]}
        ),
    )
    assert result.table.column("at").to_pylist() == [
        dt.datetime(2024, 3, 31, 23, 30),
        dt.datetime(2024, 4, 1, 0, 30),
    ]
    assert result.table.schema.field("at").type.tz is None


# --- safety -----------------------------------------------------------------------------------


def test_injection_in_values_is_data(files: list[str]) -> None:
    q = TableQuery.from_dict({"filters": [{"column": "name", "op": "eq", "value": "x'; DROP TABLE t; --"}]})
    assert ids(run_query(files, q).table) == [6]
    q = TableQuery.from_dict(
        {"filters": [{"column": "name", "op": "in", "values": ["a' OR '1'='1", 'b"; --']}]}
    )
    assert run_query(files, q).total == 0
    assert run_query(files, TableQuery()).total == 10  # nothing was dropped


def test_file_reading_text_in_values_is_data(files: list[str]) -> None:
    for flt in (
        {"column": "name", "op": "eq", "value": "read_csv('/etc/passwd')"},
        {"column": "name", "op": "contains", "value": "/etc/passwd"},
    ):
        result = run_query(files, TableQuery.from_dict({"filters": [flt]}))
        assert ids(result.table) == [7]
        assert result.table.column_names == SCHEMA.names


def test_injection_in_column_names_is_refused_or_quoted(tmp_path: Path) -> None:
    evil = 'x"; DROP TABLE t; --'
    schema = pa.schema([("id", pa.int64()), (evil, pa.string()), ("a'b", pa.string())])
    path = write_rows(
        tmp_path / "evil.parquet",
        [{"id": 1, evil: "v1", "a'b": "q"}, {"id": 2, evil: "v2", "a'b": "r"}],
        schema,
    )
    q = TableQuery.from_dict(
        {"fields": [evil, "a'b"], "filters": [{"column": evil, "op": "eq", "value": "v2"}]}
    )
    assert run_query([path], q).table.to_pylist() == [{evil: "v2", "a'b": "r"}]
    with pytest.raises(EngineQueryError, match="はこの表にありません"):
        run_query([path], TableQuery.from_dict({"fields": ["id; DROP TABLE t"]}))


def test_connection_cannot_read_other_files_or_reopen_access(files: list[str], tmp_path: Path) -> None:
    other = write_rows(tmp_path / "secret.parquet", ROWS[:1])
    csv = tmp_path / "secret.csv"
    csv.write_text("a\n1\n", encoding="utf-8")
    with open_sandbox(files) as sb:
        assert sb.raw.sql("select count(*) from t").fetchall() == [(10,)]
    for sql in (
        f"select * from read_parquet('{other}')",  # noqa: S608 — deliberate attack strings
        f"select * from read_csv('{csv}')",  # noqa: S608
        "select * from read_csv('/etc/passwd')",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "SET allowed_paths = ['/etc/passwd']",
        "INSTALL httpfs",
        f"COPY t TO '{tmp_path / 'leak.csv'}'",
        f"ATTACH '{tmp_path / 'other.db'}'",
    ):
        with pytest.raises(EngineError) as info, open_sandbox(files) as sb:
            sb.raw.sql(sql).fetchall()
        cause = str(info.value.__cause__)
        assert "disabled by configuration" in cause or "configuration has been locked" in cause, sql
    assert not (tmp_path / "leak.csv").exists()


# --- time limits ------------------------------------------------------------------------------


def test_timeout_interrupts_a_slow_query(files: list[str]) -> None:
    started = time.monotonic()
    with (
        pytest.raises(EngineTimeout, match=r"制限時間（0\.2秒）を超えたため中止しました"),
        open_sandbox(files, timeout_s=0.2) as sb,
    ):
        sb.raw.sql(
            "select count(*) from range(1000000000) a, range(1000000) b where a.range + b.range < 0"
        ).fetchall()
    assert time.monotonic() - started < 5


def test_a_query_started_after_the_deadline_is_stopped_too(files: list[str]) -> None:
    # One interrupt at the deadline misses a query that starts later (a slow set-up on a busy
    # server); this one would run for seconds to the end without the repeated interrupt.
    started = time.monotonic()
    with pytest.raises(EngineTimeout), open_sandbox(files, timeout_s=0.1) as sb:  # noqa: PT012 - the wait is the point
        time.sleep(0.4)
        sb.raw.sql("select sum(a.range * b.range) from range(30000) a, range(30000) b").fetchall()
    assert time.monotonic() - started < 5


def test_run_query_timeout(files: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    real = sandbox_module._nfkc_udf

    def slow(values: pa.Array) -> pa.Array:
        time.sleep(0.6)
        return real(values)

    monkeypatch.setattr(sandbox_module, "_nfkc_udf", slow)
    q = TableQuery.from_dict({"filters": [{"column": "name", "op": "contains", "value": "a"}]})
    started = time.monotonic()
    with pytest.raises(EngineTimeout):
        run_query(files, q, timeout_s=0.2)
    assert time.monotonic() - started < 5


def test_fast_query_is_not_interrupted_later(files: list[str]) -> None:
    result = run_query(files, TableQuery.from_dict({"limit": 1}), timeout_s=0.5)
    time.sleep(0.6)  # the timer must have been cancelled; nothing fires into a closed connection
    assert result.table.num_rows == 1


# --- edge cases ---------------------------------------------------------------------------------


def test_empty_version_uses_the_given_schema() -> None:
    result = run_query(
        [], TableQuery.from_dict({"filters": [{"column": "id", "op": "gt", "value": 1}]}), schema=SCHEMA
    )
    assert result.total == 0
    assert result.table.num_rows == 0
    assert result.columns == SCHEMA.names
    with pytest.raises(EngineQueryError, match="データファイルがありません"):
        run_query([], TableQuery())


def test_missing_file_is_a_japanese_engine_error(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="失敗しました"):
        run_query([str(tmp_path / "gone.parquet")], TableQuery())


def test_search_words_each_in_some_text_column(files: list[str]) -> None:
    def found(text: str) -> list[int]:
        return ids(run_query(files, TableQuery(search=text, sort=(("id", "asc"),))).table)  # type: ignore[arg-type]

    expected = [r["id"] for r in ROWS if "abc" in _fold(r["name"] or "") + _fold(r["ward"] or "")]
    assert found("ＡＢＣ") == expected == [1, 2, 8]
    assert found("abc 中央") == [1, 8]  # every word, each in any text column
    assert found("ｶﾌｪ 西区") == [3]
    assert found("存在しない") == []
    assert found("   ") == list(range(1, 11))
