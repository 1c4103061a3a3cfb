"""The TableQuery and recipe suites on DuckDB and on Spark: the same answers from both engines.

No second set of cases: every test function of ``test_run`` (rows: filters, sort, paging, caps),
``test_aggregate`` (grains, measures, shares, rates, previous period, top N) and ``test_recipes``
(every step type, findings, streams) is a case here, with its own parameters. While a case runs, the
module's ``run_query`` / ``preview_recipe`` / ``stream_recipe`` is replaced by a twin that runs the
call on DuckDB, then on Spark (a local ``local[2]`` session), compares the two answers, and hands
Spark's answer to the test, whose own assertions (expected values computed in plain Python) then
check Spark as they check DuckDB in the default lane.

How two answers are compared:
- the same columns with the same Arrow types, the same ``total``/``truncated``/step reports;
- the same rows after a full tie-breaking sort (every column, blanks first) — row order is not
  promised where the query does not sort;
- where the query does fix an order (a ``sort``, or any aggregate: group keys break ties), the same
  rows in the same positions, so NULLs must be ordered alike (blank keys last on both engines);
- floats equal within ``rel_tol=1e-9, abs_tol=1e-12`` (sums and means may add in another order);
- an error on one engine must be the same error class with the same Japanese message on the other
  (apart from the engine's own error class named in brackets for support staff).

Tests that exercise DuckDB itself (its lockdown, its interrupts, exports that stay on DuckDB) are
not cases; they are listed in :data:`NOT_CASES` with the reason, and the count of cases is printed by
``-v``. Known differences are declared in :data:`GAPS` as strict xfails with their reason.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow as pa
import pytest

from machidata.engine import recipes as recipes_module
from machidata.engine import run as run_module
from machidata.engine.backends import use_engine
from machidata.engine.errors import EngineError
from machidata.engine.recipes import RecipePreview, RecipeStream
from machidata.engine.run import QueryResult
from machidata.engine.tests import conftest as row_data
from machidata.engine.tests import test_aggregate, test_recipes, test_run

pytestmark = pytest.mark.spark

REL_TOL = 1e-9
ABS_TOL = 1e-12

MODULES: tuple[ModuleType, ...] = (test_run, test_aggregate, test_recipes)

# Test functions of those modules that are not cross-backend cases, and why.
NOT_CASES: dict[str, str] = {
    "test_run::test_connection_cannot_read_other_files_or_reopen_access": "DuckDB's own lockdown (raw SQL on the sandbox)",
    "test_run::test_timeout_interrupts_a_slow_query": "DuckDB's interrupt (raw SQL on the sandbox)",
    "test_run::test_a_query_started_after_the_deadline_is_stopped_too": "DuckDB's interrupt (raw SQL on the sandbox)",
    "test_run::test_run_query_timeout": "slows DuckDB's connection function; Spark's deadline is tested in test_spark.py",
    "test_run::test_fast_query_is_not_interrupted_later": "DuckDB's timer; Spark's deadline is tested in test_spark.py",
    "test_aggregate::test_aggregates_export_like_rows": "exports stay on DuckDB",
    "test_recipes::test_recipe_is_json_and_versioned": "no query: the recipe's JSON shape",
}

# Known differences between the engines: strict xfails (an unexpected pass fails the lane).
GAPS: dict[str, str] = {
    "test_recipes::test_group_and_aggregate": (
        "DuckDB's checked preview materialises the aggregate step in a temporary table where sum() of "
        "an integer column is HUGEINT, read back by Ibis as decimal(38,0); Spark keeps the int64 Ibis "
        "promises. DuckDB's behaviour is kept as it is (the lake stores what DuckDB gives today)."
    ),
}

FIXTURES = {"files", "big", "tmp_path"}


def _param_sets(fn: Callable[..., Any]) -> list[tuple[str, dict[str, Any]]]:
    """The function's own ``@pytest.mark.parametrize`` sets, as (id, arguments)."""
    sets: list[tuple[str, dict[str, Any]]] = [("", {})]
    for mark in getattr(fn, "pytestmark", []):
        if mark.name != "parametrize":
            continue
        names, values = mark.args[0], mark.args[1]
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        ids = mark.kwargs.get("ids")
        expanded = []
        for i, value in enumerate(values):
            args = dict(zip(names, value if len(names) > 1 else (value,), strict=True))
            label = ids[i] if isinstance(ids, list) else "-".join(str(v)[:20] for v in args.values())
            for prefix, before in sets:
                expanded.append((f"{prefix}[{label}]" if prefix else f"[{label}]", {**before, **args}))
        sets = expanded
    return sets


