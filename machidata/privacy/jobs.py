"""Scheduled work of the privacy room: the daily purge of expired versions (保存期間)."""

from __future__ import annotations

from machidata.jobs.runner import crontab, periodic


@periodic(crontab(hour="3", minute="10"))
def purge_expired_versions() -> None:
    """Daily at 3:10: remove expired, unpinned, non-current versions of personal-data datasets (audited)."""
    from machidata.privacy.retention import purge_expired

    purge_expired()
