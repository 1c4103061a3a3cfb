"""Time limits: per-kind limits and their settings, cooperative stops, a child process killed at the limit."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from machidata.access.policy import actor_for
from machidata.core.testing import Actors
from machidata.jobs.isolated import run_in_child
from machidata.jobs.models import Job, JobStatus
from machidata.jobs.services import (
    JobContext,
    JobTimedOut,
    job_fail_overdue,
    job_kind,
    job_submit,
    job_time_limit,
)
from machidata.jobs.tests import child_targets

pytestmark = pytest.mark.django_db


@job_kind("tests.slow_loop", time_limit=1)
def slow_loop(ctx: JobContext, *, steps: int) -> dict[str, Any]:
    ctx.progress(0, steps, phase="ゆっくり数えています")
    for done in range(1, steps + 1):
        time.sleep(0.05)
        ctx.progress(done)
    return {"steps": steps}


@job_kind("tests.child", time_limit=60)
def child_job(ctx: JobContext, *, target: str, **params: Any) -> Any:
    return run_in_child(ctx, getattr(child_targets, target), **params)


def _submit(actors: Actors, kind: str, **params: Any) -> Job:
    return job_submit(
        kind=kind, title="時間の上限の確認", params=params, actor=actor_for(actors.users["staff"])
    )


def test_limit_is_shown_in_plain_words() -> None:
    assert "（1 秒）" in JobTimedOut(1).message
    assert "（0.5 秒）" in JobTimedOut(0.5).message
    assert "（30 分）" in JobTimedOut(1800).message
    assert "（1 分 30 秒）" in JobTimedOut(90).message


def test_limit_comes_from_setting_override_then_kind_then_default(settings) -> None:  # type: ignore[no-untyped-def]
    settings.MACHIDATA_JOB_TIME_LIMIT_SECONDS = 123
    settings.MACHIDATA_JOB_TIME_LIMITS = []
    assert job_time_limit("tests.slow_loop") == 1
    assert job_time_limit("jobs.check") == 123  # declares none
    settings.MACHIDATA_JOB_TIME_LIMITS = ["tests.slow_loop=2.5", "jobs.check=7"]
    assert job_time_limit("tests.slow_loop") == 2.5
    assert job_time_limit("jobs.check") == 7
    settings.MACHIDATA_JOB_TIME_LIMITS = ["jobs.check"]
    with pytest.raises(ValueError, match="kind=seconds"):
        job_time_limit("jobs.check")


def test_job_over_its_limit_stops_at_next_progress_and_fails_in_japanese(actors: Actors) -> None:
    started = time.monotonic()
    job = _submit(actors, "tests.slow_loop", steps=200)  # 200 × 0.05 s = 10 s without the 1 s limit
    assert time.monotonic() - started < 5
    assert job.status == JobStatus.FAILED
    assert "時間の上限（1 秒）を超えたため止めました" in job.error
    assert 0 < job.progress_done < 200
    assert job.progress_total == 200


def test_setting_override_lets_the_same_job_finish(actors: Actors, settings) -> None:  # type: ignore[no-untyped-def]
    settings.MACHIDATA_JOB_TIME_LIMITS = ["tests.slow_loop=30"]
    job = _submit(actors, "tests.slow_loop", steps=30)
    assert (job.status, job.result) == (JobStatus.SUCCEEDED, {"steps": 30})


def test_child_result_and_progress_come_back(actors: Actors) -> None:
    job = _submit(actors, "tests.child", target="count_slowly", steps=3, pause=0.01)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["steps"] == 3
    assert job.result["pid"] != os.getpid()  # it really ran in another process
    assert (job.progress_done, job.progress_total) == (3, 3)


def test_child_stuck_in_one_call_is_killed_at_the_limit(actors: Actors, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.MACHIDATA_JOB_TIME_LIMITS = ["tests.child=4"]
    pid_file = tmp_path / "child.pid"
    started = time.monotonic()
    job = _submit(actors, "tests.child", target="sleep_forever", pid_file=str(pid_file))
    took = time.monotonic() - started
    assert job.status == JobStatus.FAILED
    assert "時間の上限（4 秒）を超えたため止めました" in job.error
    assert 4 <= took < 20
    assert job.phase == "一度に計算しています"  # the child's progress reached the job before it was stopped
    assert _gone(int(pid_file.read_text()))


def _gone(pid: int) -> bool:
    """No such process, or a zombie left for its new parent to reap (it no longer runs)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


def test_processes_the_child_started_are_stopped_with_it(actors: Actors, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.MACHIDATA_JOB_TIME_LIMITS = ["tests.child=4"]
    pid_file = tmp_path / "child.pid"
    job = _submit(actors, "tests.child", target="sleep_with_grandchild", pid_file=str(pid_file))
    assert job.status == JobStatus.FAILED
    assert "時間の上限" in job.error
    child, grandchild = (int(p) for p in pid_file.read_text().split())
    deadline = time.monotonic() + 5
    while not (_gone(child) and _gone(grandchild)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(child)
    assert _gone(grandchild)


def test_child_domain_error_is_the_jobs_message_and_crash_is_generic(actors: Actors) -> None:
    refused = _submit(actors, "tests.child", target="refuse")
    assert (refused.status, refused.error) == (JobStatus.FAILED, "期間が足りません。")
    crashed = _submit(actors, "tests.child", target="crash")
    assert crashed.status == JobStatus.FAILED
    assert "予期しないエラー" in crashed.error
    assert "internal detail" not in crashed.error


def test_overdue_backstop_fails_jobs_running_past_limit_and_grace(actors: Actors, settings) -> None:  # type: ignore[no-untyped-def]
    settings.MACHIDATA_JOB_STALE_SECONDS = 60
    settings.MACHIDATA_JOB_TIME_LIMITS = []
    now = timezone.now()
    rows = {}
    for name, age in (("late", 1 + 60 + 5), ("within_grace", 1 + 30)):
        job = Job.objects.create(kind="tests.slow_loop", title=name, status=JobStatus.RUNNING)
        Job.objects.filter(pk=job.pk).update(started_at=now - dt.timedelta(seconds=age), heartbeat_at=now)
        rows[name] = job
    assert job_fail_overdue() == 1
    late, within = (Job.objects.get(pk=rows[n].pk) for n in ("late", "within_grace"))
    assert late.status == JobStatus.FAILED
    assert "時間の上限（1 秒）" in late.error
    assert within.status == JobStatus.RUNNING
