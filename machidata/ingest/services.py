"""Ingest a file into a table: read → infer → screen → normalise and validate → commit one version.

The steps stream: the file is read in Arrow batches, each batch is normalised and validated and
handed to ``lake.write_version``, which commits one Delta version or nothing at all. A validation
error under the table's "reject" policy, a マイナンバー column, a cancelled job or a crash leave the
previous version current (the lake abandons the pending version and purges its files).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import queue
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
from django.conf import settings
from django.db import transaction
from django.utils.text import slugify

from machidata.access.policy import Action, Actor, can
from machidata.audit.services import audit_record
from machidata.catalog.models import Dataset, Table, TableVersion, ValidationPolicy
from machidata.core.errors import InvalidInput, PermissionDenied

SAMPLE_ROWS = 10_000
BATCH_ROWS = 65_536  # rows per normalise call: each call has a fixed cost (regex compiles), so not too few
SHEET_COLUMN = "シート名"  # added by the Excel reader when several sheets are combined
MAX_REPORTED_ISSUES = 200
PREFETCH_BATCHES = 2  # normalised batches the worker thread may hold ahead of the Delta writer
# Batches the reader may hold ahead of the normaliser: it starts while the sample is screened and
# inferred (~0.5-1 s), so it may run a little further ahead then (65,536 rows are ~10-20 MB).
READ_AHEAD_BATCHES = 4
T = TypeVar("T")
Progress = Callable[[int, int | None, str | None], None]


def _no_progress(done: int, total: int | None = None, phase: str | None = None) -> None:
    return None


def uploads_dir() -> Path:
    """Where uploaded files wait for their ingest job."""
    path = Path(settings.MACHIDATA_HOME) / "uploads" / "ingest"
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_upload(src: Path | Any, *, name: str) -> Path:
    """Copy an uploaded file (path or Django UploadedFile) under uploads/ with a random name; refuse oversize."""
    dest = uploads_dir() / f"{uuid.uuid4().hex}{Path(name).suffix.lower()[:10]}"
    limit = settings.MACHIDATA_MAX_UPLOAD_BYTES
    size = src.stat().st_size if isinstance(src, Path) else int(getattr(src, "size", 0) or 0)
    if size > limit:
        raise InvalidInput(
            f"ファイルが大きすぎます（{size / 1024**2:,.0f} MB）。上限は {limit / 1024**2:,.0f} MB です。"
        )
    if isinstance(src, Path):
        shutil.copyfile(src, dest)
    else:
        with dest.open("wb") as fh:
            for chunk in src.chunks():
                fh.write(chunk)
    return dest


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            h.update(chunk)
    return h.hexdigest()


def table_name_from(text: str) -> str:
    """A safe table name (URL and folder) from a file or sheet name."""
    name = slugify(Path(text).stem, allow_unicode=False)[:60].strip("-")
    return name or f"table-{uuid.uuid4().hex[:8]}"


@transaction.atomic
def table_get_or_create(*, actor: Actor, dataset: Dataset, name: str, title: str = "") -> Table:
    """The dataset's table ``name``, created (audited) when it does not exist yet."""
    if not can(actor, Action.EDIT, dataset):
        raise PermissionDenied("このデータセットにデータを取り込む権限がありません。")
    table = Table.objects.filter(dataset=dataset, name=name).first()
    if table is not None:
        return table
    table = Table.objects.create(
        dataset=dataset, name=name, title=title or name, storage_key=uuid.uuid4().hex
    )
    audit_record(
        actor=actor, action="table.create", obj=table, changes={"dataset": dataset.slug, "name": name}
    )
    return table


@dataclass
class IngestSummary:
    """What an ingest committed (printed as JSON by the CLI, stored as the job's result)."""

    dataset: str
    table: str
    version: int
    rows: int
    columns: list[dict[str, str]]
    raw_columns: list[str] = field(default_factory=list)  # original text kept where a value was normalised
    warnings: list[str] = field(default_factory=list)
    issues: int = 0
    readability_score: float | None = None
    personal_data_columns: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def _sample(
    batches: Iterator[pa.RecordBatch], rows: int
) -> tuple[list[pa.RecordBatch], Iterator[pa.RecordBatch]]:
    """Take batches until ``rows`` rows are buffered; return them and the untouched rest."""
    buffered: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        buffered.append(batch)
        count += batch.num_rows
        if count >= rows:
            break
    return buffered, batches


def _empty_sample(columns: list[str]) -> pa.Table:
    return pa.table({c: pa.array([], pa.string()) for c in columns})


