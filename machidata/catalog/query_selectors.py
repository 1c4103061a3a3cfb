"""Run a TableQuery (rows, or groups and measures) over a table the actor may read: the read path of BI.

Charts, dashboards, KPIs and ``/api/v1/query`` call :func:`table_query`; it applies the access policy
(DISCOVER to know the table exists, READ to see its data: hidden and missing tables are the same
404) and hands the engine only the files of one committed version. The engine's limits apply: at
most ``MACHIDATA_ENGINE_MAX_ROWS`` rows (or groups) per answer, ``MACHIDATA_ENGINE_TIMEOUT_S`` per
query, the sandbox's threads and memory limit.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any, Final

import pyarrow as pa
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from machidata.access.policy import Action, Actor, can
from machidata.audit.services import audit_record
from machidata.catalog.models import Table, TableVersion
from machidata.catalog.table_selectors import (
    ID_COLUMN,
    RAW_SUFFIX,
    _engine_kwargs,
    _kind,
    _readable_version,
    _schema_fields,
    default_api_limit,
    jsonable,
    refuse_pseudonymised_export,
    table_get,
    version_get,
)
from machidata.core.errors import InvalidInput, NotFound
from machidata.engine import EngineError, Sort, TableQuery, run_query, table_arrow_stream, table_csv
from machidata.engine.query import Measure, group_default_name, measure_default_name
from machidata.lake.readers import version_read

QUERY_FORMATS: Final = ("json", "csv", "arrow")
CACHE_PREFIX: Final = "catalog:query:v1:"
CACHE_MAX_BYTES: Final = 2_000_000  # larger answers are recomputed rather than stored
ARROW_STREAM_TYPE: Final = "application/vnd.apache.arrow.stream"


@dataclass(frozen=True)
class QueryAnswer:
    """The result of one query: Arrow rows, the number of rows (or groups) in all, and paging."""

    table: Table
    version: TableVersion
    result: pa.Table
    total: int
    truncated: bool
    offset: int
    aggregate: bool
    cached: bool = False

    @property
    def columns(self) -> list[dict[str, str]]:
        """Output columns with their plain type (文字列, 整数, … as engine kinds)."""
        declared = _schema_fields(self.table)
        return [
            {"name": f.name, "type": _kind(f.name, str(f.type), declared.get(f.name, {}))}
            for f in self.result.schema
        ]

    def rows(self) -> list[list[Any]]:
        """Rows as JSON-safe lists in column order."""
        names = self.result.column_names
        return [[jsonable(r[n]) for n in names] for r in self.result.to_pylist()]


def table_for_query(
    *, actor: Actor, table_id: int | None = None, dataset: str | None = None, name: str | None = None
) -> Table:
    """The table a query names, by id or by dataset slug and table name; 404 when missing or hidden."""
    if table_id is not None:
        if dataset is not None or name is not None:
            raise InvalidInput("表は table_id か、dataset と table の組のどちらか一方で指定してください。")
        table = (
            Table.objects.select_related("current_version", "dataset", "dataset__owner")
            .filter(pk=table_id)
            .first()
        )
        if table is None or not can(actor, Action.DISCOVER, table.dataset):
            raise NotFound("表が見つかりません。")
        return table
    if not dataset or not name:
        raise InvalidInput("表を table_id か、dataset と table の組で指定してください。")
    return table_get(actor=actor, slug=dataset, name=name)


def _parse(query: TableQuery | dict[str, Any] | None) -> TableQuery:
    """A TableQuery from JSON-like data; shape errors become a Japanese InvalidInput naming the field."""
    if isinstance(query, TableQuery):
        return query
    try:
        return TableQuery.from_dict(query or {})
    except EngineError as exc:
        raise InvalidInput(exc.message, details={"query": exc.message}) from None


def table_query(
    *,
    actor: Actor,
    table: Table,
    query: TableQuery | dict[str, Any] | None,
    version: int | None = None,
    checked: dict[tuple[int, int | None], TableVersion] | None = None,
) -> QueryAnswer:
    """Run ``query`` over a version of ``table`` (READ; the current version unless ``version`` pins one).

    Row queries (no group_by/measures) get one page (the API's default page size when they name no
    limit) with ``_id`` appended to the sort, and leave out the ``__raw`` columns unless named;
    aggregate queries get every group up to ``MACHIDATA_ENGINE_MAX_ROWS``.

    ``checked``: versions this ``actor`` was already allowed to read in the same request, by (table,
    asked version) — a dashboard's charts mostly read one table, so its access is decided once per
    page, not twice per chart. Only a caller that keeps it for one actor and one request may pass it.
    """
    parsed = _parse(query)
    readable = checked.get((table.pk, version)) if checked is not None else None
    if readable is None:
        readable = _readable_version(actor, table, version_get(actor=actor, table=table, number=version))
        if readable is None:
            raise NotFound("この表にはまだデータがありません。")
        if checked is not None:
            checked[(table.pk, version)] = readable
    if readable.table_id == table.pk:
        readable.table = table  # the same row: version_read needs its folder, not another query
    read = version_read(readable)  # files and schema resolved once per committed version, not per query
    schema = read.schema
    if not parsed.is_aggregate:
        update: dict[str, Any] = {}
        if parsed.limit is None:
            update["limit"] = default_api_limit()
        if parsed.fields is None:
            update["fields"] = tuple(n for n in schema.names if not n.endswith(RAW_SUFFIX))
        if ID_COLUMN in schema.names and not any(s.column == ID_COLUMN for s in parsed.sort):
            update["sort"] = (*parsed.sort, Sort(column=ID_COLUMN))  # stable pages
        parsed = parsed.model_copy(update=update)
    max_rows = int(settings.MACHIDATA_ENGINE_MAX_ROWS)
    key = _cache_key(actor, table, readable, parsed, max_rows)
    hit = _cached(key)
    if hit is not None:
        result, total, truncated, offset = hit
        return QueryAnswer(
            table, readable, result, total, truncated, offset, parsed.is_aggregate, cached=True
        )
    try:
        answer = run_query(
            list(read.files),
            parsed,
            max_rows=max_rows,
            timeout_s=settings.MACHIDATA_ENGINE_TIMEOUT_S,
            schema=schema,
            **_engine_kwargs(),
        )
    except EngineError as exc:
        raise InvalidInput(exc.message, details={"query": exc.message}) from None
    _store(key, answer.table, answer.total, answer.truncated, answer.offset)
    return QueryAnswer(
        table=table,
        version=readable,
        result=answer.table,
        total=answer.total,
        truncated=answer.truncated,
        offset=answer.offset,
        aggregate=parsed.is_aggregate,
    )


def _cache_key(
    actor: Actor, table: Table, version: TableVersion, query: TableQuery, max_rows: int
) -> str | None:
    """The result-cache key: access context (the user), the version, the query and the row cap; None when off.

    The access decision is made before the cache is read, and the user is part of the key, so no
    one is ever answered from another's cached rows (issue 7, point 5).
    """
    if int(settings.MACHIDATA_QUERY_CACHE_SECONDS) <= 0:
        return None
    context = f"user:{actor.user_id}" if actor.user_id is not None else "anonymous"
    body = json.dumps(query.model_dump(mode="json", by_alias=True), sort_keys=True, ensure_ascii=False)
    # The table's storage key (a random id, never reused) as well as the version row, so a database
    # that was reset and reuses ids can never meet an old entry.
    where = f"{table.storage_key}:{version.number}:{version.pk}"
    digest = hashlib.sha256(f"{context}\n{where}\n{max_rows}\n{body}".encode()).hexdigest()
    return CACHE_PREFIX + digest


def _cached(key: str | None) -> tuple[pa.Table, int, bool, int] | None:
    """A cached answer (rows as an Arrow IPC stream, total, truncated, offset), if there is one."""
    if key is None:
        return None
    value = cache.get(key)
    if value is None:
        return None
    rows = pa.ipc.open_stream(io.BytesIO(value["arrow"])).read_all()
    return rows, int(value["total"]), bool(value["truncated"]), int(value["offset"])


def _store(key: str | None, rows: pa.Table, total: int, truncated: bool, offset: int) -> None:
    """Keep an answer for MACHIDATA_QUERY_CACHE_SECONDS unless the cache is off or the answer is large."""
    if key is None:
        return
    out = io.BytesIO()
    table_arrow_stream(rows, out)
    if out.tell() > CACHE_MAX_BYTES:
        return
    value = {"arrow": out.getvalue(), "total": total, "truncated": truncated, "offset": offset}
    cache.set(key, value, timeout=int(settings.MACHIDATA_QUERY_CACHE_SECONDS))


@dataclass(frozen=True)
class QueryFile:
    """A query answer serialised for download: bytes, a file name and a content type."""

    content: bytes
    filename: str
    content_type: str


def query_file(*, actor: Actor, answer: QueryAnswer, fmt: str) -> QueryFile:
    """The answer as CSV (UTF-8 with BOM, for Excel) or an Arrow IPC stream; audited as data.query_export."""
    if fmt not in ("csv", "arrow"):
        raise InvalidInput(f"形式「{fmt}」では書き出せません（json・csv・arrow）。")
    refuse_pseudonymised_export(
        actor=actor, table=answer.table, version=answer.version, fmt=fmt, action="data.query_export"
    )
    out = io.BytesIO()
    if fmt == "csv":
        table_csv(answer.result, out, encoding="utf-8-sig")
        content_type, ext = "text/csv; charset=utf-8", "csv"
    else:
        table_arrow_stream(answer.result, out)
        content_type, ext = ARROW_STREAM_TYPE, "arrows"
    table = answer.table
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="data.query_export",
            obj=answer.version,
            changes={
                "dataset": table.dataset.slug,
                "table": table.name,
                "version": answer.version.number,
                "format": fmt,
                "rows": answer.result.num_rows,
                "aggregate": answer.aggregate,
            },
        )
    filename = f"{table.dataset.slug}_{table.name}_v{answer.version.number}_query.{ext}"
    return QueryFile(content=out.getvalue(), filename=filename, content_type=content_type)


def default_group_name(column: str, grain: str | None) -> str:
    """The name the engine gives a group key written without ``as`` (for builders that show it)."""
    return group_default_name(column, grain)


def default_measure_name(measure: dict[str, Any]) -> str:
    """The name the engine gives a measure written without ``as``; a malformed measure is a Japanese error."""
    try:
        return measure_default_name(Measure.model_validate({k: v for k, v in measure.items() if k != "as"}))
    except ValueError as exc:
        raise InvalidInput("集計の指定が正しくありません。") from exc
