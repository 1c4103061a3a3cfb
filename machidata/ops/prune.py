"""``prune_backup``: take purged versions out of a backup made before they were purged.

A purge (``lake.protocol.purge_versions``, retention) removes a version's files from the lake and
appends a tombstone to ``lake/.purged-versions.jsonl``; backups made afterwards never hold the
files. Older backups still do. This rewrites such a backup in place: the purged files' members are
left out, the column statistics of those files are scrubbed from the copied Delta log (checkpoints
that list them are left out), the versions leave the manifest, and the merged tombstone list is put
in the archive — so a restore of the pruned backup marks the versions 消去済み again (restore
applies the tombstone list it carries). An encrypted backup is decrypted with ``identity`` and
encrypted again to the same key.
"""

from __future__ import annotations

import copy
import json
import os
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from django.db import transaction
from pyrage import x25519

from machidata.audit.services import audit_record
from machidata.core.errors import InvalidInput
from machidata.lake import storage
from machidata.lake.protocol import PURGE_LEDGER, read_ledger
from machidata.ops.archive import (
    MANIFEST,
    ArchiveWriter,
    Manifest,
    decrypt,
    encrypt,
    is_encrypted,
    iter_members,
)
from machidata.ops.backup import SYSTEM_ACTOR

LEDGER_MEMBER = f"lake/{PURGE_LEDGER}"


@dataclass
class PruneReport:
    """What a prune took out of one backup."""

    files_removed: int = 0
    log_files_scrubbed: int = 0
    versions_removed: int = 0


def _say(_: str) -> None:
    return None


def _split(name: str) -> tuple[str, str] | None:
    """(storage key, path inside the table folder) of a lake member, or None."""
    parts = PurePosixPath(name).parts
    if len(parts) < 3 or parts[0] != "lake":
        return None
    return parts[1], "/".join(parts[2:])


