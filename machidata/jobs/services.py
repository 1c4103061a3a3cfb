"""Background work: registering job kinds, submitting, running with progress, cancelling, recovering.

A room declares a kind of job in its ``jobs.py``::

    @job_kind("ingest.upload", unit=ProgressUnit.BYTES)
    def ingest_upload(ctx: JobContext, *, upload_id: int) -> dict:
        for done in ...:
            ctx.progress(done, total, phase="読み込み中")   # heartbeats, raises JobCancelled if cancelled
        return {"rows": n}                               # stored as the job's result (JSON)

and starts one with ``job_submit(kind="ingest.upload", title="…の取り込み", params={...}, actor=actor)``.

Every job has a time limit (``@job_kind(..., time_limit=seconds)``, else MACHIDATA_JOB_TIME_LIMIT_SECONDS;
MACHIDATA_JOB_TIME_LIMITS overrides per kind). A job over its limit is stopped at its next progress report and
marked failed with :data:`TIME_LIMIT_MESSAGE`; work that spends minutes in one call runs in a child process
with :func:`machidata.jobs.isolated.run_in_child`, which kills the child at the limit.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from machidata.access.models import Unit
from machidata.access.policy import Actor, actor_for, system_actor
from machidata.audit.services import audit_record
from machidata.core.context import reset_request_meta, set_request_meta
from machidata.core.errors import Conflict, MachidataError, NotFound
from machidata.jobs.models import Job, JobStatus, ProgressUnit

logger = logging.getLogger("machidata.jobs")

STALE_MESSAGE = "処理プロセスが停止したため中断しました"
ORPHAN_MESSAGE = "処理ランナーが停止したため中断しました"
UNKNOWN_KIND_MESSAGE = "この種類の処理は実行できません（登録されていない処理です）。"
TIME_LIMIT_MESSAGE = (
    "処理が時間の上限（{limit}）を超えたため止めました。対象の期間や範囲を絞って、もう一度お試しください。"
    "上限はデータ戦略課が設定しています（MACHIDATA_JOB_TIME_LIMITS）。"
)
# Seconds between two progress writes: progress may be reported per row, the database sees at most this.
PROGRESS_INTERVAL = 0.5

SYSTEM_ACTOR = system_actor("jobs")


def _generic_error(job_id: int) -> str:
    return (
        f"処理中に予期しないエラーが発生しました（処理番号 {job_id}）。"
        "時間をおいてもう一度お試しください。続く場合はデータ戦略課にお問い合わせください。"
    )


class JobCancelled(Exception):  # noqa: N818 - a signal to stop, not an error
    """Raised by :meth:`JobContext.progress` when the job was cancelled (or taken away) meanwhile."""


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:g} 秒"
    minutes, rest = divmod(round(seconds), 60)
    if minutes and rest:
        return f"{minutes} 分 {rest} 秒"
    return f"{minutes} 分" if minutes else f"{rest} 秒"


class JobTimedOut(MachidataError):  # noqa: N818 - a user-facing stop, like the other domain errors
    """Raised when a job ran past its kind's time limit; the job is then marked failed with this message."""

    def __init__(self, limit: float) -> None:
        super().__init__(TIME_LIMIT_MESSAGE.format(limit=_duration(limit)))
        self.limit = limit

    def __reduce__(self) -> tuple[Any, ...]:
        return (JobTimedOut, (self.limit,))


# ---- registry of job kinds --------------------------------------------------------------------


@dataclass(frozen=True)
class JobKind:
    """A registered kind of job: its name, function and progress unit."""

    name: str
    fn: Callable[..., Any]
    unit: str
    time_limit: int | None = None


JOB_KINDS: dict[str, JobKind] = {}


