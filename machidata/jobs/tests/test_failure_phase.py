"""A failed job tells in which phase it stopped, with its Japanese message."""

from __future__ import annotations

import pytest
from django.urls import reverse

from machidata.access.policy import actor_for
from machidata.core.errors import InvalidInput
from machidata.core.testing import Actors, check_statuses
from machidata.jobs.models import Job, JobStatus
from machidata.jobs.services import JobContext, job_kind, job_submit

pytestmark = pytest.mark.django_db


@job_kind("tests.fail_in_phase")
def fail_in_phase(ctx: JobContext) -> None:
    ctx.progress(0, 10, phase="ファイルを読み取っています")
    ctx.progress(3, phase="項目の型を調べています")
    raise InvalidInput("3行目の「人口」が数値として読めません。")


def test_failed_job_page_names_the_phase_and_the_error(actors: Actors) -> None:
    job = job_submit(
        kind="tests.fail_in_phase", title="取り込み", actor=actor_for(actors.users["owner_viewer"])
    )
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.phase == "項目の型を調べています"
    url = reverse("jobs:detail", args=[job.pk])
    check_statuses(
        actors,
        lambda c: c.get(url),
        {"anonymous": 302, "staff": 404, "owner_viewer": 200, "other_editor": 404, "admin": 200},
    )
    body = actors.client("owner_viewer").get(url).content.decode()
    assert "「項目の型を調べています」の段階で止まりました。" in body
    assert "3行目の「人口」が数値として読めません。" in body


def test_failure_before_any_phase_shows_only_the_error(actors: Actors) -> None:
    job = job_submit(
        kind="tests.domain_error", title="取り込み", actor=actor_for(actors.users["owner_viewer"])
    )
    assert Job.objects.get(pk=job.pk).phase == ""
    body = actors.client("owner_viewer").get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert "の段階で止まりました" not in body
    assert "「令和x年」を読み取れません" in body
