"""Scheduled imports from a folder: new files in a folder under ``MACHIDATA_IMPORT_ROOT`` become versions of a table.

Every 15 minutes (``jobs.scan_import_folders``) each active :class:`ImportSource` is checked: files
matching its pattern that have not been seen (by SHA-256) and have not changed for ``SETTLE_SECONDS``
(a file still being copied is left for the next round) are ingested oldest first through
``ingest.services.ingest_file`` — the normal path, with its validation and the table's policy — acting
as the person who set the import up (their *edit* right is checked at every file). A file that fails
is recorded with the reason and not retried until its content changes; its failure, and a folder that
has disappeared, are told to that person and the owning 課's 編集 members (a missing folder once, until
it is back). One import failing never stops the others.
"""

from __future__ import annotations

import fnmatch
import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Final

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from machidata.access.models import Membership, Role
from machidata.access.policy import Action, Actor, actor_for, can, unit_scope
from machidata.audit.services import audit_record
from machidata.catalog.models import Table, TableVersion
from machidata.collect.models import ImportedFile, ImportedFileStatus, ImportKind, ImportMode, ImportSource
from machidata.core.errors import InvalidInput, MachidataError, NotFound, PermissionDenied
from machidata.notify.services import notify

logger = logging.getLogger("machidata.collect")
SETTLE_SECONDS: Final = 60  # a file modified more recently may still be being copied
SCAN_LOCK_SECONDS: Final = 3600  # longer than any check takes; a crashed check frees its import then


def import_root() -> Path:
    """The folder scheduled imports may read under (``MACHIDATA_IMPORT_ROOT``, default ``MACHIDATA_HOME/imports``)."""
    configured = getattr(settings, "MACHIDATA_IMPORT_ROOT", "")
    return Path(configured or Path(settings.MACHIDATA_HOME) / "imports").resolve()


def _folder_path(folder: str) -> Path:
    """The absolute folder of a relative one, refusing anything that leaves the import root."""
    text = (folder or "").strip().strip("/").replace("\\", "/")
    parts = PurePosixPath(text).parts
    if not text or any(p in {"..", "."} for p in parts) or text.startswith("~"):
        raise InvalidInput(
            "フォルダは、取り込み用フォルダの中の場所を「kenkou/riyousha」のように書いてください（「..」は使えません）。",
            details={"folder": ["取り込み用フォルダの中の場所を書いてください。"]},
        )
    root = import_root()
    path = (root / text).resolve()
    if root != path and root not in path.parents:
        raise InvalidInput(
            "取り込み用フォルダの外は指定できません。", details={"folder": ["取り込み用フォルダの外です。"]}
        )
    return path


def import_source_create(
    *, actor: Actor, table: Table, folder: str, pattern: str = "*.csv", mode: str = ImportMode.APPEND
) -> ImportSource:
    """Feed ``table`` from a folder (EDIT on its dataset); the folder must exist under the import root."""
    if not can(actor, Action.DISCOVER, table.dataset):
        raise NotFound("表が見つかりません。")
    if not can(actor, Action.EDIT, table.dataset):
        raise PermissionDenied(
            "定期取り込みを設定できるのは、この表のデータ所有者（所管課）の編集担当者だけです。"
        )
    pattern = (pattern or "").strip() or "*.csv"
    if "/" in pattern or "\\" in pattern or len(pattern) > 100:
        raise InvalidInput(
            "ファイル名のパターンは「*.csv」のように、フォルダを含めずに書いてください。",
            details={"pattern": ["フォルダを含められません。"]},
        )
    if mode not in ImportMode.values:
        raise InvalidInput(
            "取り込み方法は「追加」か「置き換え」を選んでください。", details={"mode": ["選べない値です。"]}
        )
    path = _folder_path(folder)
    if not path.is_dir():
        raise InvalidInput(
            f"フォルダ「{folder}」が見つかりません。先にフォルダを作ってください。",
            details={"folder": ["フォルダが見つかりません。"]},
        )
    relative = str(path.relative_to(import_root()))
    with transaction.atomic():
        source = ImportSource.objects.create(
            table=table, folder=relative, pattern=pattern, mode=mode, created_by_id=actor.user_id
        )
        audit_record(
            actor=actor,
            action="collect.import_create",
            obj=source,
            changes={
                "table": f"{table.dataset.slug}/{table.name}",
                "folder": relative,
                "pattern": pattern,
                "mode": mode,
            },
        )
    return source


