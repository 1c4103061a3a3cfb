"""Keeping the index current: the outbox, the one writer, full rebuilds, and opening the index.

The index lives in ``MACHIDATA_SEARCH_DIR`` (default ``MACHIDATA_HOME/search``), outside the metadata
database, so SQLite and PostgreSQL deployments search identically. Catalog changes write an
:class:`~machidata.search.models.IndexPending` row in their own transaction (signals); the
``search.update`` job (and an every-minute schedule, in case a job was lost) applies those rows and
only then deletes them. Writers take an exclusive file lock, so there is one writer at a time even
with several job workers.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import transaction

from machidata.search.documents import dataset_document, documents_queryset
from machidata.search.index import SearchIndex, build_index, open_index
from machidata.search.models import IndexPending

log = logging.getLogger("machidata.search")

JOB_KIND_UPDATE = "search.update"
JOB_KIND_REBUILD = "search.rebuild"
BATCH = 2000

_open_lock = threading.Lock()
_opened: dict[str, tuple[tuple[int, int], SearchIndex]] = {}


def index_dir() -> Path:
    """Where the index lives (read from the settings on every call, so tests can move it)."""
    configured = str(getattr(settings, "MACHIDATA_SEARCH_DIR", "") or "")
    return Path(configured) if configured else Path(settings.MACHIDATA_HOME) / "search"


def _stamp(path: Path) -> tuple[int, int]:
    # A rebuild swaps the directory (new inode); a commit rewrites meta.json (new mtime).
    try:
        inode = path.stat().st_ino
    except FileNotFoundError:
        return (0, 0)
    try:
        mtime = (path / "meta.json").stat().st_mtime_ns
    except FileNotFoundError:
        mtime = 0
    return (inode, mtime)


def get_index() -> SearchIndex:
    """The index for searching, reopened after a rebuild and reloaded after another process's commit."""
    path = index_dir()
    key = str(path)
    stamp = _stamp(path)
    with _open_lock:
        cached = _opened.get(key)
        if cached is not None and cached[0][0] == stamp[0] and stamp[0] != 0:
            if cached[0][1] != stamp[1]:
                cached[1].reload()
                _opened[key] = (stamp, cached[1])
            return cached[1]
        index = open_index(path)
        if len(_opened) > 8:  # tests open one index per test; keep only a few
            _opened.clear()
        _opened[key] = (_stamp(path), index)
        return index


@contextlib.contextmanager
def writer_lock(timeout: float = 600.0) -> Iterator[None]:
    """One writer at a time across processes (tantivy refuses a second writer instead of waiting)."""
    path = index_dir()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(path.parent / (path.name + ".lock")), os.O_CREAT | os.O_RDWR, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError("search index writer lock") from None
                time.sleep(0.05)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def index_mark(dataset_ids: list[int]) -> None:
    """Record that these datasets' index entries must be rewritten (call inside the change's transaction)."""
    IndexPending.objects.bulk_create([IndexPending(dataset_id=i) for i in dict.fromkeys(dataset_ids)])


def _write(index: SearchIndex, ids: list[int]) -> int:
    written = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        rows = list(documents_queryset().filter(pk__in=chunk))
        found = {d.pk for d in rows}
        if rows:
            written += index.upsert([dataset_document(d) for d in rows])
        gone = [str(i) for i in chunk if i not in found]
        if gone:
            index.delete(gone)
    return written


def index_apply_pending() -> int:
    """Apply every pending update to the index, then delete the applied outbox rows; returns how many."""
    with writer_lock():
        pending = list(IndexPending.objects.order_by("pk").values_list("pk", "dataset_id")[:50_000])
        if not pending:
            return 0
        last_pk = pending[-1][0]
        ids = list(dict.fromkeys(d for _, d in pending))
        index = get_index()
        _write(index, ids)
        # Rows added meanwhile (pk > last_pk) stay for the next run.
        IndexPending.objects.filter(pk__lte=last_pk, dataset_id__in=ids).delete()
        return len(ids)


def index_rebuild() -> int:
    """Rebuild the whole index from the catalog (``machidata reindex``); returns how many entries."""
    with writer_lock():
        last_pk = IndexPending.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        docs = (dataset_document(d) for d in documents_queryset().order_by("pk").iterator(chunk_size=BATCH))
        index = build_index(index_dir(), docs)
        IndexPending.objects.filter(pk__lte=last_pk).delete()
        with _open_lock:
            _opened.pop(str(index_dir()), None)
        return len(index)


def index_kick() -> None:
    """Queue an index-update job unless one is already waiting (called after a catalog change commits).

    In immediate mode (tests, single-process development) no job is queued: pending updates are
    applied just before the next search instead (see :func:`ensure_current`).
    """
    if settings.MACHIDATA_JOBS_IMMEDIATE:
        return
    from machidata.jobs.models import Job, JobStatus
    from machidata.jobs.services import job_submit

    if Job.objects.filter(kind=JOB_KIND_UPDATE, status=JobStatus.QUEUED).exists():
        return
    with transaction.atomic():
        job_submit(kind=JOB_KIND_UPDATE, title="検索索引の更新", params={}, actor=None)


def ensure_current() -> None:
    """In immediate mode, apply pending updates now (the job a real runner would have run)."""
    if settings.MACHIDATA_JOBS_IMMEDIATE and IndexPending.objects.exists():
        index_apply_pending()
