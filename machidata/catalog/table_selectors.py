"""Reads of tables (表) and their versions (版): lists, 項目定義, rows, profiles and downloads.

This is the only module of the catalog that calls ``lake`` (file lists, schemas) and ``engine``
(queries, profiles, exports); views and API routers call these functions, which apply the access
policy first (DISCOVER for table metadata, READ for data). Hidden and missing tables both raise
:class:`NotFound`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Final

import pyarrow as pa
import pyarrow.dataset as pads
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import FileResponse

from machidata.access.policy import (
    PSEUDONYMISED_DOWNLOAD_REFUSED,
    Action,
    Actor,
    access_dataset,
    can,
    contract_refusal,
    expired_grant_refusal,
    may_download,
    restrict_related,
)
from machidata.audit.services import audit_record
from machidata.catalog.models import Dataset, Table, TableVersion, VersionStatus
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied
from machidata.engine import (
    EngineError,
    Filter,
    Sort,
    TableQuery,
    export,
    json_value,
    kind_of,
    profile_columns,
    run_query,
)
from machidata.engine.query import OP_LABELS
from machidata.lake.readers import arrow_schema, files_for, version_read

# Re-exported so views and routers can build queries without importing the engine themselves.
__all__ = [
    "DOWNLOAD_FORMATS",
    "Filter",
    "Sort",
    "TableQuery",
    "refuse_pseudonymised_export",
    "table_get",
    "table_list",
    "table_profile",
    "table_rows",
    "tables_for",
    "version_download",
    "version_get",
    "version_list",
]

ID_COLUMN: Final = "_id"
# Ingestion keeps the original text of normalised cells in `<name>__raw` columns (for audit and
# checking); pages and default API answers leave them out, a query that names them gets them.
RAW_SUFFIX: Final = "__raw"
PROFILE_CACHE_SECONDS: Final = 60 * 60 * 24 * 30  # versions never change; a month bounds the cache's size
PROFILE_LOCK_SECONDS: Final = 300  # longer than any profile takes; a crashed computation frees it then
PROFILE_WAIT_SECONDS: Final = 20  # how long a page waits for another request's computation
PROFILE_CACHE_PREFIX: Final = "catalog:profile:v3:"  # v3: distinct counts capped, exact on small versions
# Up to this many rows a profile counts distinct values exactly (a fraction of a second per column on
# two cores); above, DuckDB's estimate (a few % off, capped at the values present) keeps it fast.
EXACT_DISTINCT_ROWS: Final = 250_000

# Plain words for column types (項目定義), never Arrow/DuckDB jargon on a page.
KIND_WORDS: Final[dict[str, str]] = {
    "string": "文字列",
    "integer": "整数",
    "number": "小数",
    "boolean": "真偽（はい・いいえ）",
    "date": "日付",
    "datetime": "日時",
    "time": "時刻",
    "geometry": "地図上の形（GeoJSON）",
    "other": "その他",
}
# Frictionless types that name a geometry column (the GeoJSON reader of ingest/ declares one of these).
GEOMETRY_TYPES: Final = frozenset({"geojson", "geometry"})
GEOMETRY_NAMES: Final = frozenset({"geometry", "geom"})

# Operators offered in the simple 絞り込み form (the API accepts every engine operator).
SIMPLE_OPS: Final = ("eq", "ne", "contains", "starts_with", "gt", "ge", "lt", "le", "is_null", "not_null")


@dataclass(frozen=True)
class DownloadFormat:
    """One download format: its file extension, content type and label."""

    code: str
    ext: str
    content_type: str
    label: str


DOWNLOAD_FORMATS: Final[dict[str, DownloadFormat]] = {
    "csv": DownloadFormat("csv", "csv", "text/csv", "CSV"),
    "xlsx": DownloadFormat(
        "xlsx", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel（XLSX）"
    ),
    "json": DownloadFormat("json", "json", "application/json", "JSON"),
    "parquet": DownloadFormat("parquet", "parquet", "application/vnd.apache.parquet", "Parquet"),
    "geojson": DownloadFormat("geojson", "geojson", "application/geo+json", "GeoJSON（地図）"),
}
ENCODINGS: Final[dict[str, str]] = {
    "utf-8": "utf-8-sig",  # with BOM, so Excel shows Japanese
    "utf-8-sig": "utf-8-sig",
    "cp932": "cp932",
    "shift_jis": "cp932",
    "sjis": "cp932",
}
ENCODING_LABELS: Final[dict[str, str]] = {
    "utf-8": "UTF-8（BOM付き・Excel向け）",
    "cp932": "Shift_JIS（CP932）",
}


# ---- tables and versions ------------------------------------------------------------------------


def _tables(dataset: Dataset) -> Any:
    return Table.objects.filter(dataset=dataset).select_related(
        "current_version", "dataset", "dataset__owner"
    )


def table_get(*, actor: Actor, slug: str, name: str, action: Action = Action.DISCOVER) -> Table:
    """One table of a dataset for ``action``: 404 when either is missing or hidden, 403 when seen but not allowed."""
    dataset = access_dataset(actor, Action.DISCOVER, slug=slug)
    table = _tables(dataset).filter(name=name).first()
    if table is None:
        raise NotFound("表が見つかりません。")
    if action is not Action.DISCOVER and not can(actor, action, dataset):
        raise PermissionDenied(
            (expired_grant_refusal(actor, dataset) or _read_refusal(dataset))
            if action is Action.READ
            else "この操作を行う権限がありません。"
        )
    return table


def _read_refusal(dataset: Dataset) -> str:
    """The message staff get when they may see a table but not its data."""
    return (
        "この表のデータを見るには利用申請が必要です。"
        f"データ所有者（{dataset.owner.name}）に利用申請をしてください。"
    )


def read_refusal(dataset: Dataset) -> str:
    """Public twin of the refusal message, for pages that show metadata without data."""
    return _read_refusal(dataset)


def tables_for(*, actor: Actor, dataset: Dataset) -> list[Table]:
    """The tables of a dataset the actor may discover (with their current version), by name."""
    qs = restrict_related(_tables(dataset), actor, Action.DISCOVER, via="dataset")
    return list(qs.order_by("name"))


def table_list(*, actor: Actor, slug: str) -> tuple[Dataset, list[Table]]:
    """A dataset (DISCOVER) and its tables."""
    dataset = access_dataset(actor, Action.DISCOVER, slug=slug)
    return dataset, tables_for(actor=actor, dataset=dataset)


def version_get(*, actor: Actor, table: Table, number: int | None = None) -> TableVersion | None:
    """A committed version of a table (the current one when ``number`` is None; None if there is none yet)."""
    if not can(actor, Action.DISCOVER, table.dataset):
        raise NotFound("表が見つかりません。")
    if number is None:
        return table.current_version
    version = (
        TableVersion.objects.filter(table=table, number=number, status=VersionStatus.COMMITTED)
        .select_related("created_by", "table")
        .first()
    )
    if version is None:
        raise NotFound(f"第{number}版は見つかりません（取り消された版か、存在しない版です）。")
    return version


@dataclass(frozen=True)
class VersionRow:
    """One line of 更新履歴."""

    number: int
    status: str
    status_label: str
    mode: str
    mode_label: str
    rows: int | None
    bytes: int | None
    created_by: str
    created_at: dt.datetime
    committed_at: dt.datetime | None
    source_name: str
    note: str
    restored_from: int | None
    is_current: bool
    readability_score: int | None = None
    personal_columns: tuple[str, ...] = ()
    issues: int = 0
    purge: dict[str, Any] | None = None  # the tombstone of a purged version (what, when, who, which rule)

    @property
    def viewable(self) -> bool:
        """Only committed versions can be viewed, downloaded or restored."""
        return self.status == VersionStatus.COMMITTED


def version_list(*, actor: Actor, table: Table) -> list[VersionRow]:
    """更新履歴: every version of the table, newest first (abandoned ones shown as 中断)."""
    if not can(actor, Action.DISCOVER, table.dataset):
        raise NotFound("表が見つかりません。")
    versions = (
        TableVersion.objects.filter(table=table)
        .select_related("created_by", "restored_from")
        .order_by("-number")
    )
    labels = {
        VersionStatus.PENDING: "書き込み中",
        VersionStatus.COMMITTED: "確定",
        VersionStatus.ABANDONED: "中断",
        VersionStatus.PURGED: "消去済み",
    }
    out = []
    for v in versions:
        user = v.created_by
        who = (user.get_full_name() or user.get_username()) if user is not None else "システム"
        out.append(
            VersionRow(
                number=v.number,
                status=v.status,
                status_label=labels.get(VersionStatus(v.status), v.status),
                mode=v.mode,
                mode_label=v.get_mode_display(),
                rows=v.rows,
                bytes=v.bytes,
                created_by=who,
                created_at=v.created_at,
                committed_at=v.committed_at,
                source_name=v.source_name,
                note=v.note,
                restored_from=v.restored_from.number if v.restored_from is not None else None,
                is_current=v.pk == table.current_version_id,
                purge=(v.reports or {}).get("purge") if v.status == VersionStatus.PURGED else None,
                **_report_summary(
                    v.restored_from.reports
                    if v.restored_from is not None and not (v.reports or {}).get("readability")
                    else v.reports or {}
                ),
            )
        )
    return out


def _report_summary(reports: dict[str, Any]) -> dict[str, Any]:
    """The one-line figures of a version's reports for 更新履歴: score, flagged columns, validation issues."""
    score = (reports.get("readability") or {}).get("score")
    flags = (reports.get("screen") or {}).get("flags") or []
    return {
        "readability_score": int(score) if isinstance(score, int | float) else None,
        "personal_columns": tuple(dict.fromkeys(str(f.get("column", "")) for f in flags)),
        "issues": int((reports.get("validation") or {}).get("total") or 0),
    }