def _merge_wording(new: Any, old: dict[str, Any] | None) -> Any:
    """Keep the titles, descriptions and units staff wrote in the 項目定義 for fields that still exist."""
    from machidata.ingest.schema import TableSchema

    if not old:
        return new
    previous = {f.name: f for f in TableSchema.from_dict(old).fields}
    for f in new.fields:
        before = previous.get(f.name)
        if before is not None and before.type == f.type:
            f.source = f.source_column  # the reader's column, whatever the title becomes
            f.title = before.title or f.title
            f.description = before.description or f.description
            f.unit = before.unit if before.unit is not None else f.unit
    return new


def _pin_sources(schema: Any) -> dict[str, Any]:
    """The schema as stored on the table: every field names its source column explicitly."""
    for f in schema.fields:
        f.source = f.source_column
    return dict(schema.to_dict())


def _schema_for(
    *, table: Table, source: Any, sample: pa.Table, mode: str, overrides: dict[str, Any] | None = None
) -> Any:
    """The 項目定義 to write with: the table's own for an append (columns must match), else inferred."""
    from machidata.ingest import overrides as ov
    from machidata.ingest.schema import TableSchema

    if mode == "append" and table.current_version_id is not None and table.schema:
        schema = TableSchema.from_dict(table.schema)
        missing = [f.source_column for f in schema.fields if f.source_column not in source.columns]
        extra = [c for c in source.columns if c not in {f.source_column for f in schema.fields}]
        if missing or extra:
            raise InvalidInput(
                "追加するファイルの列が今の表と違います。"
                + (f" 足りない列: {'、'.join(missing)}。" if missing else "")
                + (f" 余分な列: {'、'.join(extra)}。" if extra else "")
                + " 同じ形のファイルにするか、「置き換え」で取り込んでください。",
                details={"missing": missing, "extra": extra},
            )
        return schema
    # The sheet-name column of combined sheets (４月, ５月 …) is a label, not a number of months.
    base = {SHEET_COLUMN: {"type": "string"}} if SHEET_COLUMN in source.columns else None
    inferred = ov.infer_with_overrides(
        sample, detection=source.detection, overrides=overrides, base_fields=base
    )
    return ov.apply_wording(_merge_wording(inferred, table.schema or None), overrides)


def _coalesce(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.RecordBatch]:
    """Join the reader's small batches (its parse blocks are ~1 MB) into batches of about ``rows`` rows."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        pending.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield from pa.Table.from_batches(pending).combine_chunks().to_batches()
            pending, count = [], 0
    if count:
        yield from pa.Table.from_batches(pending).combine_chunks().to_batches()


def _normalised(
    batches: Iterator[pa.RecordBatch], schema: Any, first_row: int
) -> Iterator[tuple[pa.RecordBatch, Any, list[Any]]]:
    """Normalise and validate batch by batch (run on the worker thread: no database access here)."""
    from machidata.ingest import normalise, validate

    parsed = normalise.ParseCache()  # distinct values parsed once per ingest, not once per batch
    unique = validate.UniqueState()
    done = 0
    for batch in batches:
        offset = first_row + done
        result = normalise.normalise_batch(batch, schema, row_offset=offset, cache=parsed)
        issues = validate.validate_batch(result.batch, schema, row_offset=offset, state=unique)
        done += batch.num_rows
        yield batch, result, issues


class _Ahead(Iterator[T]):
    """``items`` computed on a worker thread started at once, at most ``depth`` ahead of the consumer.

    pyarrow.compute, the CSV parser and the Delta writer release the GIL, so reading batch n+2 and
    normalising batch n+1 overlap writing batch n, and the reader starts while the sample is
    screened. An exception in the worker is raised by ``next``; ``close`` (or dropping the object)
    stops the worker, which then closes ``items``.
    """

    def __init__(self, items: Iterator[T], depth: int) -> None:
        box: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=depth)
        stop = threading.Event()

        def put(item: tuple[bool, Any]) -> bool:
            while not stop.is_set():
                try:
                    box.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def work() -> None:  # holds no reference to self, so a dropped _Ahead is collected and stops it
            try:
                for item in items:
                    if not put((True, item)):
                        return
                put((True, _END))
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
                put((False, exc))
            finally:  # stopped early: close the upstream stages (and their threads) from this thread
                close = getattr(items, "close", None)
                if close is not None:
                    close()

        self._box, self._stop, self._done = box, stop, False
        self._worker = threading.Thread(target=work, name="ingest-stage", daemon=True)
        self._worker.start()

    def __iter__(self) -> _Ahead[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        ok, item = self._box.get()
        if not ok:
            self.close()
            raise item
        if item is _END:
            self.close()
            raise StopIteration
        return item

    def close(self) -> None:
        """Stop the worker and wait for it (it closes its source)."""
        self._done = True
        self._stop.set()
        if self._worker is not threading.current_thread():
            self._worker.join()

    def __del__(self) -> None:
        self._stop.set()


_END = object()


def _ahead(items: Iterator[T], depth: int) -> _Ahead[T]:
    """Run ``items`` on a worker thread, at most ``depth`` ahead (see :class:`_Ahead`)."""
    return _Ahead(items, depth)


class _Background:
    """Run ``fn(*args)`` on a daemon thread; ``result()`` waits for it and returns it (or raises)."""

    def __init__(self, fn: Callable[..., T], *args: Any) -> None:
        self._value: Any = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._value = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - raised again in result()
                self._error = exc

        self._thread = threading.Thread(target=run, name="ingest-background", daemon=True)
        self._thread.start()

    def result(self) -> Any:
        """The function's value, once it has finished."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