def _cases() -> list[Any]:
    cases = []
    for module in MODULES:
        short = module.__name__.rsplit(".", 1)[1]
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if not name.startswith("test_") or fn.__module__ != module.__name__:
                continue
            key = f"{short}::{name}"
            if key in NOT_CASES:
                continue
            for suffix, args in _param_sets(fn):
                marks = [pytest.mark.xfail(strict=True, reason=GAPS[key])] if key in GAPS else []
                cases.append(pytest.param(module, name, args, id=f"{key}{suffix}", marks=marks))
    return cases


CASES = _cases()


# ---- the data each module's fixtures give (the same rows, written the same way) ----------------


def _fixture_values(module: ModuleType, tmp_path: Path) -> dict[str, Any]:
    if module is test_run:
        return {
            "files": [
                row_data.write_rows(tmp_path / "part-0.parquet", row_data.ROWS[:6]),
                row_data.write_rows(tmp_path / "part-1.parquet", row_data.ROWS[6:]),
            ]
        }
    if module is test_aggregate:
        return {
            "big": [
                row_data.write_rows(
                    tmp_path / "a.parquet", test_aggregate.ROWS[:700], test_aggregate.BIG_SCHEMA
                ),
                row_data.write_rows(
                    tmp_path / "b.parquet", test_aggregate.ROWS[700:], test_aggregate.BIG_SCHEMA
                ),
            ]
        }
    names = {
        "amb": test_recipes.AMB,
        "pop": test_recipes.POP,
        "estat": test_recipes.ESTAT,
        "apr": test_recipes.APRIL,
        "may": test_recipes.MAY,
        "may_odd": test_recipes.MAY_ODD,
    }
    return {"files": {k: test_recipes._write(tmp_path, k, rows) for k, rows in names.items()}}


# The fixtures cases name in ``@pytest.mark.usefixtures``, as context managers (the same generator).
USE_FIXTURES: dict[str, Callable[[], contextlib.AbstractContextManager[None]]] = {
    "other_zone": contextlib.contextmanager(test_aggregate.other_zone.__wrapped__),  # type: ignore[attr-defined]
}


# ---- comparison ---------------------------------------------------------------------------------


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return bool(a == b) and type(a) is type(b)


