"""``create_backup``: one consistent copy of a running home.

Order matters. The database is copied first, with the engine's own snapshot; the lake is copied
after it. The lake only ever adds files and log entries, so every version the copied database
knows is complete in the copied lake. A commit made after the database copy is in the lake but has
no committed row; at restore the lake's recovery puts the table's head back and purges its files
(audited), exactly as after a crash.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder

from machidata.access.policy import system_actor
from machidata.audit.seals import seal_file
from machidata.audit.services import audit_record
from machidata.catalog.models import TableVersion, VersionStatus
from machidata.core.errors import InvalidInput
from machidata.deid.keys import key_dir
from machidata.lake.readers import version_digest
from machidata.ops import database
from machidata.ops.archive import ArchiveWriter, Manifest, encrypt, parse_recipient

SYSTEM_ACTOR = system_actor("ops")
# Parts of MACHIDATA_HOME that are copied; the rest (search index, job queue, static files, mail,
# tmp) is rebuilt or transient.
HOME_TREES = ("lake", "uploads")
SEAL_MEMBER = "audit-seals.jsonl"  # the audit seals kept outside the database (audit.seals)
# The 仮名加工 keys (deid.keys: MACHIDATA_DEID_KEY_DIR, outside the lake and the database). Without
# them a restored home could not recompute a release's pseudonyms; an encrypted backup keeps them
# as protected as the rest (operations.md: encrypt backups that hold keys).
KEYS_PREFIX = "deid-keys"


def _say(_: str) -> None:
    return None


def applied_migrations() -> dict[str, list[str]]:
    """The migrations applied to the default database, per app."""
    out: dict[str, list[str]] = {}
    for app, name in MigrationRecorder(connection).applied_migrations():
        out.setdefault(app, []).append(name)
    return {app: sorted(names) for app, names in sorted(out.items())}


def seals_up_to(last: int) -> bytes:
    """The lines of the audit seal file for the seals the database copy holds (later ones are cut)."""
    path = seal_file()
    if not path.is_file():
        return b""
    keep = []
    for line in path.read_bytes().splitlines(keepends=True):
        try:
            number = int(json.loads(line)["number"])
        except (ValueError, KeyError, TypeError):
            number = 0  # an unreadable line is kept: verify reports it where it was
        if number <= last:
            keep.append(line)
    return b"".join(keep)


def version_key(version: TableVersion) -> str:
    """How a version is named in the manifest: ``<storage key>/<number>``."""
    return f"{version.table.storage_key}/{version.number}"


def committed_versions() -> list[TableVersion]:
    """Every committed version, oldest table first."""
    return list(
        TableVersion.objects.filter(status=VersionStatus.COMMITTED)
        .select_related("table")
        .order_by("table_id", "number")
    )


def create_backup(dest: Path, *, recipient: str | None = None, say: Callable[[str], None] = _say) -> Manifest:
    """Write a backup of this home to ``dest`` (never a partial file under that name)."""
    dest = Path(dest)
    if dest.exists():
        raise InvalidInput(f"「{dest}」はすでにあります。別の名前を指定してください（上書きはしません）。")
    if not dest.parent.is_dir():
        raise InvalidInput(f"保存先のフォルダ「{dest.parent}」がありません。")
    if recipient:
        parse_recipient(recipient)  # a bad key is refused before any work
    home = Path(settings.MACHIDATA_HOME)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".machidata-backup-") as tmp:
        work = Path(tmp)
        db_copy = work / "db"
        say("メタデータのデータベースを複製しています…")
        db_vendor = database.vendor()
        snapshot = database.snapshot(db_copy)
        versions = list(
            TableVersion.objects.filter(pk__in=snapshot.version_ids).select_related("table").order_by("pk")
        )
        manifest = Manifest(
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            machidata_version=importlib.metadata.version("machidata"),
            database=db_vendor,
            migrations=snapshot.migrations,
            counts=snapshot.counts,
        )
        say(f"版の検証値を計算しています（{len(versions)}版）…")
        for version in versions:
            manifest.versions[version_key(version)] = version_digest(version)
        plain = work / "backup.tar"
        with tarfile.open(plain, "w") as tar:
            writer = ArchiveWriter(tar, manifest)
            writer.add_file(db_copy, database.DUMP_NAMES[db_vendor])
            for tree in HOME_TREES:
                n = writer.add_tree(home / tree, tree)
                say(f"{tree}: {n}ファイル")
            seals = seals_up_to(snapshot.last_seal)
            if seals:
                writer.add_bytes(seals, SEAL_MEMBER)
            manifest.deid_keys = writer.add_tree(key_dir(), KEYS_PREFIX)
            if manifest.deid_keys:
                say(f"仮名加工の鍵: {manifest.deid_keys}件")
            secret = home / "secret_key"
            if secret.is_file():
                writer.add_file(secret, "secret_key")
                manifest.has_secret_key = True
            writer.finish()
        partial = work / "backup.out"
        if recipient:
            say("暗号化しています…")
            encrypt(plain, partial, recipient)
        else:
            plain.rename(partial)
        partial.replace(dest)
    with transaction.atomic():
        audit_record(
            actor=SYSTEM_ACTOR,
            action="home.backup",
            object_type="home",
            object_id=home.name[:64],
            changes={
                "home": str(home),
                "file": str(dest),
                "encrypted": bool(recipient),
                "files": len(manifest.files),
                **manifest.counts,
            },
        )
    say(f"バックアップを作成しました: {dest}（{len(manifest.files)}ファイル、{len(manifest.versions)}版）")
    return manifest
