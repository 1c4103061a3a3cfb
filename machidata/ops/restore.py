"""``restore_backup``: a backup into an empty home, migrated to this code (the upgrade path).

Everything that can be checked is checked before anything is written: the archive opens, the
manifest is ours, every member's SHA-256 matches, the backup's migrations are all known to this
code (a backup from a newer machidata is refused), the engine matches, and the target database and
home are empty. Then the database copy is loaded, ``migrate`` brings it to this code's schema, the
files are moved in, the lake's recovery runs (a commit made after the database copy is undone) and
every version's digest is compared with the manifest.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.db.migrations.loader import MigrationLoader

from machidata.audit.seals import audit_verify, seal_file
from machidata.audit.services import audit_record
from machidata.catalog.models import Table
from machidata.core.errors import InvalidInput
from machidata.deid.keys import key_dir
from machidata.lake.protocol import apply_ledger, read_ledger, recover_all
from machidata.lake.readers import version_digest
from machidata.ops import database
from machidata.ops.archive import MANIFEST, Manifest, decrypt, is_encrypted, iter_members
from machidata.ops.backup import (
    HOME_TREES,
    KEYS_PREFIX,
    SEAL_MEMBER,
    SYSTEM_ACTOR,
    applied_migrations,
    committed_versions,
    version_key,
)


@dataclass
class RestoreReport:
    """What a restore did and what it proved."""

    files: int = 0
    versions_checked: int = 0
    mismatched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    migrated: list[str] = field(default_factory=list)
    recovered_tables: int = 0
    purged_files: int = 0
    audit_chain_ok: bool = False
    audit_problems: list[str] = field(default_factory=list)
    indexed: bool = False
    deid_keys: int = 0
    purged_versions: list[str] = field(default_factory=list)  # versions a tombstone list removed at restore

    @property
    def ok(self) -> bool:
        """Every version the backup held is here, byte for byte, and the audit chain is intact."""
        return not self.mismatched and not self.missing and self.audit_chain_ok


def _say(_: str) -> None:
    return None


def _open(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, "r:*")
    except (tarfile.TarError, OSError) as exc:
        raise InvalidInput(
            f"「{path.name}」はバックアップファイルとして読めません（壊れているか、形式が違います）。"
        ) from exc


def _manifest(tar: tarfile.TarFile) -> Manifest:
    try:
        member = tar.extractfile(MANIFEST)
    except KeyError:
        member = None
    if member is None:
        raise InvalidInput(
            "バックアップに目録（manifest.json）がありません。machidata のバックアップではないか、途中で切れています。"
        )
    return Manifest.from_json(member.read())


def check_compatible(manifest: Manifest) -> None:
    """Refuse a backup this code cannot bring to its schema (newer migrations, another engine)."""
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    unknown = sorted(
        f"{app}.{name}"
        for app, names in manifest.migrations.items()
        for name in names
        if (app, name) not in known
    )
    if unknown:
        raise InvalidInput(
            f"このバックアップは新しい版の machidata（{manifest.machidata_version}）で作られています。"
            f"その版以降の machidata で復元してください（この版が知らない変更: {', '.join(unknown[:5])}）。"
        )
    if manifest.database != database.vendor():
        raise InvalidInput(
            f"このバックアップは {manifest.database} のデータベースのものです。"
            f"同じ種類のデータベース（いまの設定は {database.vendor()}）に復元してください。"
        )


def check_empty(home: Path) -> None:
    """The database has no tables and the home holds no lake or uploads."""
    busy = [tree for tree in HOME_TREES if (home / tree).is_dir() and any((home / tree).iterdir())]
    if seal_file().is_file() and seal_file().stat().st_size:
        busy.append(SEAL_MEMBER)
    if any(key_dir().glob("*.key")):
        busy.append(KEYS_PREFIX)
    if not database.is_empty() or busy:
        raise InvalidInput(
            "復元先が空ではありません。新しい MACHIDATA_HOME と空のデータベースを用意してから復元してください"
            "（いまのデータを上書きしないための確認です）。"
        )


def _extract(tar: tarfile.TarFile, manifest: Manifest, into: Path) -> int:
    """Extract every member into ``into``, checking each against the manifest."""
    seen: set[str] = set()
    for member in iter_members(tar):
        if member.name == MANIFEST:
            continue
        expected = manifest.files.get(member.name)
        if expected is None:
            raise InvalidInput(f"バックアップに目録にないファイルがあります: {member.name}")
        target = into / member.name
        target.parent.mkdir(parents=True, exist_ok=True)
        source = tar.extractfile(member)
        if source is None:
            raise InvalidInput(f"バックアップの「{member.name}」を読めません。")
        sha = hashlib.sha256()
        with open(target, "wb") as out:
            for chunk in iter(lambda src=source: src.read(1 << 20), b""):  # type: ignore[misc]
                sha.update(chunk)
                out.write(chunk)
        if sha.hexdigest() != expected["sha256"] or member.size != expected["bytes"]:
            raise InvalidInput(f"バックアップが壊れています: 「{member.name}」の内容が目録と一致しません。")
        seen.add(member.name)
    lost = sorted(set(manifest.files) - seen)
    if lost:
        raise InvalidInput(f"バックアップからファイルが欠けています（{len(lost)}件、例: {lost[0]}）。")
    return len(seen)


def _unpack(
    source: Path, identity: Path | None, staging: Path, home: Path, say: Callable[[str], None]
) -> tuple[Manifest, int]:
    """Decrypt if needed, check the archive and the target, extract and verify every member."""
    archive = source
    if is_encrypted(source):
        if identity is None:
            raise InvalidInput(
                "暗号化されたバックアップです。--identity で秘密鍵のファイルを指定してください。"
            )
        say("復号しています…")
        archive = staging / "backup.tar"
        decrypt(source, archive, identity)
    try:
        with _open(archive) as tar:
            manifest = _manifest(tar)
            check_compatible(manifest)
            check_empty(home)
            say(f"ファイルを取り出して検証しています（{len(manifest.files)}件）…")
            return manifest, _extract(tar, manifest, staging / "x")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise InvalidInput(f"「{source.name}」は途中で切れているか壊れています（{exc}）。") from exc


def _move_in(manifest: Manifest, parts: Path, home: Path) -> None:
    """Move the lake, uploads and secret key into the home."""
    for tree in HOME_TREES:
        part = parts / tree
        if part.is_dir():
            if (home / tree).is_dir():
                (home / tree).rmdir()  # empty: check_empty said so
            shutil.move(str(part), str(home / tree))
    if SEAL_MEMBER in manifest.files:
        seal_file().parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(parts / SEAL_MEMBER, seal_file())
    if manifest.has_secret_key:
        secret = home / "secret_key"
        shutil.copyfile(parts / "secret_key", secret)
        os.chmod(secret, 0o600)
    keys = parts / KEYS_PREFIX
    if keys.is_dir():
        target = key_dir()  # 0700
        for key in sorted(keys.iterdir()):
            fd = os.open(target / key.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(key.read_bytes())


def _verify(manifest: Manifest, report: RestoreReport, purged: Path | None = None) -> None:
    """Recover the lake as after a crash, apply the tombstone lists (the backup's own and ``purged``,
    a newer one from the running home), then compare every version's digest with the manifest."""
    Table.objects.update(lease_holder="", lease_expires_at=None)  # writers of the old home are gone
    recovered = recover_all()
    report.recovered_tables = sum(1 for r in recovered if r.restored_to is not None or r.abandoned)
    report.purged_files = sum(len(r.purged) for r in recovered)
    tombstones = read_ledger() + (read_ledger(purged) if purged is not None else [])
    report.purged_versions = apply_ledger(
        tombstones, actor=SYSTEM_ACTOR, note="復元時に消去の記録（保存期間による消去）を適用"
    )
    gone = {f"{t['storage_key']}/{t['number']}" for t in tombstones}
    here = {version_key(v): version_digest(v) for v in committed_versions()}
    report.versions_checked = len(here)
    report.missing = sorted(set(manifest.versions) - set(here) - gone)
    report.mismatched = sorted(k for k, d in manifest.versions.items() if k in here and here[k] != d)
    report.audit_problems = audit_verify().problems
    report.audit_chain_ok = not report.audit_problems


