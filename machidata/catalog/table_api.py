"""/api/v1/datasets/{slug}/tables…: tables, 項目定義, versions, rows and downloads — a thin router over table_selectors."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, HttpRequest
from ninja import Query, Router

from machidata.access.auth import api_actor
from machidata.access.policy import Action
from machidata.catalog import table_selectors as ts
from machidata.catalog.schemas import ErrorOut
from machidata.catalog.table_schemas import (
    DownloadParams,
    RowsOut,
    RowsParams,
    TableOut,
    VersionOut,
    table_out,
    version_out,
)

router = Router(tags=["tables"])

_ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}


@router.get(
    "/{slug}/tables",
    response={200: list[TableOut], **_ERRORS},
    operation_id="table_list",
    summary="データセットの表の一覧",
)
def list_tables(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    """The tables of a dataset the caller may discover, each with its current version."""
    actor = api_actor(request)
    _, tables = ts.table_list(actor=actor, slug=slug)
    return [table_out(t, actor=actor) for t in tables]


@router.get(
    "/{slug}/tables/{name}",
    response={200: TableOut, **_ERRORS},
    operation_id="table_detail",
    summary="表の詳細（項目定義と現在の版）",
)
def get_table(request: HttpRequest, slug: str, name: str) -> dict[str, Any]:
    """One table with its 項目定義 and current version; metadata needs only the right to discover."""
    actor = api_actor(request)
    table = ts.table_get(actor=actor, slug=slug, name=name)
    return table_out(table, actor=actor, fields=ts.table_fields(table))


@router.get(
    "/{slug}/tables/{name}/versions",
    response={200: list[VersionOut], **_ERRORS},
    operation_id="table_versions",
    summary="表の更新履歴（版の一覧）",
)
def list_versions(request: HttpRequest, slug: str, name: str) -> list[dict[str, Any]]:
    """Every version, newest first; abandoned writes appear with status ``abandoned``."""
    actor = api_actor(request)
    table = ts.table_get(actor=actor, slug=slug, name=name)
    return [version_out(v) for v in ts.version_list(actor=actor, table=table)]


@router.get(
    "/{slug}/tables/{name}/rows",
    response={200: RowsOut, **_ERRORS},
    operation_id="table_rows",
    summary="表の行（絞り込み・並べ替え・ページ送り）",
)
def get_rows(request: HttpRequest, slug: str, name: str, params: Query[RowsParams]) -> dict[str, Any]:
    """Rows of a version: ``filter=列:条件:値`` (repeatable), ``sort=-列,列``, ``fields``, ``limit``, ``offset``."""
    actor = api_actor(request)
    table = ts.table_get(actor=actor, slug=slug, name=name, action=Action.READ)
    version = ts.version_get(actor=actor, table=table, number=params.version)
    fields = tuple(f.strip() for f in params.fields.split(",") if f.strip()) if params.fields else None
    query = ts.build_query(
        fields=fields,
        filters=[ts.parse_filter(f) for f in params.filter],
        sort=ts.parse_sort(params.sort or ""),
        limit=params.limit or ts.default_api_limit(),
        offset=params.offset,
    )
    page = ts.table_rows(actor=actor, table=table, version=version, query=query)
    return {
        "version": page.version.number if page.version is not None else None,
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
        "truncated": page.truncated,
        "fields": page.fields,
        "rows": page.rows,
    }


@router.get(
    "/{slug}/tables/{name}/download",
    response={200: None, **_ERRORS},
    operation_id="table_download",
    summary="版のダウンロード（CSV・XLSX・JSON・Parquet・GeoJSON）",
)
def download(request: HttpRequest, slug: str, name: str, params: Query[DownloadParams]) -> FileResponse:
    """The whole version as a file; access-checked (read) and recorded in the audit log."""
    actor = api_actor(request)
    table = ts.table_get(actor=actor, slug=slug, name=name, action=Action.READ)
    version = ts.version_get(actor=actor, table=table, number=params.version)
    result = ts.version_download(
        actor=actor, table=table, version=version, fmt=params.format, encoding=params.encoding
    )
    return result.response()
