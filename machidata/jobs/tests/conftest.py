"""Job kinds used by the job tests (registered once, at import) and small helpers."""

from __future__ import annotations

from typing import Any

import pytest

from machidata.core.errors import InvalidInput
from machidata.jobs.models import Job, ProgressUnit
from machidata.jobs.services import JobContext, job_cancel, job_kind, job_submit

# What the test job functions did, to show a cancelled job stopped where it should.
CALLS: list[str] = []


@job_kind("tests.count", unit=ProgressUnit.ROWS)
def count_rows(ctx: JobContext, *, rows: int) -> dict[str, Any]:
    ctx.progress(0, rows, phase="数えています")
    for done in range(1, rows + 1):
        ctx.progress(done)
    return {"rows": rows, "actor": ctx.actor.label()}


@job_kind("tests.domain_error")
def domain_error(ctx: JobContext) -> None:
    ctx.progress(1, 4)
    raise InvalidInput("1行目の日付「令和x年」を読み取れません。")


@job_kind("tests.crash")
def crash(ctx: JobContext) -> None:
    raise ZeroDivisionError("internal detail that must not reach the user")


@job_kind("tests.cancel_self")
def cancel_self(ctx: JobContext, *, by_user_id: int) -> None:
    """Simulates another request cancelling this job while it runs (inline in tests)."""
    from django.contrib.auth import get_user_model

    from machidata.access.policy import actor_for

    ctx.progress(0, 10, phase="前半")
    CALLS.append("first half")
    job_cancel(
        job=Job.objects.get(pk=ctx.job_id), actor=actor_for(get_user_model().objects.get(pk=by_user_id))
    )
    ctx.progress(5, phase="後半")  # a new phase writes at once, so cancel is noticed here
    CALLS.append("second half")  # never reached


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    CALLS.clear()


def queued_job(*, actor: Any, title: str = "待機中の処理") -> Job:
    """A job left queued: submitted without the inline runner and never committed to the queue."""
    from django.conf import settings

    old = settings.MACHIDATA_JOBS_IMMEDIATE
    settings.MACHIDATA_JOBS_IMMEDIATE = False
    try:
        # inside the test's transaction the on-commit enqueue never fires
        return job_submit(kind="tests.count", title=title, params={"rows": 3}, actor=actor)
    finally:
        settings.MACHIDATA_JOBS_IMMEDIATE = old


@pytest.fixture
def done_job(actors: Any) -> Job:
    """A finished job of owner_viewer (jobs run inline in tests)."""
    from machidata.access.policy import actor_for

    return job_submit(
        kind="tests.count",
        title="人口データの取り込み",
        params={"rows": 12},
        actor=actor_for(actors.users["owner_viewer"]),
    )