def job_kind(
    name: str, *, unit: str = ProgressUnit.ITEMS, time_limit: int | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn(job_context, **params)`` as the job kind ``name``; its return value is the result.

    ``time_limit``: the kind's own limit in seconds (default MACHIDATA_JOB_TIME_LIMIT_SECONDS); the setting
    MACHIDATA_JOB_TIME_LIMITS can override it per kind.
    """

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        existing = JOB_KINDS.get(name)
        if existing is not None and existing.fn is not fn and existing.fn.__qualname__ != fn.__qualname__:
            raise ValueError(f"job kind {name!r} is already registered by {existing.fn!r}")
        JOB_KINDS[name] = JobKind(name, fn, str(unit), time_limit)
        return fn

    return decorator


def _limit_overrides() -> dict[str, float]:
    overrides: dict[str, float] = {}
    for item in settings.MACHIDATA_JOB_TIME_LIMITS:
        kind, sep, seconds = str(item).partition("=")
        try:
            value = float(seconds)
        except ValueError:
            value = 0.0
        if not sep or not kind.strip() or value <= 0:
            raise ValueError(f"MACHIDATA_JOB_TIME_LIMITS: {item!r} is not kind=seconds (seconds > 0)")
        overrides[kind.strip()] = value
    return overrides


def job_time_limit(kind: str) -> float:
    """Seconds a job of ``kind`` may run: MACHIDATA_JOB_TIME_LIMITS, else the kind's own, else the default."""
    override = _limit_overrides().get(kind)
    if override is not None:
        return override
    spec = JOB_KINDS.get(kind)
    if spec is not None and spec.time_limit is not None:
        return float(spec.time_limit)
    return float(settings.MACHIDATA_JOB_TIME_LIMIT_SECONDS)


# ---- the context handed to a running job ------------------------------------------------------


class JobContext:
    """What a job function gets: its job id and actor, and :meth:`progress` (heartbeat + cancel check)."""

    def __init__(self, job: Job) -> None:
        self.job_id: int = job.pk
        self.kind: str = job.kind
        self.created_by_id: int | None = job.created_by_id
        self.done: int = job.progress_done
        self.total: int | None = job.progress_total
        self.phase: str = job.phase
        self.unit: str = job.progress_unit
        self.time_limit: float = job_time_limit(job.kind)
        self._deadline = time.monotonic() + self.time_limit
        self._last_flush = float("-inf")

    def seconds_left(self) -> float:
        """Seconds until the job's time limit (negative once over it)."""
        return self._deadline - time.monotonic()

    def check_time(self) -> None:
        """Raise JobTimedOut when the job has run past its kind's time limit."""
        if self.seconds_left() <= 0:
            raise JobTimedOut(self.time_limit)

    @cached_property
    def actor(self) -> Actor:
        """The actor the job acts for: its creator as of now, or the system for scheduled jobs."""
        if self.created_by_id is None:
            return SYSTEM_ACTOR
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.filter(pk=self.created_by_id).first()
        return actor_for(user) if user is not None else SYSTEM_ACTOR

    def progress(
        self, done: int, total: int | None = None, phase: str | None = None, *, unit: str | None = None
    ) -> None:
        """Report progress; writes at most every PROGRESS_INTERVAL s, raises JobCancelled if cancelled and
        JobTimedOut past the time limit."""
        self.check_time()
        self.done = int(done)
        force = False
        if total is not None:
            self.total = int(total)
        if phase is not None and phase != self.phase:
            self.phase = phase[:200]
            force = True  # a new phase is worth showing at once
        if unit is not None and unit != self.unit:
            self.unit = str(unit)
            force = True
        now = time.monotonic()
        if not force and now - self._last_flush < PROGRESS_INTERVAL:
            return
        self._flush(now)

    def check_cancel(self) -> None:
        """Write the current progress now; raise JobCancelled if the job was cancelled, JobTimedOut if late."""
        self.check_time()
        self._flush(time.monotonic())

    def _flush(self, now: float) -> None:
        self._last_flush = now
        # One statement both heartbeats and checks cancel: it matches nothing once cancel is requested
        # or the job is no longer ours (e.g. recovered as stale while this process was stuck).
        updated = Job.objects.filter(pk=self.job_id, status=JobStatus.RUNNING, cancel_requested=False).update(
            progress_done=self.done,
            progress_total=self.total,
            phase=self.phase,
            progress_unit=self.unit,
            heartbeat_at=timezone.now(),
        )
        if not updated:
            raise JobCancelled()


# ---- writes ---------------------------------------------------------------------------------------


def _json_value(value: Any, *, what: str) -> Any:
    try:
        return json.loads(json.dumps(value, ensure_ascii=False, default=_json_default))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"job {what} must be JSON-serialisable: {exc}") from exc


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def job_submit(
    *,
    kind: str,
    title: str,
    params: dict[str, Any] | None = None,
    actor: Actor | None,
    unit: Unit | None = None,
    per_user_limit: int | None = None,
) -> Job:
    """Create a Job row and put it on the queue once the surrounding transaction commits.

    ``per_user_limit``: refuse (Conflict, in Japanese) when the actor already has that many jobs of this
    kind waiting or running, so that one person cannot fill the queue (and the disk) for everyone.
    """
    from machidata.jobs.runner import enqueue_job

    spec = JOB_KINDS.get(kind)
    if spec is None:
        raise ValueError(f"unknown job kind {kind!r}; declare it with @job_kind in a jobs.py")
    if per_user_limit is not None and actor is not None and actor.user_id is not None:
        active = Job.objects.filter(
            kind=kind, created_by_id=actor.user_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
        ).count()
        if active >= per_user_limit:
            raise Conflict(
                f"同時に進められるのは {per_user_limit} 件までです（いま {active} 件が待機中または実行中）。"
                "終わってからもう一度お試しください。進み具合は「処理状況」で確認できます。"
            )
    job = Job.objects.create(
        kind=kind,
        title=title[:200],
        params=_json_value(params or {}, what="params"),
        created_by_id=actor.user_id if actor is not None else None,
        unit=unit,
        progress_unit=spec.unit,
    )
    if settings.MACHIDATA_JOBS_IMMEDIATE:
        # Tests: run inline now (huey's immediate mode), even inside the test's transaction.
        enqueue_job(job.pk)
        job.refresh_from_db()
    else:
        # The runner must see the row: enqueue only after it is committed (and never if rolled back).
        transaction.on_commit(lambda: enqueue_job(job.pk))
    return job


