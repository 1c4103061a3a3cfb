"""The audit room's schedule: seal the audit log every minute (see ``audit.seals``)."""

from __future__ import annotations

from machidata.audit.seals import audit_seal
from machidata.jobs.runner import crontab, periodic


@periodic(crontab(minute="*"))
def seal_audit_log() -> None:
    """Every minute: seal the events older than MACHIDATA_AUDIT_SEAL_GRACE_SECONDS."""
    audit_seal()
