"""Job services: submit → inline run, failures, cancel, heartbeat/throttling, stale recovery."""

from __future__ import annotations

import datetime as dt
import logging
import os

import pytest
from django.utils import timezone

from machidata.access.policy import ANONYMOUS, actor_for
from machidata.audit.models import AuditEvent
from machidata.core.errors import Conflict, NotFound
from machidata.core.testing import Actors
from machidata.jobs import services
from machidata.jobs.jobs import recover_stale_jobs
from machidata.jobs.models import Job, JobStatus
from machidata.jobs.runner import PERIODIC, huey
from machidata.jobs.selectors import restrict_jobs
from machidata.jobs.services import (
    ORPHAN_MESSAGE,
    STALE_MESSAGE,
    JobCancelled,
    JobContext,
    job_cancel,
    job_execute,
    job_fail_orphans,
    job_recover_stale,
    job_submit,
)
from machidata.jobs.tests.conftest import CALLS, queued_job

pytestmark = pytest.mark.django_db


def _actor(actors: Actors, name: str):  # type: ignore[no-untyped-def]
    return actor_for(actors.users[name])


def test_submit_runs_inline_and_stores_result(actors: Actors) -> None:
    actor = _actor(actors, "owner_viewer")
    job = job_submit(kind="tests.count", title="行数の確認", params={"rows": 7}, actor=actor)
    assert job.status == JobStatus.SUCCEEDED
    assert job.result == {"rows": 7, "actor": actors.users["owner_viewer"].username}
    assert (job.progress_done, job.progress_total, job.progress_unit) == (7, 7, "rows")
    assert job.get_progress_unit_display() == "行"
    assert job.percent == 100
    assert job.phase == "数えています"
    assert job.created_by == actors.users["owner_viewer"]
    assert job.attempts == 1
    assert job.worker_pid == os.getpid()
    assert job.started_at is not None
    assert job.finished_at is not None
    assert job.started_at <= job.finished_at


def test_submit_enqueues_only_after_commit(
    actors: Actors, settings, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    settings.MACHIDATA_JOBS_IMMEDIATE = False
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = job_submit(kind="tests.count", title="後で", params={"rows": 1}, actor=_actor(actors, "staff"))
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert job.get_status_display() == "待機中"


def test_domain_error_stores_its_japanese_message(actors: Actors) -> None:
    job = job_submit(kind="tests.domain_error", title="取り込み", actor=_actor(actors, "staff"))
    assert job.status == JobStatus.FAILED
    assert job.error == "1行目の日付「令和x年」を読み取れません。"
    assert job.get_status_display() == "失敗"
    assert job.progress_done == 1


def test_unexpected_error_stores_generic_message_and_logs(
    actors: Actors, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="machidata.jobs"):
        job = job_submit(kind="tests.crash", title="壊れる処理", actor=_actor(actors, "staff"))
    assert job.status == JobStatus.FAILED
    assert "予期しないエラー" in job.error
    assert f"処理番号 {job.pk}" in job.error
    assert "internal detail" not in job.error
    logged = [r for r in caplog.records if f"job {job.pk}" in r.getMessage()]
    assert logged
    assert logged[0].exc_info is not None


def test_unknown_kind_and_unserialisable_params_are_refused(actors: Actors) -> None:
    with pytest.raises(ValueError, match="unknown job kind"):
        job_submit(kind="tests.nope", title="x", actor=_actor(actors, "staff"))
    with pytest.raises(ValueError, match="JSON"):
        job_submit(kind="tests.count", title="x", params={"rows": object()}, actor=_actor(actors, "staff"))
    assert not Job.objects.exists()


def test_job_with_unregistered_kind_fails_in_runner(actors: Actors) -> None:
    job = queued_job(actor=_actor(actors, "staff"))
    Job.objects.filter(pk=job.pk).update(kind="tests.removed")
    job_execute(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "登録されていない" in job.error


def test_cancel_queued_job_at_once_and_audited(actors: Actors) -> None:
    owner = _actor(actors, "owner_viewer")
    job = queued_job(actor=owner)
    cancelled = job_cancel(job=job, actor=owner)
    assert cancelled.status == JobStatus.CANCELLED
    assert cancelled.get_status_display() == "取消"
    assert cancelled.finished_at is not None
    event = AuditEvent.objects.get(action="job.cancel")
    assert event.object_id == str(job.pk)
    assert event.changes["status"] == {"before": "queued", "after": "cancelled"}
    # the runner later skips it
    job_execute(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert job.attempts == 0


def test_cancel_running_job_stops_at_next_progress(actors: Actors) -> None:
    owner = actors.users["owner_viewer"]
    job = job_submit(
        kind="tests.cancel_self", title="長い処理", params={"by_user_id": owner.pk}, actor=actor_for(owner)
    )
    assert CALLS == ["first half"]
    assert job.status == JobStatus.CANCELLED
    assert job.cancel_requested
    assert job.error == ""
    assert AuditEvent.objects.filter(action="job.cancel", object_id=str(job.pk)).count() == 1


def test_only_visible_jobs_can_be_cancelled_and_not_twice(actors: Actors) -> None:
    owner = _actor(actors, "owner_viewer")
    job = queued_job(actor=owner)
    for name in ("staff", "owner_editor"):
        with pytest.raises(NotFound):
            job_cancel(job=job, actor=_actor(actors, name))
    with pytest.raises(NotFound):
        job_cancel(job=job, actor=ANONYMOUS)
    job_cancel(job=job, actor=_actor(actors, "admin"))
    with pytest.raises(Conflict):
        job_cancel(job=job, actor=owner)
    assert AuditEvent.objects.filter(action="job.cancel").count() == 1


def _running(actors: Actors, *, heartbeat_age: float) -> Job:
    job = queued_job(actor=_actor(actors, "staff"))
    beat = timezone.now() - dt.timedelta(seconds=heartbeat_age)
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, started_at=beat, heartbeat_at=beat, worker_pid=4242, worker_host="h1"
    )
    return job


def test_recover_stale_fails_only_silent_running_jobs(actors: Actors, settings) -> None:  # type: ignore[no-untyped-def]
    settings.MACHIDATA_JOB_STALE_SECONDS = 60
    dead = _running(actors, heartbeat_age=61)
    alive = _running(actors, heartbeat_age=5)
    waiting = queued_job(actor=_actor(actors, "staff"))
    assert job_recover_stale() == 1
    dead.refresh_from_db()
    alive.refresh_from_db()
    waiting.refresh_from_db()
    assert (dead.status, dead.error) == (JobStatus.FAILED, STALE_MESSAGE)
    assert dead.finished_at is not None
    assert alive.status == JobStatus.RUNNING
    assert waiting.status == JobStatus.QUEUED
    assert job_recover_stale() == 0


def test_fail_orphans_of_a_stopped_runner(actors: Actors) -> None:
    mine = _running(actors, heartbeat_age=1)
    other = _running(actors, heartbeat_age=1)
    Job.objects.filter(pk=other.pk).update(worker_pid=5555)
    assert job_fail_orphans(pid=4242, host="h1") == 1
    mine.refresh_from_db()
    other.refresh_from_db()
    assert (mine.status, mine.error) == (JobStatus.FAILED, ORPHAN_MESSAGE)
    assert other.status == JobStatus.RUNNING


def test_progress_writes_are_throttled_and_heartbeat(actors: Actors, monkeypatch: pytest.MonkeyPatch) -> None:
    job = _running(actors, heartbeat_age=30)
    old_beat = Job.objects.get(pk=job.pk).heartbeat_at
    ctx = JobContext(Job.objects.get(pk=job.pk))
    ctx.progress(10, 100)  # first report writes
    row = Job.objects.get(pk=job.pk)
    assert (row.progress_done, row.progress_total) == (10, 100)
    assert row.heartbeat_at > old_beat
    ctx.progress(20)  # within the interval: no write
    assert Job.objects.get(pk=job.pk).progress_done == 10
    monkeypatch.setattr(services, "PROGRESS_INTERVAL", 0.0)
    ctx.progress(30)
    assert Job.objects.get(pk=job.pk).progress_done == 30


def test_progress_raises_when_job_was_taken_away(actors: Actors) -> None:
    job = _running(actors, heartbeat_age=1)
    ctx = JobContext(Job.objects.get(pk=job.pk))
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error=STALE_MESSAGE)
    with pytest.raises(JobCancelled):
        ctx.check_cancel()


def test_recovered_job_keeps_failure_when_its_process_finishes_late(actors: Actors) -> None:
    job = _running(actors, heartbeat_age=1)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error=STALE_MESSAGE)
    assert not services._finish(job.pk, JobStatus.SUCCEEDED, result={"late": True})
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.result is None