def import_source_create_remote(
    *,
    actor: Actor,
    table: Table,
    kind: str,
    url: str,
    ckan_dataset: str = "",
    ckan_resource: str = "",
    mode: str = ImportMode.REPLACE,
) -> ImportSource:
    """Feed ``table`` from a URL, a CKAN portal's resource or a statistics CSV (EDIT on its dataset).

    The address must be on a host of ``MACHIDATA_IMPORT_URL_HOSTS`` (refused otherwise, in Japanese).
    """
    from machidata.collect.remote import check_url

    if not can(actor, Action.DISCOVER, table.dataset):
        raise NotFound("表が見つかりません。")
    if not can(actor, Action.EDIT, table.dataset):
        raise PermissionDenied(
            "定期取り込みを設定できるのは、この表のデータ所有者（所管課）の編集担当者だけです。"
        )
    if kind not in {ImportKind.URL, ImportKind.CKAN, ImportKind.ESTAT}:
        raise InvalidInput(
            "取り込み元は「庁内のURL」「他のCKANポータル」「統計表」から選んでください。",
            details={"kind": ["選べない値です。"]},
        )
    if mode not in ImportMode.values:
        raise InvalidInput(
            "取り込み方法は「追加」か「置き換え」を選んでください。", details={"mode": ["選べない値です。"]}
        )
    url = check_url(url)
    ckan_dataset, ckan_resource = (ckan_dataset or "").strip(), (ckan_resource or "").strip()
    if kind == ImportKind.CKAN:
        problems = {
            **({"ckan_dataset": ["データセットIDを書いてください。"]} if not ckan_dataset else {}),
            **(
                {"ckan_resource": ["リソース名か形式（CSVなど）を書いてください。"]}
                if not ckan_resource
                else {}
            ),
        }
        if problems or len(ckan_dataset) > 200 or len(ckan_resource) > 200:
            raise InvalidInput(
                "CKANポータルから取り込むには、データセットID（200字まで）と、リソースの名前か形式（例: CSV）を書いてください。",
                details=problems or {"ckan_dataset": ["長すぎます。"]},
            )
    else:
        ckan_dataset = ckan_resource = ""
    with transaction.atomic():
        source = ImportSource.objects.create(
            table=table,
            kind=kind,
            url=url,
            ckan_dataset=ckan_dataset,
            ckan_resource=ckan_resource,
            pattern="",
            mode=mode,
            created_by_id=actor.user_id,
        )
        audit_record(
            actor=actor,
            action="collect.import_create",
            obj=source,
            changes={
                "table": f"{table.dataset.slug}/{table.name}",
                "kind": kind,
                "url": url,
                "ckan_dataset": ckan_dataset,
                "ckan_resource": ckan_resource,
                "mode": mode,
            },
        )
    return source


@dataclass
class ScanResult:
    """What one check of a folder did."""

    ingested: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    error: str = ""


def _tell(source: ImportSource, message: str) -> None:
    """The person who set the import up and the owning 課's 編集 members."""
    owner = source.table.dataset.owner_id
    editors = Membership.objects.active_on().filter(unit_id__in=unit_scope(owner), role=Role.EDITOR)
    users = [
        *([source.created_by_id] if source.created_by_id else []),
        *editors.values_list("user_id", flat=True),
    ]
    notify(users=users, message=message, link=reverse("collect:imports"))


def _record(
    source: ImportSource,
    path: Path | str,
    sha: str,
    *,
    status: str,
    message: str,
    version: TableVersion | None = None,
    rows: int | None = None,
) -> None:
    name = path if isinstance(path, str) else path.name
    with transaction.atomic():
        ImportedFile.objects.create(
            source=source,
            name=name[:300],
            sha256=sha,
            status=status,
            message=message,
            version=version,
            rows=rows,
        )
        if status == ImportedFileStatus.FAILED:
            _tell(
                source,
                f"「{source.table.title}」への自動取り込みで「{name}」を取り込めませんでした: {message}",
            )