MAX_SHOWN_ISSUES: Final = 50


def version_reports(*, actor: Actor, table: Table, version: TableVersion | None) -> dict[str, Any] | None:
    """What ingestion found in a version's file (READ: the report quotes cells): personal-data flags,
    the machine-readability report, validation issues and staff's overrides; ``None`` for a version
    written without reports (a restore copies its source's reports; hand-written versions have none).
    """
    from machidata.ingest.labels import REASON_LABELS, TYPE_LABELS

    version = _readable_version(actor, table, version)
    source = version
    for _ in range(20):  # a restored version has the data, hence the findings, of the one it copies
        if source is None or source.restored_from_id is None or source.reports.get("readability"):
            break
        source = source.restored_from
    reports = (source.reports or {}) if source is not None else {}
    if not any(k in reports for k in ("screen", "readability", "validation")):
        return None
    validation = reports.get("validation") or {}
    overrides = reports.get("overrides") or {}
    override_lines = [
        f"列「{c}」: "
        + "、".join(
            (
                f"型={TYPE_LABELS.get(v, v)}"
                if k == "type"
                else f"{'単位' if k == 'unit' else '項目名'}={v or 'なし'}"
            )
            for k, v in props.items()
        )
        for c, props in (overrides.get("fields") or {}).items()
    ] + [f"記号「{m}」= {REASON_LABELS.get(r, r)}" for m, r in (overrides.get("missing") or {}).items()]
    return {
        "screen": reports.get("screen") or {"flags": []},
        "readability": reports.get("readability"),
        "validation": {
            "total": int(validation.get("total") or 0),
            "rows_checked": validation.get("rows_checked"),
            "issues": list(validation.get("issues") or [])[:MAX_SHOWN_ISSUES],
        },
        "overrides": override_lines,
        "from_number": source.number if source is not None and source is not version else None,
    }