def test_stale_recovery_is_scheduled_every_minute() -> None:
    schedule = PERIODIC["machidata.jobs.jobs.recover_stale_jobs"]
    for minute in (0, 1, 37, 59):
        assert schedule.schedule(dt.datetime(2025, 4, 1, 3, minute))
    assert "machidata.jobs.jobs.recover_stale_jobs" in huey._registry._registry
    assert schedule.fn is recover_stale_jobs


def test_restrict_jobs_owner_and_admin_only(actors: Actors) -> None:
    owner = _actor(actors, "owner_viewer")
    mine = queued_job(actor=owner)
    system = job_submit(kind="tests.count", title="定期処理", params={"rows": 1}, actor=None)
    qs = Job.objects.all()
    assert set(restrict_jobs(qs, owner)) == {mine}
    assert set(restrict_jobs(qs, _actor(actors, "owner_editor"))) == set()
    assert set(restrict_jobs(qs, _actor(actors, "admin"))) == {mine, system}
    assert set(restrict_jobs(qs, ANONYMOUS)) == set()
    assert system.result == {"rows": 1, "actor": "system:jobs"}


def test_per_user_limit_counts_only_that_persons_waiting_and_running_jobs_of_the_kind(
    actors: Actors, settings, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    settings.MACHIDATA_JOBS_IMMEDIATE = False
    me, other = _actor(actors, "owner_editor"), _actor(actors, "staff")
    with django_capture_on_commit_callbacks(execute=False):
        first = job_submit(kind="tests.count", title="1", params={"rows": 1}, actor=me, per_user_limit=2)
        job_submit(kind="tests.count", title="2", params={"rows": 1}, actor=me, per_user_limit=2)
        with pytest.raises(Conflict, match="同時に進められるのは 2 件まで"):
            job_submit(kind="tests.count", title="3", params={"rows": 1}, actor=me, per_user_limit=2)
        # someone else, or no limit, is not affected
        job_submit(kind="tests.count", title="他の人", params={"rows": 1}, actor=other, per_user_limit=2)
        job_submit(kind="tests.count", title="上限なし", params={"rows": 1}, actor=me)
        # a finished job frees its place
        Job.objects.filter(pk=first.pk).update(status=JobStatus.SUCCEEDED)
        Job.objects.filter(title="上限なし").update(status=JobStatus.FAILED)
        job_submit(kind="tests.count", title="4", params={"rows": 1}, actor=me, per_user_limit=2)
    assert Job.objects.filter(created_by=actors.users["owner_editor"], status=JobStatus.QUEUED).count() == 2
