"""JSON shapes of the job API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema

from machidata.jobs.models import Job


class JobOut(Schema):
    """A job as the API shows it."""

    id: int
    kind: str
    title: str
    status: str
    status_label: str
    progress_done: int
    progress_total: int | None
    progress_unit: str
    progress_unit_label: str
    percent: int | None
    phase: str
    cancel_requested: bool
    result: Any = None
    error: str
    created_by: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    heartbeat_at: dt.datetime | None

    @staticmethod
    def resolve_status_label(obj: Job) -> str:
        return obj.get_status_display()

    @staticmethod
    def resolve_progress_unit_label(obj: Job) -> str:
        return obj.get_progress_unit_display()

    @staticmethod
    def resolve_created_by(obj: Job) -> str | None:
        return obj.created_by.get_username() if obj.created_by_id and obj.created_by else None
