"""JSON shapes of the table API (/api/v1/datasets/{slug}/tables…): tables, 項目定義, versions and rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema

from machidata.access.policy import Action, Actor, can
from machidata.catalog.models import Table, TableVersion


class FieldOut(Schema):
    """One column of the 項目定義: name, Japanese title, type (string/integer/number/…), unit, description."""

    name: str
    title: str
    type: str
    type_label: str
    unit: str
    description: str


class VersionOut(Schema):
    """One version (版) of a table."""

    number: int
    status: str
    mode: str
    rows: int | None
    bytes: int | None
    created_by: str
    created_at: dt.datetime
    committed_at: dt.datetime | None
    source_name: str
    note: str
    restored_from: int | None
    is_current: bool


class TableOut(Schema):
    """A table of a dataset with its current version (null while it has no data) and whether the caller may read it."""

    name: str
    title: str
    description: str
    dataset: str
    current_version: VersionOut | None
    can_read: bool
    fields: list[FieldOut] | None = None
    validation_policy: str | None = None


class RowField(Schema):
    """A column of a rows answer."""

    name: str
    type: str


class RowsOut(Schema):
    """One page of rows: values are JSON-safe (dates and times in ISO form, wall clock; decimals as numbers)."""

    version: int | None
    total: int
    limit: int
    offset: int
    truncated: bool
    fields: list[RowField]
    rows: list[dict[str, Any]]


class RowsParams(Schema):
    """Query parameters of the rows endpoint."""

    fields: str | None = Field(None, description="表示する列（カンマ区切り）")
    sort: str | None = Field(None, description="並べ替え（例: -人口,区。先頭の - は降順）")
    filter: list[str] = Field(
        default_factory=list, description="絞り込み 列:条件:値（繰り返し可。例: 区:eq:中央区）"
    )
    limit: int | None = Field(None, ge=1, description="件数（最大は MACHIDATA_ENGINE_MAX_ROWS）")
    offset: int = Field(0, ge=0)
    version: int | None = Field(None, ge=1, description="版の番号（省略時は現在の版）")


class DownloadParams(Schema):
    """Query parameters of the download endpoint."""

    format: str = Field("csv", description="csv・xlsx・json・parquet・geojson")
    encoding: str = Field("utf-8", description="CSV の文字コード: utf-8（BOM付き）か cp932")
    version: int | None = Field(None, ge=1, description="版の番号（省略時は現在の版）")


def version_out(row: Any) -> dict[str, Any]:
    """A version-list row (table_selectors.VersionRow) as JSON."""
    return {
        "number": row.number,
        "status": row.status,
        "mode": row.mode,
        "rows": row.rows,
        "bytes": row.bytes,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "committed_at": row.committed_at,
        "source_name": row.source_name,
        "note": row.note,
        "restored_from": row.restored_from,
        "is_current": row.is_current,
    }


def _current(version: TableVersion | None) -> dict[str, Any] | None:
    if version is None:
        return None
    user = version.created_by
    return {
        "number": version.number,
        "status": version.status,
        "mode": version.mode,
        "rows": version.rows,
        "bytes": version.bytes,
        "created_by": (user.get_full_name() or user.get_username()) if user is not None else "システム",
        "created_at": version.created_at,
        "committed_at": version.committed_at,
        "source_name": version.source_name,
        "note": version.note,
        "restored_from": version.restored_from.number if version.restored_from is not None else None,
        "is_current": True,
    }


def table_out(table: Table, *, actor: Actor, fields: list[Any] | None = None) -> dict[str, Any]:
    """A table as JSON (``fields`` from table_selectors.table_fields for the detail answer)."""
    body: dict[str, Any] = {
        "name": table.name,
        "title": table.title,
        "description": table.description,
        "dataset": table.dataset.slug,
        "current_version": _current(table.current_version),
        "can_read": can(actor, Action.READ, table.dataset),
    }
    if fields is not None:
        body["fields"] = [f.as_dict() for f in fields]
        body["validation_policy"] = table.validation_policy
    return body