# ---- 項目定義 ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldInfo:
    """One column as staff see it in 項目定義: name, Japanese title, plain type word, unit, description."""

    name: str
    title: str
    kind: str
    type_label: str
    unit: str
    description: str
    storage_type: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the API."""
        return {
            "name": self.name,
            "title": self.title,
            "type": self.kind,
            "type_label": self.type_label,
            "unit": self.unit,
            "description": self.description,
        }


def _schema_fields(table: Table) -> dict[str, dict[str, Any]]:
    fields = (table.schema or {}).get("fields") or []
    return {str(f.get("name")): f for f in fields if isinstance(f, dict) and f.get("name")}


def _kind(name: str, storage_type: str, declared: dict[str, Any]) -> str:
    dtype = str(declared.get("type") or "").lower()
    if dtype in GEOMETRY_TYPES or (
        name.lower() in GEOMETRY_NAMES and kind_of(storage_type or "string") == "string"
    ):
        return "geometry"
    if storage_type:
        return kind_of(storage_type)
    return kind_of(dtype) if dtype else "other"


# How each 項目定義 type is stored (the engine's kind of its Arrow type; see ingest.schema).
_STORED_AS: Final = {"string": "string", "integer": "integer", "year": "integer", "number": "number",
                     "boolean": "boolean", "date": "date", "datetime": "datetime", "time": "string",
                     "yearmonth": "string"}  # fmt: skip


def _type_label(kind: str, declared: dict[str, Any]) -> str:
    """The word staff see: the 項目定義's own type and kind when it has them (年度, 郵便番号), else the stored kind."""
    from machidata.ingest.labels import TYPE_LABELS, type_label

    dtype = str(declared.get("type") or "")
    # An earlier version may have stored the column with another type than today's 項目定義 says.
    if dtype in TYPE_LABELS and _STORED_AS.get(dtype) == kind:
        return type_label(dtype, (declared.get("machidata") or {}).get("kind"))
    return KIND_WORDS.get(kind, KIND_WORDS["other"])


