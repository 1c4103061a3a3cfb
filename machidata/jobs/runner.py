"""The job queue: one huey instance (SQLite file by default, Redis in production) and periodic schedules.

Only this module imports huey. Rooms declare work with :func:`machidata.jobs.services.job_kind` and
schedules with :func:`periodic`; they never touch the queue directly.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from huey import Huey, RedisHuey, SqliteHuey
from huey import crontab as _crontab

logger = logging.getLogger("machidata.jobs")

QUEUE_NAME = "machidata"

crontab = _crontab  # re-exported so rooms write ``@periodic(crontab(minute="*/5"))`` without importing huey


def _make_huey() -> Huey:
    immediate = bool(settings.MACHIDATA_JOBS_IMMEDIATE)
    if settings.MACHIDATA_REDIS_URL:
        return RedisHuey(QUEUE_NAME, url=settings.MACHIDATA_REDIS_URL, immediate=immediate, results=False)
    # Tables are created on first use (ensure_queue), not at import, so importing this module never
    # writes a file (e.g. in a process that only renders pages, or before MACHIDATA_HOME exists).
    return SqliteHuey(
        QUEUE_NAME,
        filename=str(settings.MACHIDATA_JOBS_QUEUE_FILE),
        immediate=immediate,
        results=False,
        create_tables=False,
        timeout=20,
    )


huey: Huey = _make_huey()
_queue_ready = False


def ensure_queue() -> None:
    """Create the queue's storage (folder and tables) if needed, and follow the immediate-mode setting."""
    global _queue_ready  # noqa: PLW0603 - a process-wide "done once" flag
    # Tests switch MACHIDATA_JOBS_IMMEDIATE per test; huey swaps to in-memory storage when immediate.
    huey.immediate = bool(settings.MACHIDATA_JOBS_IMMEDIATE)
    if huey.immediate or _queue_ready:
        return
    if isinstance(huey, SqliteHuey):
        settings.MACHIDATA_JOBS_QUEUE_FILE.parent.mkdir(parents=True, exist_ok=True)
        huey.storage.initialize_schema()
    _queue_ready = True


def _with_db(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Close stale database connections around a task, as Django does around a request."""

    @functools.wraps(fn)
    def inner(*args: Any, **kwargs: Any) -> Any:
        if not huey.immediate:
            close_old_connections()
        try:
            return fn(*args, **kwargs)
        finally:
            if not huey.immediate:
                close_old_connections()

    return inner


@huey.task(name="run_job")
@_with_db
def run_job(job_id: int) -> None:
    """The one huey task: run the Job row ``job_id`` (its kind says which function)."""
    from machidata.jobs.services import job_execute

    job_execute(job_id)


def enqueue_job(job_id: int) -> None:
    """Put a job on the queue (or, in immediate mode, run it now in this process)."""
    ensure_queue()
    run_job(job_id)


@dataclass(frozen=True)
class PeriodicSchedule:
    """A function run by the job runner on a schedule."""

    name: str
    schedule: Callable[[Any], bool]
    fn: Callable[[], Any]


PERIODIC: dict[str, PeriodicSchedule] = {}


def periodic(schedule: Callable[[Any], bool], *, name: str = "") -> Callable[[Callable[[], Any]], Any]:
    """Run the decorated function on ``schedule`` (a :func:`crontab`) in the job runner.

    Registered as ``<module>.<name or function name>`` (the key of :data:`PERIODIC`).
    The function takes no arguments; errors are logged and never stop the runner. Declare schedules
    in your room's ``jobs.py`` (imported by every process at start-up).
    """

    def decorator(fn: Callable[[], Any]) -> Any:
        short = name or fn.__qualname__
        task_name = f"{fn.__module__}.{short}"  # the name huey registers it under

        @functools.wraps(fn)
        def guarded() -> Any:
            try:
                return fn()
            except Exception:
                logger.exception("periodic task %s failed", task_name)
                return None

        PERIODIC[task_name] = PeriodicSchedule(task_name, schedule, fn)
        huey.periodic_task(schedule, name=short)(_with_db(guarded))
        return fn

    return decorator