_POOL_LOCK = threading.Lock()
_POOL: dict[str, Any] = {"users": 0, "before": None}  # running ingests; the default pool they replaced


@contextlib.contextmanager
def _arrow_pool() -> Iterator[None]:
    """Arrow allocates from jemalloc while ingests run (the previous default pool comes back after the last one).

    With pyarrow's default mimalloc pool, the ingest's short-lived 1-16 MB buffers are handed back
    to the system and faulted in again as zeroed (transparent) huge pages: on the 1M-row clean
    UTF-8 file, 15 % of the process's CPU samples were the kernel clearing pages (``perf``), against
    2.4 % with jemalloc, which keeps freed pages for reuse. Buffers remember their pool, so switching
    the default while others allocate is safe. Where pyarrow has no jemalloc, nothing changes.
    """
    with _POOL_LOCK:
        if _POOL["users"] == 0:
            try:
                pool = pa.jemalloc_memory_pool()
            except (NotImplementedError, pa.ArrowNotImplementedError):
                pool = None
            if pool is not None:
                _POOL["before"] = pa.default_memory_pool()
                pa.set_memory_pool(pool)
        _POOL["users"] += 1
    try:
        yield
    finally:
        with _POOL_LOCK:
            _POOL["users"] -= 1
            if _POOL["users"] == 0 and _POOL["before"] is not None:
                pa.set_memory_pool(_POOL["before"])
                _POOL["before"] = None


def ingest_file(
    *,
    actor: Actor,
    table: Table,
    path: Path,
    source_name: str,
    mode: str = "replace",
    options: dict[str, Any] | None = None,
    note: str = "",
    job_id: str = "",
    progress: Progress = _no_progress,
    overrides: dict[str, Any] | None = None,
) -> TableVersion:
    """Read ``path`` and commit it as the next version of ``table`` (replace or append), or nothing.

    ``overrides``: staff's types, units, titles and symbol meanings (see ``ingest.overrides``).
    """
    with _arrow_pool():
        return _ingest_file(
            actor=actor,
            table=table,
            path=path,
            source_name=source_name,
            mode=mode,
            options=options,
            note=note,
            job_id=job_id,
            progress=progress,
            overrides=overrides,
        )