def table_fields(table: Table, version: TableVersion | None = None) -> list[FieldInfo]:
    """The columns of a version (or of the table's 項目定義 when it has no data yet), `_id` left out."""
    declared = _schema_fields(table)
    version = version if version is not None else table.current_version
    stored = (version.schema or {}).get("fields") if version is not None else None
    names: list[tuple[str, str]]
    if stored:
        names = [(str(f["name"]), str(f.get("arrow_type") or f.get("type") or "")) for f in stored]
    else:
        names = [(n, "") for n in declared]
    out = []
    for name, storage_type in names:
        if name == ID_COLUMN or name.endswith(RAW_SUFFIX):
            continue
        d = declared.get(name, {})
        kind = _kind(name, storage_type, d)
        out.append(
            FieldInfo(
                name=name,
                title=str(d.get("title") or ""),
                kind=kind,
                type_label=_type_label(kind, d),
                unit=str(d.get("unit") or ""),
                description=str(d.get("description") or ""),
                storage_type=storage_type,
            )
        )
    return out


def geometry_column(table: Table, version: TableVersion | None = None) -> str | None:
    """The geometry column of a version, if it has one (then GeoJSON downloads are offered)."""
    for f in table_fields(table, version):
        if f.kind == "geometry":
            return f.name
    return None


# ---- rows -----------------------------------------------------------------------------------------


# One cell as JSON (naive dates/times as ISO wall-clock text, decimals as numbers): the engine's rule,
# so API rows and JSON downloads agree.
jsonable = json_value


def display(value: Any) -> str:  # noqa: PLR0911 - one branch per value type
    """One cell as text for a page: dates as YYYY-MM-DD, times as wall clock (data times are naive Japanese time)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S" if value.second or value.microsecond else "%Y-%m-%d %H:%M")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:,.10g}" if math.isfinite(value) else ""
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Decimal):
        return f"{value:,}"
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


@dataclass
class RowsPage:
    """One page of rows: JSON-safe values, the total matching the filters, paging and the columns."""

    fields: list[dict[str, str]]
    rows: list[dict[str, Any]]
    raw: list[dict[str, Any]]
    total: int
    limit: int
    offset: int
    truncated: bool
    version: TableVersion | None = None
    columns: list[str] = field(default_factory=list)

    def display_rows(self, plain_columns: frozenset[str] | set[str] = frozenset()) -> list[list[str]]:
        """Rows as lists of display text in column order (for the preview table); codes as plain digits."""
        show = [(c, _digits if c in plain_columns else display) for c in self.columns]
        return [[fn(r.get(c)) if r.get(c) is not None else "" for c, fn in show] for r in self.raw]


def _with_stable_order(query: TableQuery) -> TableQuery:
    """Always end the sort with `_id` so paging is stable (ties would otherwise shuffle between pages)."""
    if any(s.column == ID_COLUMN for s in query.sort):
        return query
    return query.model_copy(update={"sort": (*query.sort, Sort(column=ID_COLUMN))})


def _engine_kwargs() -> dict[str, Any]:
    return {
        "threads": settings.MACHIDATA_ENGINE_THREADS,
        "memory_limit": settings.MACHIDATA_ENGINE_MEMORY_LIMIT,
    }


def _readable_version(actor: Actor, table: Table, version: TableVersion | None) -> TableVersion | None:
    if not can(actor, Action.READ, table.dataset):
        if can(actor, Action.DISCOVER, table.dataset):  # an ended 利用申請 grant says so (audited)
            raise PermissionDenied(
                expired_grant_refusal(actor, table.dataset) or _read_refusal(table.dataset)
            )
        raise NotFound("表が見つかりません。")
    if version is None:
        return table.current_version
    if version.table_id != table.pk or version.status != VersionStatus.COMMITTED:
        raise NotFound("この版は見つかりません。")
    return version


def table_rows(
    *, actor: Actor, table: Table, version: TableVersion | None = None, query: TableQuery | None = None
) -> RowsPage:
    """A page of a version's rows (READ), sorted with `_id` last, capped by MACHIDATA_ENGINE_MAX_ROWS."""
    query = query or TableQuery()
    max_rows = int(settings.MACHIDATA_ENGINE_MAX_ROWS)
    asked = query.limit or int(settings.MACHIDATA_PAGE_SIZE)
    limit = min(asked, max_rows)  # the engine cuts at max_rows and reports it as truncated
    query = _with_stable_order(query.model_copy(update={"limit": asked}))
    version = _readable_version(actor, table, version)
    if version is None:
        return RowsPage(
            fields=[], rows=[], raw=[], total=0, limit=limit, offset=query.offset, truncated=False
        )
    read = version_read(version)  # the files and schema, resolved once per committed version
    schema = read.schema
    if query.fields is None:
        query = query.model_copy(
            update={"fields": tuple(n for n in schema.names if not n.endswith(RAW_SUFFIX))}
        )
    try:
        result = run_query(
            read.files,
            query,
            max_rows=max_rows,
            timeout_s=settings.MACHIDATA_ENGINE_TIMEOUT_S,
            schema=schema,
            **_engine_kwargs(),
        )
    except EngineError as exc:
        raise InvalidInput(exc.message) from None
    raw = result.table.to_pylist()
    fields = [
        {"name": f.name, "type": _kind(f.name, str(f.type), _schema_fields(table).get(f.name, {}))}
        for f in result.table.schema
    ]
    return RowsPage(
        fields=fields,
        rows=[{k: jsonable(v) for k, v in r.items()} for r in raw],
        raw=raw,
        total=result.total,
        limit=limit,
        offset=result.offset,
        truncated=result.truncated,
        version=version,
        columns=list(result.table.column_names),
    )