def _inside_root(path: Path) -> bool:
    """Whether ``path``, every link followed, is still inside the import root."""
    root, real = import_root(), path.resolve()
    return real == root or root in real.parents


def _candidates(source: ImportSource, folder: Path) -> list[Path]:
    # Symbolic links are skipped: whoever may write to the share could otherwise point one at any file
    # the server can read and have it imported into a table they can read.
    now = time.time()
    files = [
        p
        for p in folder.iterdir()
        if not p.is_symlink() and p.is_file() and _inside_root(p) and fnmatch.fnmatch(p.name, source.pattern)
    ]
    settled = [p for p in files if now - p.stat().st_mtime >= SETTLE_SECONDS]
    return sorted(settled, key=lambda p: (p.stat().st_mtime, p.name))


def import_source_scan(*, source: ImportSource) -> ScanResult:
    """Check one import now and ingest what is new (outside any transaction: the lake commits on its own).

    One check per import at a time across every process (a lock in the shared cache): the 15-minute job
    and a 「今すぐ確認する」 click could otherwise both ingest the same new file. The one that finds the
    lock taken does nothing and says so.
    """
    lock = f"collect:import-scan:{source.pk}"
    if not cache.add(lock, 1, SCAN_LOCK_SECONDS):
        return ScanResult(
            error="この取り込みは、いま別の確認が進んでいます。しばらくしてから確かめてください。"
        )
    try:
        return _scan(ImportSource.objects.select_related("table__dataset", "created_by").get(pk=source.pk))
    finally:
        cache.delete(lock)


def _scan(source: ImportSource) -> ScanResult:
    from machidata.ingest.services import sha256_of

    result = ScanResult()
    if source.kind != ImportKind.FOLDER:
        return _scan_remote(source)
    folder = import_root() / source.folder
    error = ""
    if not folder.is_dir():
        error = f"フォルダ「{source.folder}」が見つかりません（移動・削除されたか、共有フォルダにつながっていません）。"
    elif not _inside_root(folder):
        error = f"フォルダ「{source.folder}」は取り込み用フォルダの外を指しています（リンクに置き換えられています）。取り込みを止めました。"
    if error:
        with transaction.atomic():
            if source.last_error != error:  # told once, until the folder is back
                _tell(source, f"「{source.table.title}」への自動取り込み: {error}")
            ImportSource.objects.filter(pk=source.pk).update(last_error=error, last_checked_at=timezone.now())
        result.error = error
        return result
    for path in _candidates(source, folder):
        sha = sha256_of(path)
        if _seen(source, sha):
            continue
        _ingest_one(
            source,
            path,
            name=path.name,
            sha=sha,
            note=f"フォルダ「{source.folder}」から自動取り込み",
            result=result,
        )
    ImportSource.objects.filter(pk=source.pk).update(last_error="", last_checked_at=timezone.now())
    return result


def _ingest_one(
    source: ImportSource, path: Path, *, name: str, sha: str, note: str, result: ScanResult
) -> None:
    """Ingest one fetched or found file as the next version, recording (and telling) the outcome."""
    from machidata.ingest.services import ingest_file

    actor = actor_for(source.created_by)
    try:
        if not can(actor, Action.EDIT, source.table.dataset):
            raise PermissionDenied(
                "取り込みを設定した職員に、この表の編集権限がありません。設定し直してください。"
            )
        source.table.refresh_from_db()
        before = source.table.current_version.rows or 0 if source.table.current_version else 0
        version = ingest_file(
            actor=actor,
            table=source.table,
            path=path,
            source_name=name,
            mode=source.mode,
            options={"format": "csv"} if source.kind == ImportKind.ESTAT else None,
            note=note,
        )
    except MachidataError as exc:
        _record(source, name, sha, status=ImportedFileStatus.FAILED, message=exc.message)
        result.failed.append(name)
        return
    except Exception:  # an unexpected failure of one file must not stop the others
        logger.exception("scheduled import of %s failed", name)
        _record(
            source,
            name,
            sha,
            status=ImportedFileStatus.FAILED,
            message="予期しないエラーで取り込めませんでした。データ戦略課にお問い合わせください。",
        )
        result.failed.append(name)
        return
    added = (version.rows or 0) - (before if source.mode == ImportMode.APPEND else 0)
    _record(
        source,
        name,
        sha,
        status=ImportedFileStatus.INGESTED,
        message=f"{added:,} 行を取り込みました（表の第{version.number}版、{version.rows or 0:,} 行）。",
        version=version,
        rows=added,
    )
    result.ingested.append(name)
    from machidata.collect.followups import follow_up_close  # a data request this import answers

    follow_up_close(source=source)


