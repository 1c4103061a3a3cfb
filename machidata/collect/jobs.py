"""Scheduled work of collection: campaign reminders and freshness notices, every morning at 8:30."""

from __future__ import annotations

from machidata.jobs.runner import crontab, periodic


@periodic(crontab(hour="8", minute="30"))
def send_campaign_reminders() -> None:
    """Daily: 締切前 and 締切後 reminders of open campaigns (each sent once per recipient and kind)."""
    from machidata.collect.services import reminders_send

    reminders_send()


@periodic(crontab(hour="8", minute="35"))
def send_freshness_reminders() -> None:
    """Daily: tell the owners of overdue datasets (once per due date)."""
    from machidata.collect.freshness import freshness_reminders_send

    freshness_reminders_send()


@periodic(crontab(minute="*/15"))
def scan_import_folders() -> None:
    """Every 15 minutes: ingest new files of every active folder import (one failing never stops the others)."""
    from machidata.collect.imports import import_sources_scan_all

    import_sources_scan_all()


@periodic(crontab(hour="8", minute="25"))
def start_repeating_campaigns() -> None:
    """Daily: start the next month's (or year's) period of repeating campaigns whose deadline has passed."""
    from machidata.collect.services import campaigns_repeat

    campaigns_repeat()


from machidata.jobs.models import ProgressUnit  # noqa: E402 - kept with the job kind it serves
from machidata.jobs.services import JobContext, job_kind  # noqa: E402


@job_kind("collect.opendata_import", unit=ProgressUnit.ITEMS)
def opendata_import_job(ctx: JobContext, *, run_id: int) -> dict[str, object]:
    """Bring in an オープンデータ一覧 or a CKAN portal's datasets, one dataset at a time, with progress."""
    from django.urls import reverse

    from machidata.collect.models import OpenDataRun
    from machidata.collect.opendata import STATUS_LABELS, opendata_execute

    run = OpenDataRun.objects.select_related("owner").get(pk=run_id)
    result = opendata_execute(actor=ctx.actor, run=run, progress=ctx.progress)
    counts = result["counts"]
    words = "、".join(f"{STATUS_LABELS[k]} {n}件" for k, n in counts.items() if n)
    return {
        "counts": counts,
        # The job page shows ``message`` and ``link`` (the jobs room's result convention).
        "message": f"オープンデータの取り込みが終わりました（{words}）。",
        "link": {"url": reverse("collect:opendata_detail", args=[run.pk]), "label": "取り込みの結果を見る"},
    }