def _doomed(tombstones: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Storage key → the data files its tombstones name."""
    doomed: dict[str, set[str]] = {}
    for t in tombstones:
        doomed.setdefault(str(t["storage_key"]), set()).update(str(f) for f in t.get("files", []))
    return doomed


def _dropped_checkpoints(
    tar: tarfile.TarFile, members: list[tarfile.TarInfo], doomed: dict[str, set[str]]
) -> set[str]:
    """The checkpoint members that list a purged file (left out, with their table's _last_checkpoint)."""
    dropped: set[str] = set()
    for m in members:
        where = _split(m.name)
        if where and where[0] in doomed and ".checkpoint" in where[1] and where[1].endswith(".parquet"):
            data = tar.extractfile(m).read()  # type: ignore[union-attr]
            if storage.checkpoint_lists(data, doomed[where[0]]):
                dropped.add(m.name)
    return dropped


def _rewrite(
    tar: tarfile.TarFile, out_path: Path, tombstones: list[dict[str, Any]], report: PruneReport
) -> Manifest:
    """Copy the archive into ``out_path`` without the purged files; returns the old manifest."""
    members = list(iter_members(tar))
    raw = tar.extractfile(MANIFEST)
    if raw is None:
        raise InvalidInput("バックアップに目録（manifest.json）がありません。")
    old = Manifest.from_json(raw.read())
    gone = {f"{t['storage_key']}/{t['number']}" for t in tombstones}
    new = copy.deepcopy(old)
    new.files = {}
    new.versions = {k: v for k, v in old.versions.items() if k not in gone}
    report.versions_removed = len(old.versions) - len(new.versions)
    doomed = _doomed(tombstones)
    dropped = _dropped_checkpoints(tar, members, doomed)
    no_checkpoint = {_split(n)[0] for n in dropped}  # type: ignore[index]
    kept_ledger = read_ledger_bytes(tar, members)
    with tarfile.open(out_path, "w") as out:
        writer = ArchiveWriter(out, new)
        for m in members:
            if m.name in (MANIFEST, LEDGER_MEMBER):
                continue
            if m.name in dropped:
                report.log_files_scrubbed += 1
                continue
            where = _split(m.name)
            if where and where[0] in doomed:
                key, inner = where
                if inner in doomed[key]:
                    report.files_removed += 1
                    continue
                if inner == f"{storage.LOG_DIR}/_last_checkpoint" and key in no_checkpoint:
                    continue
                if inner.startswith(f"{storage.LOG_DIR}/") and inner.endswith(".json"):
                    text = tar.extractfile(m).read().decode("utf-8")  # type: ignore[union-attr]
                    scrubbed = storage.scrub_commit_text(text, doomed[key])
                    if scrubbed is not None:
                        writer.add_bytes(scrubbed.encode("utf-8"), m.name)
                        report.log_files_scrubbed += 1
                        continue
            out.addfile(copy.copy(m), tar.extractfile(m))
            new.files[m.name] = old.files[m.name]
        merged = {(t["storage_key"], t["number"]): t for t in [*kept_ledger, *tombstones]}
        lines = "".join(json.dumps(t, ensure_ascii=False, sort_keys=True) + "\n" for t in merged.values())
        writer.add_bytes(lines.encode("utf-8"), LEDGER_MEMBER)
        writer.finish()
    return old


def prune_backup(
    source: Path, *, ledger: Path, identity: Path | None = None, say: Callable[[str], None] = _say
) -> PruneReport:
    """Rewrite ``source`` without the versions the tombstone list ``ledger`` names; audited."""
    source, ledger = Path(source), Path(ledger)
    if not source.is_file():
        raise InvalidInput(f"バックアップファイル「{source}」がありません。")
    tombstones = read_ledger(ledger)
    if not tombstones:
        raise InvalidInput(
            f"消去の記録「{ledger}」に版がありません（lake/{PURGE_LEDGER} を指定してください）。"
        )
    encrypted = is_encrypted(source)
    if encrypted and identity is None:
        raise InvalidInput("暗号化されたバックアップです。--identity で秘密鍵のファイルを指定してください。")
    report = PruneReport()
    with tempfile.TemporaryDirectory(dir=source.parent, prefix=".machidata-prune-") as tmp:
        work = Path(tmp)
        plain = source
        if identity is not None and encrypted:
            say("復号しています…")
            plain = work / "in.tar"
            decrypt(source, plain, identity)
        out_plain = work / "out.tar"
        with tarfile.open(plain, "r:*") as tar:
            old = _rewrite(tar, out_plain, tombstones, report)
        result = work / "result"
        if identity is not None and encrypted:
            say("暗号化し直しています…")
            encrypt(out_plain, result, _public_of(identity))
        else:
            out_plain.rename(result)
        os.replace(result, source)
    gone = {f"{t['storage_key']}/{t['number']}" for t in tombstones}
    with transaction.atomic():
        audit_record(
            actor=SYSTEM_ACTOR,
            action="home.backup_prune",
            object_type="home",
            object_id=source.name[:64],
            changes={"file": str(source), "versions": sorted(gone & set(old.versions)), **report.__dict__},
        )
    say(
        f"バックアップから消去済みの版を取り除きました: {report.versions_removed}版、"
        f"ファイル{report.files_removed}件（{source}）"
    )
    return report


def read_ledger_bytes(tar: tarfile.TarFile, members: list[tarfile.TarInfo]) -> list[dict[str, object]]:
    """The tombstone list the backup already carries (empty when it has none)."""
    member = next((m for m in members if m.name == LEDGER_MEMBER), None)
    if member is None:
        return []
    with tempfile.NamedTemporaryFile() as fh:
        fh.write(tar.extractfile(member).read())  # type: ignore[union-attr]
        fh.flush()
        return read_ledger(Path(fh.name))


def _public_of(identity: Path) -> str:
    """The age public key of the first secret key in ``identity`` (to encrypt the pruned backup again)."""
    for line in identity.read_text(encoding="utf-8").splitlines():
        if line.strip().startswith("AGE-SECRET-KEY-"):
            return str(x25519.Identity.from_str(line.strip()).to_public())
    raise InvalidInput("秘密鍵のファイルに AGE-SECRET-KEY- で始まる鍵がありません。")