def build_query(
    *,
    fields: tuple[str, ...] | None = None,
    filters: Sequence[Filter] = (),
    sort: Sequence[Sort] = (),
    limit: int | None = None,
    offset: int = 0,
) -> TableQuery:
    """A TableQuery from parsed parts; shape errors become a Japanese InvalidInput."""
    try:
        return TableQuery(fields=fields, filters=tuple(filters), sort=tuple(sort), limit=limit, offset=offset)
    except ValueError as exc:
        raise InvalidInput("問い合わせの形式が正しくありません。") from exc


def default_api_limit() -> int:
    """Rows an API call returns when it names no limit (one page)."""
    return min(100, int(settings.MACHIDATA_ENGINE_MAX_ROWS))


def parse_filter(text: str) -> Filter:
    """Parse ``列:op:value`` (API and page query strings); ``in`` takes comma-separated values, ``range`` ``min..max``."""
    parts = text.split(":", 2)
    if len(parts) < 2 or not parts[0]:
        raise InvalidInput(f"条件「{text}」は「列:条件:値」の形で指定してください（例: 区:eq:中央区）。")
    column, op = parts[0], parts[1]
    value = parts[2] if len(parts) > 2 else None
    if op not in OP_LABELS:
        raise InvalidInput(f"条件「{op}」は使えません（使える条件: {'・'.join(OP_LABELS)}）。")
    try:
        if op in ("is_null", "not_null"):
            return Filter(column=column, op=op)  # type: ignore[arg-type]
        if value is None:
            raise InvalidInput(f"列「{column}」の条件に値を指定してください。")
        if op in ("in", "not_in"):
            return Filter(column=column, op=op, values=tuple(v for v in value.split(",")))  # type: ignore[arg-type]
        if op == "range":
            lo, sep, hi = value.partition("..")
            if not sep:
                raise InvalidInput(f"列「{column}」の範囲は「下限..上限」の形で指定してください。")
            return Filter(column=column, op="range", min=lo or None, max=hi or None)
        return Filter(column=column, op=op, value=value)  # type: ignore[arg-type]
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise InvalidInput(f"条件「{text}」を読み取れません。") from exc


def parse_sort(text: str) -> tuple[Sort, ...]:
    """Parse ``-人口,区`` (a leading minus sorts descending)."""
    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        desc = part.startswith("-")
        out.append(Sort(column=part[1:] if desc else part, direction="desc" if desc else "asc"))
    return tuple(out)


def op_choices() -> list[tuple[str, str]]:
    """The operators of the simple 絞り込み form, with their Japanese labels."""
    return [(op, OP_LABELS[op]) for op in SIMPLE_OPS]


# ---- profile ---------------------------------------------------------------------------------------


def _profile_key(version: TableVersion) -> str:
    return f"{PROFILE_CACHE_PREFIX}{version.pk}"


