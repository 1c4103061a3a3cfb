"""JSON shapes of the campaign API (/api/v1/campaigns)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema


class CampaignIn(Schema):
    """A new campaign: the table (``dataset-slug/table-name``), a deadline, recipients (unit ids and/or facility names)."""

    table: str
    title: str
    deadline: dt.date
    instructions: str = ""
    units: list[int] = []
    facilities: list[str] = []
    repeat: str = "none"


class CampaignRecipientOut(Schema):
    """One recipient and where it stands."""

    id: int
    name: str
    unit: str | None
    status: str
    rows: int
    answered_at: dt.datetime | None
    template_url: str


class CampaignProgressOut(Schema):
    """Counts per recipient status."""

    total: int
    answered: int
    needs_fix: int
    waiting: int
    percent: int


class CampaignOut(Schema):
    """A campaign with its progress and the recipients the caller may see."""

    id: int
    title: str
    table: str
    unit: str
    deadline: dt.date
    instructions: str
    status: str
    columns: list[dict[str, Any]]
    is_synthetic: bool
    repeat: str
    previous: int | None
    created_at: dt.datetime
    progress: CampaignProgressOut | None
    recipients: list[CampaignRecipientOut]


class CampaignSummaryOut(Schema):
    """A campaign in the list."""

    id: int
    title: str
    table: str
    unit: str
    deadline: dt.date
    status: str
    recipients: int
    answered: int


class CampaignSubmissionOut(Schema):
    """The outcome of a return (rejected returns answer 400 with the same message and report)."""

    id: int
    recipient: str
    status: str
    rows: int
    replaced_rows: int
    message: str
    version: int | None
    report: dict[str, Any]


class CampaignRowsIn(Schema):
    """A few rows typed by hand: each maps the template's headers to text."""

    rows: list[dict[str, Any]]


class ScheduleIn(Schema):
    """A folder import: the table (``dataset-slug/table-name``), the folder under the import root, a pattern, append/replace."""

    table: str
    folder: str
    pattern: str = "*.csv"
    mode: str = "append"


class ScheduleFileOut(Schema):
    """A file the import has seen."""

    name: str
    status: str
    rows: int | None
    version: int | None
    message: str
    created_at: dt.datetime


class ScheduleOut(Schema):
    """A folder import with its last check and (on the detail) the files it has seen."""

    id: int
    table: str
    folder: str
    pattern: str
    mode: str
    active: bool
    last_checked_at: dt.datetime | None
    last_error: str
    files: list[ScheduleFileOut]


class ScheduleScanOut(Schema):
    """What a check did."""

    ingested: list[str]
    failed: list[str]
    error: str
