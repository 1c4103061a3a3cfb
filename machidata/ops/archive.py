"""The backup file: a tar of the home's parts plus ``manifest.json``, optionally encrypted with age.

The manifest lists every member's SHA-256 and size and every committed version's digest
(``lake.readers.version_digest``), so a restore can prove the archive is whole before it touches
anything and prove each version afterwards.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import pyrage
from pyrage import x25519

from machidata.core.errors import InvalidInput

FORMAT = "machidata-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
AGE_MAGIC = b"age-encryption.org/v1"
# Files at most this large are read whole before they are added: they may be rewritten in place
# while the server runs (Delta's ``_last_checkpoint``), so size and hash must come from one read.
_SMALL = 1 << 20


@dataclass
class Manifest:
    """What a backup holds; written as ``manifest.json`` at the end of the tar."""

    created_at: str
    machidata_version: str
    database: str  # sqlite | postgresql
    migrations: dict[str, list[str]]
    counts: dict[str, int]
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    has_secret_key: bool = False
    deid_keys: int = 0  # 仮名加工 keys under KEYS_PREFIX (absent from backups made before they were kept)
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def to_json(self) -> bytes:
        """The manifest as UTF-8 JSON."""
        return json.dumps(asdict(self), ensure_ascii=False, indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """Parse and check a manifest; anything else is a clear error."""
        try:
            raw = json.loads(data)
        except ValueError as exc:
            raise InvalidInput("バックアップの目録（manifest.json）を読み取れません。") from exc
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise InvalidInput("machidata のバックアップファイルではありません。")
        if raw.get("format_version") != FORMAT_VERSION:
            raise InvalidInput(
                f"バックアップの形式（第{raw.get('format_version')}版）にこの machidata は対応していません。"
            )
        try:
            return cls(**{k: raw[k] for k in cls.__dataclass_fields__ if k in raw})
        except TypeError as exc:
            raise InvalidInput("バックアップの目録（manifest.json）が壊れています。") from exc


class _Hashing(io.RawIOBase):
    """A reader that hashes what passes through it (large files go into the tar in one read)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self.raw.read(len(b))
        self.sha.update(data)
        b[: len(data)] = data
        return len(data)


class ArchiveWriter:
    """Adds files to the backup tar and records their SHA-256 in the manifest."""

    def __init__(self, tar: tarfile.TarFile, manifest: Manifest) -> None:
        self.tar = tar
        self.manifest = manifest

    def add_file(self, path: Path, name: str) -> None:
        """Add one file under ``name`` (POSIX, relative)."""
        info = tarfile.TarInfo(name)
        info.mode = 0o600
        size = path.stat().st_size
        if size <= _SMALL:
            data = path.read_bytes()
            info.size = len(data)
            self.tar.addfile(info, io.BytesIO(data))
            digest = hashlib.sha256(data).hexdigest()
        else:  # large files (Parquet, the database copy) are immutable once written
            info.size = size
            with open(path, "rb") as f:
                reader = _Hashing(f)
                self.tar.addfile(info, reader)
                digest = reader.sha.hexdigest()
        self.manifest.files[name] = {"sha256": digest, "bytes": info.size}

    def add_bytes(self, data: bytes, name: str) -> None:
        """Add ``data`` as a file named ``name``."""
        info = tarfile.TarInfo(name)
        info.mode = 0o600
        info.size = len(data)
        self.tar.addfile(info, io.BytesIO(data))
        self.manifest.files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}

    def add_tree(self, root: Path, prefix: str, *, skip: tuple[str, ...] = ()) -> int:
        """Add every regular file under ``root`` as ``prefix/relative``; returns how many."""
        count = 0
        if not root.is_dir():
            return 0
        for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
            rel = path.relative_to(root).as_posix()
            if rel.split("/", 1)[0] in skip:
                continue
            self.add_file(path, f"{prefix}/{rel}")
            count += 1
        return count

    def finish(self) -> None:
        """Write the manifest as the last member."""
        data = self.manifest.to_json()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(data)
        info.mode = 0o600
        self.tar.addfile(info, io.BytesIO(data))


def is_encrypted(path: Path) -> bool:
    """Whether the file is age-encrypted."""
    with open(path, "rb") as f:
        return f.read(len(AGE_MAGIC)) == AGE_MAGIC


def parse_recipient(text: str) -> x25519.Recipient:
    """An age public key (``age1…``)."""
    try:
        return x25519.Recipient.from_str(text.strip())
    except pyrage.RecipientError as exc:
        raise InvalidInput("暗号化の公開鍵は age1 で始まる文字列で指定してください。") from exc


def encrypt(plain: Path, dest: Path, recipient: str) -> None:
    """Encrypt ``plain`` into ``dest`` for the holder of the recipient's secret key (streamed)."""
    key = parse_recipient(recipient)
    with open(plain, "rb") as src, open(dest, "wb") as out:
        pyrage.encrypt_io(src, out, [key])


def decrypt(cipher: Path, dest: Path, identity_file: Path) -> None:
    """Decrypt an encrypted backup with the secret key in ``identity_file``."""
    try:
        lines = identity_file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidInput(f"秘密鍵のファイル「{identity_file}」を読めません。") from exc
    keys = [line.strip() for line in lines if line.strip().startswith("AGE-SECRET-KEY-")]
    if not keys:
        raise InvalidInput("秘密鍵のファイルに AGE-SECRET-KEY- で始まる鍵がありません。")
    try:
        identities = [x25519.Identity.from_str(k) for k in keys]
    except pyrage.IdentityError as exc:
        raise InvalidInput("秘密鍵のファイルの鍵が正しくありません。") from exc
    try:
        with open(cipher, "rb") as src, open(dest, "wb") as out:
            pyrage.decrypt_io(src, out, identities)
    except pyrage.DecryptError as exc:
        dest.unlink(missing_ok=True)
        raise InvalidInput(
            "この秘密鍵ではバックアップを復号できません（鍵が違うか、ファイルが壊れています）。"
        ) from exc


def new_identity() -> tuple[str, str]:
    """A fresh age key pair: (secret key, public key)."""
    identity = x25519.Identity.generate()
    return str(identity), str(identity.to_public())


def iter_members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """The regular-file members; anything else (links, devices, absolute or ``..`` paths) is refused."""
    for member in tar.getmembers():
        name = member.name
        if not member.isfile() or name.startswith("/") or ".." in Path(name).parts:
            raise InvalidInput(f"バックアップに不正な項目があります: {name}")
        yield member