def _ingest_file(
    *,
    actor: Actor,
    table: Table,
    path: Path,
    source_name: str,
    mode: str,
    options: dict[str, Any] | None,
    note: str,
    job_id: str,
    progress: Progress,
    overrides: dict[str, Any] | None,
) -> TableVersion:
    from machidata.ingest import normalise, readability, screen, validate
    from machidata.ingest.readers import ReadOptions, read_source
    from machidata.ingest.schema import schema_to_arrow
    from machidata.lake.faults import fault_point
    from machidata.lake.protocol import write_version

    if not can(actor, Action.EDIT, table.dataset):
        raise PermissionDenied("このデータセットにデータを取り込む権限がありません。")
    if mode not in {"replace", "append"}:
        raise InvalidInput("取り込み方法は「置き換え」か「追加」を選んでください。")
    opts = ReadOptions(**(options or {}))
    if opts.max_bytes is None:
        opts.max_bytes = settings.MACHIDATA_MAX_UPLOAD_BYTES
    progress(0, None, "ファイルを読み取っています")
    source = read_source(path, opts)
    # hashlib releases the GIL: hash the file on a thread while the sample is screened and inferred.
    digest = _Background(sha256_of, path)
    head, rest = _sample(source.batches, SAMPLE_ROWS)
    # The reader's batches overshoot SAMPLE_ROWS (15–18k rows at 1M): screen, infer and readability
    # cost in proportion, so they see exactly the first SAMPLE_ROWS rows (all rows are still ingested).
    sample = pa.Table.from_batches(head).slice(0, SAMPLE_ROWS) if head else _empty_sample(source.columns)
    fault_point("during_parse")  # crash tests: the file is half read, nothing written yet

    # The reader starts on its worker thread now and reads ahead while the sample is screened.
    reading = _ahead(_coalesce(itertools.chain(head, rest), BATCH_ROWS), READ_AHEAD_BATCHES)
    try:
        progress(0, None, "項目の型と個人情報を調べています")
        # A マイナンバー column stops here, before anything is written.
        screening = screen.screen_sample(sample)
        schema = _schema_for(table=table, source=source, sample=sample, mode=mode, overrides=overrides)
        # Typed sources (Parquet) have no original text to keep; text sources keep it in `__raw` columns.
        typed_source = bool(source.detection.get("typed"))
        arrow_schema = schema_to_arrow(schema) if typed_source else normalise.arrow_schema_with_raw(schema)
        report = validate.ValidationReport(limit=MAX_REPORTED_ISSUES)
        first_row = int(source.detection.get("data_start_row", 2) or 2)
        rows_done = 0
        reject = table.validation_policy == ValidationPolicy.REJECT

        def typed_batches() -> Iterator[pa.RecordBatch]:
            nonlocal rows_done
            # Three stages on three threads: read (pyarrow parse, CP932 decode), normalise, write.
            stage = _ahead(_normalised(reading, schema, first_row), PREFETCH_BATCHES)
            with contextlib.closing(stage):
                for batch, result, issues in stage:
                    report.add(result.issues + issues, extra_counts=result.failures)
                    if reject and not report.ok:
                        raise InvalidInput(
                            f"{report.summary_ja()}。取り込みを中止しました（何も保存していません）。"
                            "ファイルを直すか、表の設定を「警告つきで受け付ける」にしてください。",
                            details=report.to_dict(),
                        )
                    rows_done += batch.num_rows
                    progress(rows_done, None, f"{rows_done:,} 行を取り込んでいます")
                    yield result.batch if typed_source else result.with_raw()

        version = write_version(
            table=table,
            batches=typed_batches(),
            schema=arrow_schema,
            mode=mode,  # type: ignore[arg-type]
            lease_wait=settings.MACHIDATA_LEASE_WAIT_SECONDS,  # behind another import: wait, don't fail
            job_id=job_id or uuid.uuid4().hex,
            actor_user_id=actor.user_id,
            source_name=source_name,
            source_sha256=digest.result(),
            note=note,
            reports={
                "detection": _jsonable(source.detection),
                "validation": report.to_dict(),
                "screen": screening.to_dict(),
                "readability": readability.readability_report(
                    sample, schema, detection=source.detection
                ).to_dict(),
                "options": _jsonable(asdict(opts)),
                "overrides": _jsonable(overrides or {}),
            },
        )
    finally:
        reading.close()
    with transaction.atomic():
        if mode == "replace" or not table.schema:
            Table.objects.filter(pk=table.pk).update(schema=_pin_sources(schema))
        audit_record(
            actor=actor,
            action="data.ingest",
            obj=table,
            changes={"version": version.number, "rows": version.rows, "mode": mode, "source": source_name},
        )
    progress(rows_done, rows_done, "完了")
    return version


def _jsonable(value: Any) -> Any:
    """Detection dicts may hold tuples/paths; make them JSON values."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def summary_of(version: TableVersion) -> IngestSummary:
    """The summary of a committed version."""
    table = version.table
    fields = (version.schema or {}).get("fields", [])
    reports = version.reports or {}
    return IngestSummary(
        dataset=table.dataset.slug,
        table=table.name,
        version=version.number,
        rows=int(version.rows or 0),
        columns=[
            {"name": f.get("name", ""), "type": f.get("arrow_type") or f.get("type", "")} for f in fields
        ],
        issues=int((reports.get("validation") or {}).get("total", 0) or 0),
        readability_score=(reports.get("readability") or {}).get("score"),
        personal_data_columns=sorted({f["column"] for f in (reports.get("screen") or {}).get("flags", [])}),
    )
