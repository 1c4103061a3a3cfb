"""Reading jobs: a job is seen by the person who started it and by 管理; others get 404."""

from __future__ import annotations

from django.db.models import QuerySet

from machidata.access.policy import Actor, restrict_owned
from machidata.core.errors import NotFound
from machidata.jobs.models import Job


def restrict_jobs(queryset: QuerySet[Job], actor: Actor) -> QuerySet[Job]:
    """Keep the jobs ``actor`` may see: their own, or all for 管理; none for the anonymous public."""
    return restrict_owned(queryset, actor, owner_field="created_by")


def job_list(*, actor: Actor) -> QuerySet[Job]:
    """The jobs ``actor`` may see, newest first."""
    return restrict_jobs(Job.objects.select_related("created_by", "unit"), actor).order_by(
        "-created_at", "-id"
    )


def job_get(*, actor: Actor, pk: int) -> Job:
    """One job ``actor`` may see; missing and hidden both raise NotFound."""
    job = restrict_jobs(Job.objects.select_related("created_by", "unit"), actor).filter(pk=pk).first()
    if job is None:
        raise NotFound("処理が見つかりません。")
    return job
