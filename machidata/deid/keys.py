"""Per-release HMAC keys for 仮名加工, kept outside the lake and the database.

Each 仮名加工 run draws a fresh 256-bit key (so pseudonyms of two releases cannot be linked) and
writes it to ``<MACHIDATA_DEID_KEY_DIR>/<key_id>.key`` (default ``MACHIDATA_HOME/keys/deid``): the
folder is 0700 and the file 0600, created with O_EXCL so an existing key is never overwritten. The
lake never sees the key; the database holds only its id. Deleting the file makes the pseudonyms of
that release impossible to recompute.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings

from machidata.core.errors import InvalidInput

KEY_BYTES = 32


def key_dir() -> Path:
    """The key folder, created 0700 on first use."""
    configured = str(getattr(settings, "MACHIDATA_DEID_KEY_DIR", "") or "")
    path = Path(configured) if configured else Path(settings.MACHIDATA_HOME) / "keys" / "deid"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def _path(key_id: str) -> Path:
    if not key_id or not key_id.isalnum():
        raise InvalidInput("鍵の番号が正しくありません。")
    return key_dir() / f"{key_id}.key"


def key_new() -> bytes:
    """A fresh random key, held in memory until the run is accepted (a refused run never writes it)."""
    return secrets.token_bytes(KEY_BYTES)


def key_store(key: bytes) -> str:
    """Write ``key`` to a new 0600 file (never replacing one) and return its id."""
    key_id = secrets.token_hex(16)
    fd = os.open(_path(key_id), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key_id


def key_exists(key_id: str) -> bool:
    """Whether the key file of ``key_id`` is still there."""
    return _path(key_id).is_file()


def key_mode(key_id: str) -> int:
    """The permission bits of the key file (0o600 expected)."""
    return _path(key_id).stat().st_mode & 0o777


def key_discard(key_id: str) -> None:
    """Remove a key (a refused run's, or on the privacy officer's request); missing is fine."""
    _path(key_id).unlink(missing_ok=True)