def _compute_profile(version: TableVersion) -> list[dict[str, Any]]:
    shown = [n for n in arrow_schema(version).names if n != ID_COLUMN and not n.endswith(RAW_SUFFIX)]
    try:
        profiles = profile_columns(
            files_for(version),
            shown,
            timeout_s=max(settings.MACHIDATA_ENGINE_TIMEOUT_S, 60),
            exact_distinct=(version.rows or 0) <= EXACT_DISTINCT_ROWS,
            **_engine_kwargs(),
        )
    except EngineError as exc:
        raise InvalidInput(exc.message) from None
    out = []
    for p in profiles.values():
        if p.name == ID_COLUMN:
            continue
        hist = None
        if p.histogram is not None:
            hist = [
                {"start": jsonable(b.start), "end": jsonable(b.end), "count": b.count} for b in p.histogram
            ]
        out.append(
            {
                "name": p.name,
                "kind": p.kind,
                "rows": p.rows,
                "nulls": p.nulls,
                "distinct": p.distinct,
                "distinct_exact": p.distinct_exact,
                "min": jsonable(p.min),
                "max": jsonable(p.max),
                "top": [[jsonable(v), n] for v, n in p.top],
                "histogram": hist,
            }
        )
    return out


def table_profile(*, actor: Actor, table: Table, version: TableVersion | None = None) -> list[dict[str, Any]]:
    """Column profiles of a version (READ): computed once per version, then served from the shared cache."""
    version = _readable_version(actor, table, version)
    if version is None or not version.rows:
        return []
    key = _profile_key(version)
    cached = cache.get(key)
    if cached is not None:
        return list(cached)
    # One computation per version at a time across all server processes (the cache is the shared
    # database): a wide table's profile costs seconds, and a popular new version would otherwise be
    # computed by every visitor at once (seen in the load benchmark). Others wait for its result.
    lock = f"{key}:computing"
    if not cache.add(lock, 1, PROFILE_LOCK_SECONDS):
        deadline = time.monotonic() + PROFILE_WAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.2)
            cached = cache.get(key)
            if cached is not None:
                return list(cached)
        raise InvalidInput("列ごとの概要を計算しています。しばらくしてからページを再読み込みしてください。")
    try:
        profile = _compute_profile(version)
        cache.set(key, profile, PROFILE_CACHE_SECONDS)
    finally:
        cache.delete(lock)
    return profile


def _bin_label(b: dict[str, Any], kind: str, as_text: Any) -> str:
    """``1001 ～ 1020`` for whole-number bins (both ends included), ``start ～ end`` otherwise."""
    start, end = b["start"], b["end"]
    if kind == "integer" and isinstance(start, int | float) and isinstance(end, int | float):
        first, last = int(start), int(end) - 1  # integer bins are [start, end) with whole edges
        return as_text(first) if last <= first else f"{as_text(first)} ～ {as_text(last)}"
    return f"{as_text(start)} ～ {as_text(end)}"


