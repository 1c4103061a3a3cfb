"""Job pages: who sees what (owner and 管理 only), progress polling, cancel."""

from __future__ import annotations

import pytest
from django.urls import reverse

from machidata.access.policy import actor_for
from machidata.core.testing import Actors, check_statuses
from machidata.jobs.models import Job, JobStatus
from machidata.jobs.services import job_submit
from machidata.jobs.tests.conftest import queued_job

pytestmark = pytest.mark.django_db

DETAIL_EXPECTED = {
    "anonymous": 302,
    "staff": 404,
    "owner_viewer": 200,
    "owner_editor": 404,  # same 課, but a job is its creator's
    "other_editor": 404,
    "admin": 200,
}


def test_list_requires_login_and_shows_own_jobs(actors: Actors, done_job: Job) -> None:
    url = reverse("jobs:list")
    check_statuses(actors, lambda c: c.get(url), dict.fromkeys(DETAIL_EXPECTED, 200) | {"anonymous": 302})
    assert actors.client("anonymous").get(url)["Location"].startswith(reverse("login"))
    mine = actors.client("owner_viewer").get(url).content.decode()
    assert "人口データの取り込み" in mine
    assert "完了" in mine
    other = actors.client("staff").get(url).content.decode()
    assert "人口データの取り込み" not in other
    assert "表示できる処理はまだありません" in other
    admin = actors.client("admin").get(url).content.decode()
    assert "人口データの取り込み" in admin
    assert "依頼者" in admin


def test_list_pages(actors: Actors, settings) -> None:  # type: ignore[no-untyped-def]
    settings.MACHIDATA_PAGE_SIZE = 2
    owner = actor_for(actors.users["owner_viewer"])
    for i in range(5):
        queued_job(actor=owner, title=f"処理{i}")
    body = actors.client("owner_viewer").get(reverse("jobs:list") + "?page=3").content.decode()
    assert "3 / 3 ページ" in body
    assert "処理0" in body
    assert "処理4" not in body


def test_detail_and_progress_visible_to_owner_and_admin_only(actors: Actors, done_job: Job) -> None:
    for name in ("jobs:detail", "jobs:progress"):
        url = reverse(name, args=[done_job.pk])
        check_statuses(actors, lambda c, url=url: c.get(url), DETAIL_EXPECTED, label=name)
    missing = reverse("jobs:detail", args=[done_job.pk + 1000])
    assert actors.client("admin").get(missing).status_code == 404


def test_finished_job_shows_full_bar_and_result_without_polling(actors: Actors, done_job: Job) -> None:
    body = actors.client("owner_viewer").get(reverse("jobs:detail", args=[done_job.pk])).content.decode()
    assert '<progress id="job-progress-bar" class="progress" max="12" value="12">' in body
    assert "hx-trigger" not in body
    assert "この処理を取り消す" not in body
    assert "12 / 12 行" in body


def test_active_job_polls_its_progress_partial(actors: Actors) -> None:
    job = queued_job(actor=actor_for(actors.users["owner_viewer"]))
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, progress_done=3, progress_total=12, phase="検証中"
    )
    partial = actors.client("owner_viewer").get(reverse("jobs:progress", args=[job.pk]))
    body = partial.content.decode()
    assert f'hx-get="{reverse("jobs:progress", args=[job.pk])}"' in body
    assert 'hx-trigger="every 2s"' in body
    assert 'value="3"' in body
    assert "25%" in body
    assert "段階：検証中" in body
    assert "<html" not in body  # a fragment, not a page
    assert "no-cache" in partial["Cache-Control"]


def test_failed_job_shows_its_message(actors: Actors) -> None:
    job = job_submit(
        kind="tests.domain_error", title="取り込み", actor=actor_for(actors.users["owner_viewer"])
    )
    body = actors.client("owner_viewer").get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert "「令和x年」を読み取れません" in body
    assert 'role="alert"' in body


def test_cancel_permissions(actors: Actors) -> None:
    job = queued_job(actor=actor_for(actors.users["owner_viewer"]))
    url = reverse("jobs:cancel", args=[job.pk])
    # the hidden ones first: they must not change the job
    check_statuses(
        actors,
        lambda c: c.post(url),
        {"anonymous": 302, "staff": 404, "owner_editor": 404, "other_editor": 404},
    )
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    check_statuses(actors, lambda c: c.post(url), {"owner_viewer": 302})
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert actors.client("owner_viewer").get(url).status_code == 405


def test_cancel_redirects_with_message_and_second_cancel_is_refused(actors: Actors) -> None:
    job = queued_job(actor=actor_for(actors.users["owner_viewer"]))
    client = actors.client("owner_viewer")
    response = client.post(reverse("jobs:cancel", args=[job.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("jobs:detail", args=[job.pk])
    assert "処理を取り消しました。" in response.content.decode()
    again = client.post(reverse("jobs:cancel", args=[job.pk]), follow=True).content.decode()
    assert "すでに終了しているため、取り消せません" in again


def test_cancel_of_running_job_is_a_request(actors: Actors) -> None:
    job = queued_job(actor=actor_for(actors.users["owner_viewer"]))
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    body = actors.client("admin").post(reverse("jobs:cancel", args=[job.pk]), follow=True).content.decode()
    assert "取消を依頼しました" in body
    assert "取消を依頼済み" in body
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
    assert job.cancel_requested


def test_cancel_form_carries_csrf_token(actors: Actors) -> None:
    job = queued_job(actor=actor_for(actors.users["owner_viewer"]))
    body = actors.client("owner_viewer").get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert f'action="{reverse("jobs:cancel", args=[job.pk])}"' in body
    assert 'name="csrfmiddlewaretoken"' in body