def restore_backup(
    source: Path,
    *,
    identity: Path | None = None,
    purged: Path | None = None,
    say: Callable[[str], None] = _say,
) -> RestoreReport:
    """Restore ``source`` into this (empty) home and database; see the module docstring.

    ``purged``: a tombstone list (``lake/.purged-versions.jsonl`` of the running home) whose versions
    are removed again after the restore, so a backup made before a purge does not bring them back.
    """
    source = Path(source)
    if not source.is_file():
        raise InvalidInput(f"バックアップファイル「{source}」がありません。")
    if purged is not None and not Path(purged).is_file():
        raise InvalidInput(f"消去の記録ファイル「{purged}」がありません。")
    home = Path(settings.MACHIDATA_HOME)
    staging = home / "tmp" / f"restore-{uuid.uuid4().hex[:12]}"
    staging.mkdir(parents=True)
    report = RestoreReport()
    try:
        manifest, report.files = _unpack(source, identity, staging, home, say)
        say("データベースを戻しています…")
        database.load(staging / "x" / database.DUMP_NAMES[manifest.database])
        before = {(a, n) for a, ns in applied_migrations().items() for n in ns}
        call_command("migrate", interactive=False, verbosity=0)
        report.migrated = sorted(
            f"{a}.{n}" for a, ns in applied_migrations().items() for n in ns if (a, n) not in before
        )
        _move_in(manifest, staging / "x", home)
        say("レイクを点検し、版を検証しています…")
        _verify(manifest, report, purged)
        report.deid_keys = manifest.deid_keys
        call_command("reindex", stdout=io.StringIO())
        report.indexed = True
        with transaction.atomic():
            audit_record(
                actor=SYSTEM_ACTOR,
                action="home.restored",
                object_type="home",
                object_id=home.name[:64],
                changes={
                    "home": str(home),
                    "file": source.name,
                    "backup_created_at": manifest.created_at,
                    "backup_version": manifest.machidata_version,
                    "migrated": report.migrated,
                    "versions_checked": report.versions_checked,
                    "mismatched": report.mismatched,
                    "missing": report.missing,
                    "purged_versions": report.purged_versions,
                    "deid_keys": report.deid_keys,
                },
            )
        return report
    finally:
        shutil.rmtree(staging, ignore_errors=True)