def _seen(source: ImportSource, sha: str) -> bool:
    """A folder's file is new unless this content was ever picked up (a copy of an old file adds nothing)."""
    return ImportedFile.objects.filter(source=source, sha256=sha).exists()


def _current(source: ImportSource, sha: str) -> bool:
    """A URL's content is new unless it is what the last fetch brought: content that goes back to an earlier
    state (A → B → A) is the remote's current state again and is ingested, never left stale at B."""
    last = ImportedFile.objects.filter(source=source).order_by("-created_at", "-id").first()
    return last is not None and last.sha256 == sha


def _scan_remote(source: ImportSource) -> ScanResult:
    """Fetch a URL / CKAN / statistics import: unchanged (304 or same SHA-256) → nothing; new → a version.

    A fetch that fails is told to the owner once per distinct error (``last_error``), until it works again.
    """
    from machidata.collect.remote import Fetched, FetchError, ckan_resource, fetch

    result = ScanResult()
    fetched: Fetched | None = None
    remote_version = ""
    try:
        url, note = source.url, f"{source.url} から自動取り込み"
        skip = False
        if source.kind == ImportKind.CKAN:
            found = ckan_resource(source.url, source.ckan_dataset, source.ckan_resource)
            url, note = found.url, f"CKANポータル {source.url} の「{source.ckan_dataset}」から自動取り込み"
            portal_hash = found.hash.lower().removeprefix("sha256:")
            skip = bool(portal_hash) and _current(source, portal_hash)  # the portal says: content unchanged
            remote_version = f"{found.url}|{found.last_modified}"[:1200] if found.last_modified else ""
            skip = skip or (bool(remote_version) and remote_version == source.remote_version)
        if not skip:
            with tempfile.TemporaryDirectory(prefix="machidata-import-") as tmp:
                fetched = fetch(url, folder=Path(tmp), etag=source.etag, last_modified=source.last_modified)
                if (
                    not fetched.unchanged
                    and fetched.path is not None
                    and not _current(source, fetched.sha256)
                ):
                    _ingest_one(
                        source, fetched.path, name=fetched.name, sha=fetched.sha256, note=note, result=result
                    )
    except FetchError as exc:
        error = exc.message
        with transaction.atomic():
            if source.last_error != error:  # told once per distinct error, until it works again
                _tell(source, f"「{source.table.title}」への自動取り込み（{source.where}）: {error}")
            ImportSource.objects.filter(pk=source.pk).update(last_error=error, last_checked_at=timezone.now())
        result.error = error
        return result
    updates: dict[str, object] = {"last_error": "", "last_checked_at": timezone.now()}
    if fetched is not None and not fetched.unchanged:
        updates.update(etag=fetched.etag[:500], last_modified=fetched.last_modified[:100])
    if remote_version and not result.failed:
        updates["remote_version"] = remote_version
    ImportSource.objects.filter(pk=source.pk).update(**updates)
    return result


def import_source_scan_now(*, actor: Actor, source: ImportSource) -> ScanResult:
    """「今すぐ確認」: the data owner (EDIT on the table) checks the folder without waiting; audited."""
    if not can(actor, Action.EDIT, source.table.dataset):
        raise PermissionDenied(
            "この定期取り込みを動かせるのは、表のデータ所有者（所管課）の編集担当者だけです。"
        )
    with transaction.atomic():
        audit_record(actor=actor, action="collect.import_scan", obj=source, changes={"from": source.where})
    return import_source_scan(source=source)


def import_sources_scan_all() -> dict[int, ScanResult]:
    """Check every active import; one failing never stops the others."""
    results: dict[int, ScanResult] = {}
    for source in ImportSource.objects.filter(active=True).order_by("pk"):
        try:
            results[source.pk] = import_source_scan(source=source)
        except Exception:
            logger.exception("scheduled import %s failed", source.pk)
            results[source.pk] = ScanResult(error="予期しないエラー")
    return results