def profile_for_display(
    profile: list[dict[str, Any]],
    *,
    plain_columns: frozenset[str] | set[str] = frozenset(),
    type_labels: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Profiles with display text and histogram shares (0–100) for bars drawn with <meter>.

    ``plain_columns``: number columns that are codes or years (受付番号, 年度): digits without
    thousands separators (see :func:`plain_number_columns`).
    """
    out = []
    for p in profile:
        plain = p["name"] in plain_columns
        as_text = _digits if plain else _plain
        hist = p.get("histogram") or []
        peak = max((b["count"] for b in hist), default=0)
        bins = [
            {
                **b,
                "label": _bin_label(b, p["kind"], as_text),
                "share": round(100 * b["count"] / peak) if peak else 0,
            }
            for b in hist
        ]
        rows = p["rows"] or 0
        top_peak = max((n for _, n in p.get("top") or []), default=0)
        out.append(
            {
                **p,
                "type_label": (type_labels or {}).get(p["name"])
                or KIND_WORDS.get(p["kind"], KIND_WORDS["other"]),
                "min_text": as_text(p.get("min")),
                "max_text": as_text(p.get("max")),
                "distinct_text": _distinct_text(p),
                "null_share": f"{100 * p['nulls'] / rows:.1f}" if rows else "0",
                "bins": bins,
                "top_rows": [
                    {
                        "value": as_text(v) if v is not None else "（空欄）",
                        "count": n,
                        "share": round(100 * n / top_peak) if top_peak else 0,
                    }
                    for v, n in p.get("top") or []
                ],
            }
        )
    return out


def _distinct_text(p: dict[str, Any]) -> str:
    if p.get("distinct") is None:
        return "—"
    text = f"{p['distinct']:,}"
    # Cached profiles from before the cap have no flag: they were approximate.
    return text if p.get("distinct_exact", False) else f"約 {text}"


def _digits(value: Any) -> str:
    """A code or year as written: 20240001, not 20,240,001 nor 2.024e+07."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _plain(value)


# Column titles that name a code, a number used as a label or a year: shown as plain digits.
_CODE_TITLE = re.compile(r"番号|コード|ＩＤ|№|年度|西暦|^年$|(?<![A-Za-z])(?:ID|Id|id|No|NO|code|CODE)\.?$")
_CODE_KINDS: Final = frozenset({"fiscal_year", "lg_code", "postal_code", "phone"})


def plain_number_columns(table: Table, version: TableVersion | None = None) -> frozenset[str]:
    """Integer columns that are identifiers or years (受付番号, 郵便番号, 団体コード, 年度, 西暦): never 1,001."""
    declared = _schema_fields(table)
    out = set()
    for f in table_fields(table, version):
        d = declared.get(f.name, {})
        kind = (d.get("machidata") or {}).get("kind")
        if f.kind != "integer":
            continue
        if (
            d.get("type") == "year"
            or kind in _CODE_KINDS
            or _CODE_TITLE.search(f.name)
            or _CODE_TITLE.search(f.title)
        ):
            out.add(f.name)
    return frozenset(out)


def _plain(value: Any) -> str:
    """A JSON-ish profile value as short display text (ISO datetimes shown with a space)."""
    if value is None:
        return ""
    if isinstance(value, str) and value[10:11] == "T" and value[:4].isdigit():
        text = value.replace("T", " ")[:19]
        return text[:16] if text.endswith(":00") else text
    if isinstance(value, float):
        return f"{value:,.6g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


# ---- downloads -------------------------------------------------------------------------------------


@dataclass
class Download:
    """A finished export: an open (anonymous) temporary file to stream, its name, type and row count."""

    file: IO[bytes]
    filename: str
    content_type: str
    rows: int
    size: int

    def response(self) -> FileResponse:
        """A streaming attachment response (the temporary file is closed when sent)."""
        response = FileResponse(
            self.file, as_attachment=True, filename=self.filename, content_type=self.content_type
        )
        response["Content-Length"] = str(self.size)
        response["X-Content-Type-Options"] = "nosniff"
        return response


def download_dir() -> Path:
    """Where exports are written before streaming (MACHIDATA_HOME/tmp/downloads)."""
    path = Path(settings.MACHIDATA_HOME) / "tmp" / "downloads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _xlsx_note(table: Table, version: TableVersion) -> str:
    when = (
        version.committed_at.astimezone(dt.timezone(dt.timedelta(hours=9))) if version.committed_at else None
    )
    parts = [
        f"出典: {table.dataset.title}（データ所有者: {table.dataset.owner.name}）",
        f"表: {table.title}　第{version.number}版" + (f"（{when:%Y年%m月%d日 %H:%M} 更新）" if when else ""),
    ]
    if version.source_name:
        parts.append(f"元ファイル: {version.source_name}")
    return "　".join(parts)


def _geojson_features(files: Sequence[str], schema: pa.Schema, geom: str) -> Iterator[dict[str, Any]]:
    """Features of a version, ordered by `_id`, one per row (the geometry column parsed as GeoJSON)."""
    data = pads.dataset(list(files), format="parquet", schema=schema)
    # Rows are written in `_id` order and files listed in commit order; sort within each batch is enough
    # for a single-file version and keeps memory bounded for large ones.
    for batch in data.to_batches():
        for record in batch.to_pylist():
            raw = record.pop(geom, None)
            geometry = None
            if isinstance(raw, str) and raw.strip():
                try:
                    geometry = json.loads(raw)
                except ValueError:
                    geometry = None
            feature: dict[str, Any] = {"type": "Feature"}
            if ID_COLUMN in record:
                feature["id"] = record.pop(ID_COLUMN)
            feature["geometry"] = geometry
            feature["properties"] = {k: jsonable(v) for k, v in record.items()}
            yield feature


def _write_geojson(files: Sequence[str], schema: pa.Schema, geom: str, out: IO[bytes]) -> int:
    rows = 0
    out.write(b'{"type":"FeatureCollection","features":[')
    for feature in _geojson_features(files, schema, geom):
        out.write(b",\n" if rows else b"\n")
        out.write(json.dumps(feature, ensure_ascii=False, allow_nan=False).encode("utf-8"))
        rows += 1
    out.write(b"\n]}\n")
    return rows


def refuse_pseudonymised_export(
    *, actor: Actor, table: Table, version: TableVersion, fmt: str, action: str
) -> None:
    """仮名加工情報 never leaves as a file, nor data whose contract forbids it to the actor now
    (``policy.contract_refusal``): audit the attempt (``data.export_refused``) and refuse it."""
    contract = contract_refusal(actor, table.dataset) if may_download(table.dataset) else ""
    if may_download(table.dataset) and not contract:
        return
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="data.export_refused",
            obj=version,
            changes={
                "dataset": table.dataset.slug,
                "table": table.name,
                "version": version.number,
                "format": fmt,
                "attempted": action,
                "reason": "contract" if contract else "pseudonymised",
            },
        )
    raise PermissionDenied(contract or PSEUDONYMISED_DOWNLOAD_REFUSED)


