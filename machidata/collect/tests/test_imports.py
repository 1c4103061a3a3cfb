"""Scheduled imports from a folder: new files become versions, failures are told once and never stop the others."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from machidata.catalog.models import Table
from machidata.collect.imports import import_source_create, import_source_scan, import_sources_scan_all
from machidata.collect.models import ImportedFile, ImportedFileStatus, ImportSource
from machidata.collect.tests.conftest import as_actor, table_rows
from machidata.core.errors import InvalidInput, PermissionDenied
from machidata.core.testing import Actors
from machidata.jobs.runner import PERIODIC
from machidata.notify.models import Notification

pytestmark = pytest.mark.django_db(transaction=True)
GOOD = "日付,区分,利用者数,備考\n2025-05-01,午前,4,\n2025-05-01,午後,6,\n2025-05-02,午前,1,\n"
BAD = "日付,区分,利用者数,備考\n2025-05-03,午前,-4,\n"


@pytest.fixture
def share(settings: Any, tmp_path: Path) -> Path:
    root = tmp_path / "share"
    (root / "kenkou" / "riyousha").mkdir(parents=True)
    settings.MACHIDATA_IMPORT_ROOT = str(root)
    return root / "kenkou" / "riyousha"


def put(folder: Path, name: str, text: str, *, age: float = 600) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    old = time.time() - age
    os.utime(path, (old, old))
    return path


def test_folder_must_be_inside_the_root_and_exist(actors: Actors, visitors: Table, share: Path) -> None:
    editor = as_actor(actors, "owner_editor")
    for folder in ("../etc", "/etc", "kenkou/../../x"):
        with pytest.raises(InvalidInput):
            import_source_create(actor=editor, table=visitors, folder=folder)
    with pytest.raises(InvalidInput, match="見つかりません"):
        import_source_create(actor=editor, table=visitors, folder="kenkou/nai")
    with pytest.raises(PermissionDenied):
        import_source_create(actor=as_actor(actors, "owner_viewer"), table=visitors, folder="kenkou/riyousha")
    source = import_source_create(actor=editor, table=visitors, folder="/kenkou/riyousha/")
    assert source.folder == "kenkou/riyousha"


def test_new_files_are_ingested_once_and_failures_told(actors: Actors, visitors: Table, share: Path) -> None:
    editor = as_actor(actors, "owner_editor")
    source = import_source_create(actor=editor, table=visitors, folder="kenkou/riyousha")
    before = table_rows(visitors).num_rows
    put(share, "2025-05a.csv", GOOD, age=900)
    put(share, "2025-05b.csv", BAD, age=800)
    put(share, "copying.csv", GOOD.replace("4", "5"), age=0)  # still being copied: next round
    put(share, "memo.txt", "メモ", age=900)  # not matching the pattern
    start = Notification.objects.count()
    result = import_source_scan(source=source)
    assert (result.ingested, result.failed, result.error) == (["2025-05a.csv"], ["2025-05b.csv"], "")
    assert table_rows(visitors).num_rows == before + 3
    failed = ImportedFile.objects.get(status=ImportedFileStatus.FAILED)
    assert "利用者数（最小値1件）" in failed.message
    told = Notification.objects.order_by("pk")[start:]
    assert {n.recipient_id for n in told} == {actors.users["owner_editor"].pk}
    assert all("2025-05b.csv" in n.message for n in told)
    again = import_source_scan(source=source)
    assert (again.ingested, again.failed) == ([], [])  # same contents: not retried
    assert Notification.objects.count() == start + len(told)


def test_missing_folder_is_told_once_and_others_go_on(actors: Actors, visitors: Table, share: Path) -> None:
    editor = as_actor(actors, "owner_editor")
    gone = share.parent / "gone"
    gone.mkdir()
    lost = import_source_create(actor=editor, table=visitors, folder="kenkou/gone")
    fine = import_source_create(actor=editor, table=visitors, folder="kenkou/riyousha")
    shutil.rmtree(gone)
    put(share, "a.csv", GOOD)
    start = Notification.objects.count()
    results = import_sources_scan_all()
    assert "見つかりません" in results[lost.pk].error
    assert results[fine.pk].ingested == ["a.csv"]
    assert Notification.objects.count() == start + 1
    import_sources_scan_all()
    assert Notification.objects.count() == start + 1  # told once while it stays missing
    gone.mkdir()
    import_sources_scan_all()
    assert ImportSource.objects.get(pk=lost.pk).last_error == ""


def test_schedules_are_registered() -> None:
    names = " ".join(PERIODIC)
    for task in ("scan_import_folders", "send_campaign_reminders", "send_freshness_reminders"):
        assert task in names


def test_schedules_api(actors: Actors, visitors: Table, share: Path) -> None:
    client = actors.client("owner_editor")
    created = client.post(
        "/api/v1/schedules/",
        {"table": "riyousha/visitors", "folder": "kenkou/riyousha"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content.decode()
    sid = created.json()["id"]
    put(share, "a.csv", GOOD)
    scanned = client.post(f"/api/v1/schedules/{sid}/scan")
    assert scanned.json() == {"ingested": ["a.csv"], "failed": [], "error": ""}
    detail = client.get(f"/api/v1/schedules/{sid}").json()
    assert [(f["name"], f["status"], f["rows"]) for f in detail["files"]] == [("a.csv", "ingested", 3)]
    assert [s["id"] for s in client.get("/api/v1/schedules/").json()] == [sid]
    assert actors.client("staff").get(f"/api/v1/schedules/{sid}").status_code == 404
    assert actors.client("staff").get("/api/v1/schedules/").json() == []
    outside = client.post(
        "/api/v1/schedules/",
        {"table": "riyousha/visitors", "folder": "../x"},
        content_type="application/json",
    )
    assert outside.status_code == 400
