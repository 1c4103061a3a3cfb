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