def version_download(
    *,
    actor: Actor,
    table: Table,
    version: TableVersion | None = None,
    fmt: str = "csv",
    encoding: str = "utf-8",
) -> Download:
    """Export a whole version (READ) as CSV/XLSX/JSON/Parquet/GeoJSON to a temporary file; audited as data.download."""
    spec = DOWNLOAD_FORMATS.get(fmt)
    if spec is None:
        raise InvalidInput(f"形式「{fmt}」ではダウンロードできません（csv・xlsx・json・parquet・geojson）。")
    codec = ENCODINGS.get(encoding.lower())
    if codec is None:
        raise InvalidInput(f"文字コード「{encoding}」は使えません（utf-8 か cp932）。")
    version = _readable_version(actor, table, version)
    if version is None:
        raise NotFound("この表にはまだデータがありません。")
    refuse_pseudonymised_export(actor=actor, table=table, version=version, fmt=fmt, action="data.download")
    geom = geometry_column(table, version) if fmt == "geojson" else None
    if fmt == "geojson" and geom is None:
        raise InvalidInput(
            "この表には地図上の形（geometry）の列がないため、GeoJSON ではダウンロードできません。"
        )
    files = files_for(version)
    schema = arrow_schema(version)
    out = tempfile.TemporaryFile(dir=download_dir())  # noqa: SIM115 - handed to the response, which closes it
    replaced = 0
    try:
        if geom is not None:
            rows = _write_geojson(files, schema, geom, out)
        else:
            result = export(
                files,
                TableQuery(sort=(Sort(column=ID_COLUMN),)),
                fmt,  # type: ignore[arg-type]
                out,
                encoding=codec,  # type: ignore[arg-type]
                note=_xlsx_note(table, version) if fmt == "xlsx" else None,
                timeout_s=settings.MACHIDATA_EXPORT_TIMEOUT_S,
                schema=schema,
                **_engine_kwargs(),
            )
            rows, replaced = result.rows, result.replaced_characters
        size = out.tell()
        out.seek(0)
        with transaction.atomic():
            audit_record(
                actor=actor,
                action="data.download",
                obj=version,
                changes={
                    "dataset": table.dataset.slug,
                    "table": table.name,
                    "version": version.number,
                    "format": fmt,
                    "encoding": codec if fmt == "csv" else "",
                    "rows": rows,
                    "replaced_characters": replaced,
                },
            )
    except EngineError as exc:
        out.close()
        raise InvalidInput(exc.message) from None
    except BaseException:
        out.close()
        raise
    suffix = "_sjis" if fmt == "csv" and codec == "cp932" else ""
    filename = f"{table.dataset.slug}_{table.name}_v{version.number}{suffix}.{spec.ext}"
    content_type = spec.content_type
    if fmt == "csv":
        content_type += "; charset=" + ("Shift_JIS" if codec == "cp932" else "utf-8")
    return Download(file=out, filename=filename, content_type=content_type, rows=rows, size=size)


def table_certification(table: Table) -> Any | None:
    """The recipe whose certificate makes ``table`` 認定データ, or None.

    Read through the reverse relation the prep room declares (``Recipe.output_table``), so the
    catalog shows the badge without importing the room above it.
    """
    recipes = getattr(table, "recipes", None)
    if recipes is None:
        return None
    return recipes.filter(certified_at__isnull=False).select_related("certified_by").first()
