"""Scheduled e-mail of notices: retries of the immediate ones every 10 minutes, the daily digest at 7:45."""

from __future__ import annotations

from machidata.jobs.runner import crontab, periodic


@periodic(crontab(minute="*/10"))
def send_pending_emails() -> None:
    """Every 10 minutes: e-mails of notices that could not be sent at once (mail server down or refusing)."""
    from machidata.notify.services import emails_send

    emails_send()


@periodic(crontab(hour="7", minute="45"))
def send_email_digests() -> None:
    """Daily: one e-mail per member of staff who chose まとめて, with every notice not yet mailed."""
    from machidata.notify.services import digests_send

    digests_send()
