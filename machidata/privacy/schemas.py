"""JSON shapes of the 利用申請 API (names prefixed ``Access`` so they clash with no other room's)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema


class AccessRequestIn(Schema):
    """A 利用申請 on a dataset the caller may discover but not read."""

    dataset: str = Field(description="データセットの URL 名")
    purpose: str
    columns: list[str] = Field(default_factory=list, description="必要な項目（表名.項目名）、空なら全項目")
    starts_on: dt.date
    ends_on: dt.date
    legal_basis: Literal["internal", "other_purpose"]
    legal_ground: str = ""


class AccessActIn(Schema):
    """A decision on the current step."""

    decision: Literal["approve", "return", "reject"]
    comment: str = ""


class AccessRenewIn(Schema):
    """A new end date for a granted access."""

    ends_on: dt.date
    comment: str = ""


class AccessRevokeIn(Schema):
    """Why the access ends now."""

    reason: str


class AccessListParams(Schema):
    """Which requests the list returns."""

    scope: Literal["mine", "awaiting", "department", "all"] = "mine"


class AccessStepOut(Schema):
    """One step of the route and where it stands."""

    label: str
    state: str
    by: str
    on_behalf_of: str
    candidates: list[str]


class AccessRequestOut(Schema):
    """A 利用申請 and its route."""

    id: int
    dataset: str
    status: str
    status_label: str
    requested_by: str
    purpose: str
    columns: list[str]
    starts_on: dt.date
    ends_on: dt.date
    legal_basis: str
    legal_ground: str
    route: str
    steps: list[AccessStepOut]
    created_at: dt.datetime
    decided_at: dt.datetime | None
