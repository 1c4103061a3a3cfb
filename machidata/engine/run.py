"""run_query: one TableQuery over a version's Parquet files, with row caps and a time limit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import pyarrow as pa

from machidata.engine.compile import aggregated_page, apply_aggregation, compile_query, filtered
from machidata.engine.errors import EngineQueryError
from machidata.engine.query import TableQuery, ValidatedQuery
from machidata.engine.sandbox import DEFAULT_MEMORY_LIMIT, DEFAULT_THREADS, Sandbox, open_sandbox

DEFAULT_MAX_ROWS = 10_000


@dataclass(frozen=True, slots=True)
class QueryResult:
    """Rows of one page as Arrow, the number of rows matching the filters, and whether a cap cut the page."""

    table: pa.Table
    total: int
    truncated: bool
    offset: int

    @property
    def columns(self) -> list[str]:
        """Column names of the returned page."""
        return list(self.table.column_names)


def run_query(
    files: Sequence[str],
    query: TableQuery,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    timeout_s: float = 30,
    threads: int = DEFAULT_THREADS,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    schema: pa.Schema | None = None,
) -> QueryResult:
    """Run ``query`` over ``files`` (already access-checked) and return one page, capped at ``max_rows``.

    The query is validated against the files' own schema (``schema`` is used only when there are no
    files, i.e. an empty version). ``truncated`` is true when the page holds fewer rows than were
    asked for and exist, because of ``max_rows``. For an aggregate query (``group_by``/``measures``)
    the rows are groups and ``total`` is the number of groups (after ``top_n``), counted by a window
    over the groups in the same statement, so the data files are scanned once.
    """
    if max_rows < 1:
        raise EngineQueryError("取得できる最大件数は1以上で指定してください。")
    with open_sandbox(
        files, schema=schema, threads=threads, memory_limit=memory_limit, timeout_s=timeout_s
    ) as sb:
        checked = query.validate_against(sb.table.schema().to_pyarrow())
        limit = max_rows if checked.limit is None else min(checked.limit, max_rows)
        if checked.is_aggregate:
            table, total = _run_aggregate(sb, checked, limit=limit)
        else:
            total = _count(sb, checked)
            table = compile_query(sb.table, checked, limit=limit).to_pyarrow()
    wanted = max(total - checked.offset, 0)
    if checked.limit is not None:
        wanted = min(wanted, checked.limit)
    return QueryResult(table=table, total=total, truncated=table.num_rows < wanted, offset=checked.offset)


def _count(sb: Sandbox, checked: ValidatedQuery) -> int:
    """Number of rows matching the filters, before paging."""
    return int(filtered(sb.table, checked).count().to_pyarrow().as_py())


TOTAL_COLUMN = "__total"


def _run_aggregate(sb: Sandbox, checked: ValidatedQuery, *, limit: int) -> tuple[pa.Table, int]:
    """One page of groups and the number of groups, from one statement (a window count rides along)."""
    taken = {g.name for g in checked.groups} | {m.name for m in checked.measures}
    total_column = TOTAL_COLUMN
    while total_column in taken:  # an output may be called anything, even "__total"
        total_column += "_"
    grouped = apply_aggregation(filtered(sb.table, checked), checked)
    every = grouped[grouped.columns[0]].isnull().count().over(ibis.window())  # counts rows, blank keys too
    grouped = grouped.mutate(**{total_column: every})
    table = aggregated_page(grouped, checked, limit=limit, carry=(total_column,)).to_pyarrow()
    if table.num_rows:
        total = int(table.column(total_column)[0].as_py())
    else:
        total = 0 if checked.offset == 0 else _count_groups(sb, checked)
    return table.drop_columns([total_column]), total


def _count_groups(sb: Sandbox, checked: ValidatedQuery) -> int:
    """Number of groups, for a page past the end (rare: the window count came back with no rows)."""
    return int(apply_aggregation(filtered(sb.table, checked), checked).count().to_pyarrow().as_py())
