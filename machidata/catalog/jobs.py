"""Job kinds of the catalog: restoring an earlier version (版) of a table as a new version."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from machidata.access.policy import Action, can
from machidata.audit.services import audit_record
from machidata.catalog.models import Table, TableVersion, VersionStatus
from machidata.core.errors import NotFound, PermissionDenied
from machidata.jobs.services import JobContext, job_kind


@job_kind("catalog.restore_version")
def restore_version_job(ctx: JobContext, *, table_id: int, version_id: int, note: str = "") -> dict[str, Any]:
    """「この版に戻す」: write a new version equal to an old one, then audit it (the lake write runs outside transactions)."""
    from machidata.lake.protocol import restore_version

    table = Table.objects.select_related("dataset", "dataset__owner").filter(pk=table_id).first()
    old = TableVersion.objects.filter(
        pk=version_id, table_id=table_id, status=VersionStatus.COMMITTED
    ).first()
    if table is None or old is None:
        raise NotFound("戻す先の版が見つかりません。")
    # The requester may have lost the right meanwhile (the job may wait in the queue).
    if not can(ctx.actor, Action.EDIT, table.dataset):
        raise PermissionDenied("この表を編集する権限がなくなったため、版を戻せませんでした。")
    ctx.progress(0, old.rows or 0, phase=f"第{old.number}版を書き戻しています")
    new = restore_version(
        table=table, version=old, job_id=f"job-{ctx.job_id}", actor_user_id=ctx.created_by_id, note=note
    )
    with transaction.atomic():
        audit_record(
            actor=ctx.actor,
            action="table.version_restore",
            obj=new,
            changes={
                "dataset": table.dataset.slug,
                "table": table.name,
                "restored_from": old.number,
                "version": new.number,
                "rows": new.rows,
            },
        )
    ctx.progress(new.rows or 0, new.rows or 0, phase="完了")
    from django.urls import reverse

    return {
        "table_id": table.pk,
        "restored_from": old.number,
        "version": new.number,
        "rows": new.rows,
        # The job page shows ``message`` and ``link`` (the jobs room's result convention).
        "message": f"「{table.title}」を第{old.number}版に戻し、第{new.number}版（{new.rows or 0:,} 行）を作りました。",
        "link": {
            "url": reverse("catalog:table_detail", args=[table.dataset.slug, table.name]),
            "label": "表を見る",
        },
    }


# ---- schedules -------------------------------------------------------------------------------------

from machidata.jobs.runner import crontab, periodic  # noqa: E402 - kept with the schedule it serves


@periodic(crontab(minute="17"), name="system_datasets_refresh")
def system_datasets_hourly() -> None:
    """Every hour (at :17, away from the top-of-hour rush): refresh the system datasets when their rows changed."""
    from machidata.catalog.system_datasets import system_datasets_refresh

    system_datasets_refresh()