def _rows_close(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    return len(a) == len(b) and all(
        ra.keys() == rb.keys() and all(_close(ra[k], rb[k]) for k in ra) for ra, rb in zip(a, b, strict=True)
    )


def _sort_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """Every column, blanks first; floats rounded so that a last-bit difference cannot reorder rows."""
    return tuple(
        (v is not None, round(v, 6) if isinstance(v, float) else v if v is not None else 0)
        for v in row.values()
    )


def _same_table(duck: pa.Table, spark: pa.Table, *, ordered: bool, what: str) -> None:
    assert spark.schema == duck.schema, (
        f"{what}: columns or types differ\nDuckDB: {duck.schema}\nSpark: {spark.schema}"
    )
    d, s = duck.to_pylist(), spark.to_pylist()
    assert _rows_close(sorted(d, key=_sort_key), sorted(s, key=_sort_key)), (
        f"{what}: rows differ\nDuckDB: {d[:10]}\nSpark: {s[:10]}"
    )
    if ordered:
        assert _rows_close(d, s), f"{what}: the same rows in another order\nDuckDB: {d[:10]}\nSpark: {s[:10]}"


def _message(exc: EngineError) -> str:
    """The message without the engine's own error class in brackets (（PermissionException） / （Spark: …））."""
    return re.sub(r"（(Spark: )?[A-Za-z]+(Exception|Error)）", "（…）", exc.message)


def _same_error(duck: BaseException | None, spark: BaseException | None, what: str) -> None:
    assert type(duck) is type(spark), f"{what}: DuckDB raised {duck!r}, Spark raised {spark!r}"
    if isinstance(duck, EngineError) and isinstance(spark, EngineError):
        assert _message(duck) == _message(spark), (
            f"{what}: messages differ\nDuckDB: {duck.message}\nSpark: {spark.message}"
        )


def _same_reports(duck: list[Any], spark: list[Any], what: str) -> None:
    assert [r.as_dict() for r in spark] == [r.as_dict() for r in duck], f"{what}: step reports differ"


class Twin:
    """Runs each engine call on both engines and compares; counts the comparisons made."""

    def __init__(self) -> None:
        self.compared = 0

    def _both(self, call: Callable[[], Any]) -> tuple[Any, Any, BaseException | None, BaseException | None]:
        results: list[Any] = []
        errors: list[BaseException | None] = []
        for engine in ("duckdb", "spark"):
            with use_engine(engine):  # type: ignore[arg-type]
                try:
                    results.append(call())
                    errors.append(None)
                except EngineError as exc:
                    results.append(None)
                    errors.append(exc)
        return results[0], results[1], errors[0], errors[1]

    def run_query(self, files: Any, query: Any, **kw: Any) -> QueryResult:
        duck, spark, e_duck, e_spark = self._both(lambda: run_module.run_query(files, query, **kw))
        _same_error(e_duck, e_spark, "run_query")
        self.compared += 1
        if e_spark is not None:
            raise e_spark
        assert (spark.total, spark.truncated, spark.offset) == (duck.total, duck.truncated, duck.offset), (
            "totals differ"
        )
        ordered = bool(query.sort) or query.is_aggregate
        _same_table(duck.table, spark.table, ordered=ordered, what="run_query")
        return spark

    def preview_recipe(self, files: Any, recipe: Any, **kw: Any) -> RecipePreview:
        duck, spark, e_duck, e_spark = self._both(lambda: recipes_module.preview_recipe(files, recipe, **kw))
        _same_error(e_duck, e_spark, "preview_recipe")
        self.compared += 1
        if e_spark is not None:
            raise e_spark
        _same_reports(duck.steps, spark.steps, "preview_recipe")
        assert spark.schema == duck.schema, "preview_recipe: result schemas differ"
        _same_table(duck.table, spark.table, ordered=False, what="preview_recipe")
        return spark

    @contextlib.contextmanager
    def stream_recipe(self, files: Any, recipe: Any, **kw: Any) -> Iterator[RecipeStream]:
        def read() -> tuple[pa.Table, RecipeStream]:
            with recipes_module.stream_recipe(files, recipe, **kw) as stream:
                return stream.reader.read_all(), stream

        duck, spark, e_duck, e_spark = self._both(read)
        _same_error(e_duck, e_spark, "stream_recipe")
        self.compared += 1
        if e_spark is not None:
            raise e_spark
        _same_reports(duck[1].steps, spark[1].steps, "stream_recipe")
        _same_table(duck[0], spark[0], ordered=False, what="stream_recipe")
        table = spark[0]
        yield RecipeStream(
            schema=spark[1].schema,
            reader=pa.RecordBatchReader.from_batches(table.schema, table.to_batches()),
            steps=spark[1].steps,
        )


def test_every_case_is_collected() -> None:
    """The case list is not empty and every exclusion names a real test (a renamed test fails here)."""
    assert len(CASES) > 50
    names = {f"{m.__name__.rsplit('.', 1)[1]}::{n}" for m in MODULES for n in dir(m) if n.startswith("test_")}
    assert set(NOT_CASES) <= names
    assert set(GAPS) <= names


@pytest.mark.parametrize(("module", "name", "args"), CASES)
def test_same_answer_on_duckdb_and_spark(
    module: ModuleType, name: str, args: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    twin = Twin()
    for attr in ("run_query", "preview_recipe", "stream_recipe"):
        if hasattr(module, attr):
            monkeypatch.setattr(module, attr, getattr(twin, attr))
    fn = getattr(module, name)
    wanted = set(inspect.signature(fn).parameters)
    given = {**_fixture_values(module, tmp_path), "tmp_path": tmp_path, **args}
    used = [n for m in getattr(fn, "pytestmark", []) if m.name == "usefixtures" for n in m.args]
    with contextlib.ExitStack() as stack:
        for fixture in used:
            stack.enter_context(USE_FIXTURES[fixture]())
        fn(**{k: given[k] for k in wanted})
    assert twin.compared, f"{name} made no engine call: add it to NOT_CASES with the reason"
