"""Scheduled-import API (/api/v1/schedules): folder, URL, CKAN and statistics imports into tables — list, create, get (with files), check now.

Signed-in staff only (401 otherwise); imports into tables the caller may not edit answer 404.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from machidata.access.auth import api_staff
from machidata.catalog.selectors import dataset_get
from machidata.collect import imports, selectors
from machidata.collect.followups import import_source_start
from machidata.collect.models import ImportSource
from machidata.collect.schemas import ScheduleIn, ScheduleOut, ScheduleScanOut
from machidata.core.errors import NotFound

router = Router(tags=["schedules"])


def _out(source: ImportSource, *, files: bool) -> dict[str, Any]:
    return {
        "id": source.pk,
        "table": f"{source.table.dataset.slug}/{source.table.name}",
        "kind": source.kind,
        "folder": source.folder,
        "pattern": source.pattern,
        "url": source.url,
        "ckan_dataset": source.ckan_dataset,
        "ckan_resource": source.ckan_resource,
        "mode": source.mode,
        "active": source.active,
        "last_checked_at": source.last_checked_at,
        "last_error": source.last_error,
        "files": [
            {
                "name": f.name,
                "status": f.status,
                "rows": f.rows,
                "version": f.version.number if f.version else None,
                "message": f.message,
                "created_at": f.created_at,
            }
            for f in (selectors.imported_files(source=source)[:200] if files else [])
        ],
    }


@router.get("/", response=list[ScheduleOut], summary="定期取り込みの一覧")
def list_schedules(request: HttpRequest) -> list[dict[str, Any]]:
    """Scheduled imports into tables the caller may edit (管理: all)."""
    return [_out(s, files=False) for s in selectors.import_sources(actor=api_staff(request))[:200]]


@router.post("/", response={201: ScheduleOut}, summary="定期取り込みを設定する")
def create_schedule(request: HttpRequest, payload: ScheduleIn) -> Status:
    """Feed a table the caller may edit from a folder under the import root, a URL, a CKAN portal or a statistics CSV."""
    actor = api_staff(request)
    slug, _, name = payload.table.partition("/")
    table = dataset_get(actor=actor, slug=slug).tables.filter(name=name).first()
    if table is None:
        raise NotFound(f"表「{payload.table}」が見つかりません。")
    source = import_source_start(
        actor=actor,
        table=table,
        kind=payload.kind,
        folder=payload.folder,
        pattern=payload.pattern,
        url=payload.url,
        ckan_dataset=payload.ckan_dataset,
        ckan_resource=payload.ckan_resource,
        mode=payload.mode,
        data_request=payload.data_request,
    )
    return Status(201, _out(selectors.import_source_get(actor=actor, pk=source.pk), files=True))


@router.get("/{int:schedule_id}", response=ScheduleOut, summary="定期取り込みと取り込んだファイル")
def get_schedule(request: HttpRequest, schedule_id: int) -> dict[str, Any]:
    """One folder import with the files it has seen (newest 200)."""
    return _out(selectors.import_source_get(actor=api_staff(request), pk=schedule_id), files=True)


@router.post("/{int:schedule_id}/scan", response=ScheduleScanOut, summary="今すぐフォルダを確認する")
def scan_schedule(request: HttpRequest, schedule_id: int) -> dict[str, Any]:
    """Check the folder (or fetch the address) now: the files ingested and failed, or the error."""
    actor = api_staff(request)
    source = selectors.import_source_get(actor=actor, pk=schedule_id)
    result = imports.import_source_scan_now(actor=actor, source=source)
    return {"ingested": result.ingested, "failed": result.failed, "error": result.error}
