"""A cache of answers over committed versions: kept in the process and in files shared between processes.

What it keeps: a JSON-able value (an answer's rows, a page) under a key the caller makes from everything
that decides the answer — the statement or query, the row limit and the *identity of every committed
version read* (the table's storage key, the version row, its Delta version, its files). A committed
version never changes, so the same key always has the same answer; a change of what may be read (a new
version published, one withdrawn) is a new key, or a refusal made by the caller **before** it asks the
cache — the cache decides nothing about access and never outlives the caller's decision.

Two levels:

1. in this process: an LRU bounded in bytes (:data:`MEMORY_BYTES`), a dict look-up on a hit;
2. shared: one file per key under the caller's folder (``MACHIDATA_HOME/cache/<name>``), written to a
   temporary file and renamed into place (a reader sees a whole entry or none), bounded in bytes
   (:data:`DISK_BYTES`: past it, the oldest files go), so every gunicorn worker answers from what any of
   them computed. A file that cannot be read or does not hold its own key is ignored and removed.

Entries larger than :data:`ENTRY_BYTES` are not kept (the answer is computed every time).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Final

MEMORY_BYTES: Final = 32_000_000  # per process, over all entries of one cache
DISK_BYTES: Final = 256_000_000  # per cache folder, shared by the processes
ENTRY_BYTES: Final = 4_000_000  # larger answers are never kept
FORMAT: Final = 1  # bumped when what an entry holds changes: old files then never match


def digest(*parts: Any) -> str:
    """A key: SHA-256 over the JSON of ``parts`` (every part must be JSON-able)."""
    text = json.dumps([FORMAT, *parts], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ResultCache:
    """One cache: the process's LRU in front of a folder of files shared with the other processes.

    ``folder`` None keeps entries in this process only (tests, a home without a cache folder).
    """

    def __init__(
        self,
        folder: Path | None,
        *,
        memory_bytes: int = MEMORY_BYTES,
        disk_bytes: int = DISK_BYTES,
        entry_bytes: int = ENTRY_BYTES,
    ) -> None:
        self.folder = folder
        self.memory_bytes = memory_bytes
        self.disk_bytes = disk_bytes
        self.entry_bytes = entry_bytes
        self._memory: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._used = 0
        self._written = 0  # bytes this process wrote since it last measured the folder
        self._lock = threading.Lock()
        self.hits = 0
        self.shared_hits = 0
        self.misses = 0

    # ---- the process's level -------------------------------------------------------------------

    def _remember(self, key: str, value: Any, size: int) -> None:
        with self._lock:
            old = self._memory.pop(key, None)
            if old is not None:
                self._used -= old[1]
            self._memory[key] = (value, size)
            self._used += size
            while self._used > self.memory_bytes and self._memory:
                _, (_, gone) = self._memory.popitem(last=False)
                self._used -= gone

    # ---- the shared level ----------------------------------------------------------------------

    def _path(self, key: str) -> Path | None:
        if self.folder is None or len(key) != 64 or not all(c in "0123456789abcdef" for c in key):
            return None
        return self.folder / key[:2] / f"{key}.json"

    def _read(self, key: str) -> tuple[Any, int] | None:
        path = self._path(key)
        if path is None:
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None
        try:
            entry = json.loads(data)
            if not (isinstance(entry, dict) and entry.get("key") == key and "value" in entry):
                raise ValueError(key)
        except ValueError:  # a damaged or foreign file: never answer from it
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        return entry["value"], len(data)

    def _write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError:
            return  # a full or read-only disk: the answer is still given, only not shared
        with self._lock:
            self._written += len(data)
            due = self._written > self.disk_bytes // 8
            if due:
                self._written = 0
        if due:
            self.prune()

    def prune(self) -> int:
        """Remove the oldest files while the folder holds more than :attr:`disk_bytes`; bytes removed."""
        if self.folder is None or not self.folder.is_dir():
            return 0
        files: list[tuple[float, int, str]] = []
        for sub in os.scandir(self.folder):
            if not sub.is_dir(follow_symlinks=False):
                continue
            for f in os.scandir(sub.path):
                with contextlib.suppress(OSError):
                    st = f.stat(follow_symlinks=False)
                    files.append((st.st_mtime, st.st_size, f.path))
        total = sum(size for _, size, _ in files)
        removed = 0
        if total <= self.disk_bytes:
            return 0
        for _, size, name in sorted(files):
            if total - removed <= self.disk_bytes * 3 // 4:
                break
            with contextlib.suppress(OSError):
                os.unlink(name)
                removed += size
        return removed

    # ---- use -----------------------------------------------------------------------------------

    def get(self, key: str) -> Any | None:
        """The value kept under ``key`` (from this process or from the shared folder), else None."""
        with self._lock:
            hit = self._memory.get(key)
            if hit is not None:
                self._memory.move_to_end(key)
                self.hits += 1
                return hit[0]
        shared = self._read(key)
        if shared is None:
            with self._lock:
                self.misses += 1
            return None
        value, size = shared
        self._remember(key, value, size)
        with self._lock:
            self.shared_hits += 1
        return value

    def put(self, key: str, value: Any) -> bool:
        """Keep ``value`` (plain JSON: dicts, lists, text, numbers) under ``key``; False when it is not
        plain JSON or too large to keep. Callers must not change a value after keeping it or after
        getting it: this process's level hands out the very object it keeps."""
        try:
            data = json.dumps({"key": key, "value": value}, ensure_ascii=False, allow_nan=False).encode(
                "utf-8"
            )
        except (TypeError, ValueError):  # not plain JSON (NaN, a date object): not kept
            return False
        if len(data) > self.entry_bytes:
            return False
        self._remember(key, value, len(data))
        self._write(key, data)
        return True

    def clear(self) -> None:
        """Forget this process's entries and remove the shared files (tests)."""
        with self._lock:
            self._memory.clear()
            self._used = 0
            self._written = 0
        if self.folder is not None and self.folder.is_dir():
            for sub in os.scandir(self.folder):
                if sub.is_dir(follow_symlinks=False):
                    for f in os.scandir(sub.path):
                        with contextlib.suppress(OSError):
                            os.unlink(f.path)