def job_cancel(*, job: Job, actor: Actor) -> Job:
    """Cancel a job: a queued one at once, a running one at its next progress report (audited)."""
    from machidata.jobs.selectors import restrict_jobs

    with transaction.atomic():
        current = restrict_jobs(Job.objects.select_for_update(), actor).filter(pk=job.pk).first()
        if current is None:
            raise NotFound("処理が見つかりません。")
        before = current.status
        if current.status == JobStatus.QUEUED:
            current.status = JobStatus.CANCELLED
            current.cancel_requested = True
            current.finished_at = timezone.now()
            current.save(update_fields=["status", "cancel_requested", "finished_at"])
        elif current.status == JobStatus.RUNNING:
            if current.cancel_requested:
                return current  # asked already; the job stops at its next progress report
            current.cancel_requested = True
            current.save(update_fields=["cancel_requested"])
        else:
            raise Conflict("この処理はすでに終了しているため、取り消せません。")
        audit_record(
            actor=actor,
            action="job.cancel",
            obj=current,
            changes={"status": {"before": before, "after": current.status}, "kind": current.kind},
        )
    return current


def job_recover_stale() -> int:
    """Mark running jobs whose heartbeat is older than MACHIDATA_JOB_STALE_SECONDS as failed; returns how many."""
    now = timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.MACHIDATA_JOB_STALE_SECONDS)
    with transaction.atomic():
        stale = Job.objects.filter(status=JobStatus.RUNNING).filter(
            Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
        )
        ids = list(stale.values_list("pk", flat=True))
        if not ids:
            return 0
        count = Job.objects.filter(pk__in=ids, status=JobStatus.RUNNING).update(
            status=JobStatus.FAILED, error=STALE_MESSAGE, finished_at=now
        )
    logger.warning("recovered %d stale job(s): %s", count, ids)
    return count


def job_fail_overdue() -> int:
    """Mark running jobs past their time limit (plus MACHIDATA_JOB_STALE_SECONDS of grace) as failed.

    The backstop for a job stuck in one call in the runner's own thread: it stops at its next progress report
    (which then finds the job no longer running) and its late result is not kept."""
    now = timezone.now()
    grace = dt.timedelta(seconds=settings.MACHIDATA_JOB_STALE_SECONDS)
    overdue: dict[int, float] = {}
    for pk, kind, started in Job.objects.filter(
        status=JobStatus.RUNNING, started_at__isnull=False
    ).values_list("pk", "kind", "started_at"):
        limit = job_time_limit(kind)
        if started is not None and started + dt.timedelta(seconds=limit) + grace < now:
            overdue[pk] = limit
    count = 0
    for pk, limit in overdue.items():
        count += Job.objects.filter(pk=pk, status=JobStatus.RUNNING).update(
            status=JobStatus.FAILED, error=JobTimedOut(limit).message, finished_at=now
        )
    if count:
        logger.warning("failed %d job(s) over their time limit: %s", count, sorted(overdue))
    return count


