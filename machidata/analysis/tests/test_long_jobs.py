"""Long analyses run as jobs (progress, time limit, cancel); short ones answer at once. API and page show progress."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from django.urls import reverse

from machidata.access.policy import actor_for
from machidata.analysis.models import Analysis, Status
from machidata.analysis.services import analysis_execute, analysis_run, runs_as_job
from machidata.analysis.tests.conftest import lake_home
from machidata.analysis.tests.test_services import DID, HOURLY, dispatch_table
from machidata.catalog.models import Table
from machidata.core.testing import Actors
from machidata.jobs.models import Job, JobStatus
from machidata.jobs.services import JobCancelled

__all__ = ["lake_home"]
pytestmark = pytest.mark.django_db(transaction=True)
J = "application/json"


def _frame(rows: int, *, units: bool) -> pd.DataFrame:
    frame = pd.DataFrame({"期間": range(rows), "値": 1})
    return frame.assign(単位="中央区") if units else frame


def test_which_analyses_run_as_jobs() -> None:
    daily = {"design": "forecast", "grain": "day"}
    assert runs_as_job({"design": "synthetic_control", "grain": "year"}, _frame(30, units=True))
    assert runs_as_job({**daily, "grain": "hour"}, _frame(500, units=False))
    assert not runs_as_job(daily, _frame(500, units=False))
    assert not runs_as_job(daily, _frame(3_000, units=True))
    assert runs_as_job(daily, _frame(3_001, units=True))
    assert not runs_as_job({"design": "did_staggered"}, _frame(20_000, units=True))
    assert runs_as_job({"design": "did_staggered"}, _frame(20_001, units=True))
    assert not runs_as_job(DID, _frame(900, units=True))


def test_analysis_over_its_time_limit_fails_with_the_reason(actors: Actors, lake_home: Any, settings) -> None:  # type: ignore[no-untyped-def]
    settings.MACHIDATA_JOB_TIME_LIMITS = ["analysis.run=0.5"]
    table, _ = dispatch_table(actors)
    actor = actor_for(actors.users["owner_editor"])
    analysis = analysis_run(actor=actor, table=table, title="上限つき", spec=HOURLY)
    assert analysis.status == Status.FAILED
    assert "時間の上限（0.5 秒）を超えたため止めました" in analysis.error
    assert analysis.result == {}
    job = Job.objects.get(pk=analysis.job_id)
    assert job.status == JobStatus.FAILED
    assert job.error == analysis.error


def test_cancelled_analysis_keeps_the_reason(actors: Actors, counter_table: Table) -> None:
    actor = actor_for(actors.users["owner_editor"])
    done = analysis_run(actor=actor, table=counter_table, title="取消の確認", spec=DID)

    def cancelled(frame: pd.DataFrame, spec: dict[str, Any]) -> dict[str, Any]:
        raise JobCancelled()

    with pytest.raises(JobCancelled):
        analysis_execute(actor=actor, analysis_id=done.pk, compute=cancelled)
    done.refresh_from_db()
    assert (done.status, done.error) == (Status.FAILED, "分析は取り消されました。")


def test_api_submit_gives_job_and_progress_then_result(actors: Actors, lake_home: Any) -> None:
    table, _ = dispatch_table(actors)
    client = actors.client("owner_editor")
    response = client.post(
        "/api/v1/analyses/", {"title": "来週の出動", "table_id": table.pk, "spec": HOURLY}, content_type=J
    )
    assert response.status_code == 201, response.content.decode()
    body = response.json()
    assert body["job_id"] is not None
    # Jobs run inline in tests, so the first answer is already the end of the poll.
    assert body["progress"]["job_status"] == "succeeded"
    assert (body["progress"]["done"], body["progress"]["total"], body["progress"]["percent"]) == (2, 2, 100)
    polled = client.get(f"/api/v1/analyses/{body['id']}").json()
    assert polled["status"] == "done"
    assert set(polled["result"]["details"]["units"]) == {"中央区", "北区"}
    assert client.get(f"/api/v1/jobs/{body['job_id']}").json()["status"] == "succeeded"


def test_short_analysis_answers_at_once_without_a_job(actors: Actors, counter_table: Table) -> None:
    client = actors.client("owner_editor")
    response = client.post(
        "/api/v1/analyses/", {"title": "差の差", "table_id": counter_table.pk, "spec": DID}, content_type=J
    )
    body = response.json()
    assert (body["status"], body["job_id"], body["progress"]) == ("done", None, None)


def test_page_of_a_running_analysis_shows_a_polled_progress_bar(actors: Actors, counter_table: Table) -> None:
    owner = actors.users["owner_editor"]
    job = Job.objects.create(
        kind="analysis.run",
        title="分析「区別の予測」",
        status=JobStatus.RUNNING,
        created_by=owner,
        progress_done=3,
        progress_total=5,
        phase="「東区」を予測しています（4/5）",
    )
    analysis = Analysis.objects.create(
        title="区別の予測", design="forecast", owner=owner, table=counter_table, spec=HOURLY, job=job
    )
    page = actors.client("owner_editor").get(reverse("analysis:detail", args=[analysis.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "進み具合" in html
    assert 'max="5" value="3"' in html
    assert "「東区」を予測しています（4/5）" in html
    assert f'hx-get="{reverse("jobs:progress", args=[job.pk])}"' in html
    Job.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED)
    Analysis.objects.filter(pk=analysis.pk).update(status=Status.DONE)
    assert (
        "進み具合"
        not in actors.client("owner_editor")
        .get(reverse("analysis:detail", args=[analysis.pk]))
        .content.decode()
    )