def job_fail_orphans(*, pid: int, host: str) -> int:
    """Mark jobs still running in the given runner process as failed (called when that runner stops)."""
    count = Job.objects.filter(status=JobStatus.RUNNING, worker_pid=pid, worker_host=host).update(
        status=JobStatus.FAILED, error=ORPHAN_MESSAGE, finished_at=timezone.now()
    )
    if count:
        logger.warning("marked %d job(s) of stopped runner pid %s as failed", count, pid)
    return count


# ---- execution (in the job runner) ---------------------------------------------------------------


def _finish(job_id: int, status: str, **fields: Any) -> bool:
    """Close a job that is still running as ours; a job recovered meanwhile keeps its recorded end."""
    now = timezone.now()
    return bool(
        Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
            status=status, finished_at=now, heartbeat_at=now, **fields
        )
    )


class _Heartbeat:
    """Keeps a running job's heartbeat fresh from a side thread while its process is alive.

    Progress reports heartbeat too, but a job may spend minutes in one call (a big query); the
    heartbeat means "the process is alive", which is what stale recovery asks.
    """

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.interval = max(1.0, settings.MACHIDATA_JOB_STALE_SECONDS / 4)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"job-{job_id}-heartbeat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    Job.objects.filter(pk=self.job_id, status=JobStatus.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                except Exception:  # a busy database must not kill the job; the next beat tries again
                    logger.warning("heartbeat of job %s failed", self.job_id, exc_info=True)
        finally:
            connection.close()


def job_execute(job_id: int) -> None:
    """Run one queued job to its end: succeeded, failed (message stored) or cancelled; never raises."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        worker_pid=os.getpid(),
        worker_host=socket.gethostname()[:255],
        attempts=F("attempts") + 1,
    )
    if not claimed:
        logger.info("job %s is no longer queued (cancelled or taken); skipped", job_id)
        return
    job = Job.objects.get(pk=job_id)
    spec = JOB_KINDS.get(job.kind)
    if spec is None:
        logger.error("job %s has unknown kind %r", job_id, job.kind)
        _finish(job_id, JobStatus.FAILED, error=UNKNOWN_KIND_MESSAGE)
        return
    ctx = JobContext(job)
    token = set_request_meta(request_id=f"job-{job_id}", ip="", actor=ctx.actor.label())
    try:
        _run(job, spec, ctx)
    finally:
        reset_request_meta(token)


def _run(job: Job, spec: JobKind, ctx: JobContext) -> None:
    immediate = bool(settings.MACHIDATA_JOBS_IMMEDIATE)
    try:
        if immediate:
            value = spec.fn(ctx, **job.params)
        else:
            with _Heartbeat(job.pk):
                value = spec.fn(ctx, **job.params)
        result = _json_value(value, what="result")
    except JobCancelled:
        logger.info("job %s cancelled", job.pk)
        _finish(job.pk, JobStatus.CANCELLED, progress_done=ctx.done, phase=ctx.phase)
    except MachidataError as exc:
        logger.info("job %s failed: %s", job.pk, exc.message)
        _finish(job.pk, JobStatus.FAILED, error=exc.message, progress_done=ctx.done, phase=ctx.phase)
    except Exception:
        logger.exception("job %s (%s) failed", job.pk, job.kind, extra={"job_id": job.pk})
        if not immediate:
            close_old_connections()  # a broken connection must not also lose the failure record
        _finish(
            job.pk, JobStatus.FAILED, error=_generic_error(job.pk), progress_done=ctx.done, phase=ctx.phase
        )
    else:
        total = ctx.total if ctx.total is not None else ctx.done
        _finish(job.pk, JobStatus.SUCCEEDED, result=result, progress_done=ctx.done, progress_total=total)
