"""Input and output shapes of the organisation API."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema

from machidata.access.models import ApiToken, Unit
from machidata.core.schemas import ErrorOut  # noqa: F401 — re-exported for this room's routers


class DepartmentOut(Schema):
    """A unit of the organisation in force."""

    code: str
    name: str
    full_name: str
    kind: str = Field(
        description="bureau, ward_office, commission, enterprise, department, division, section"
    )
    kind_label: str
    parent_code: str | None
    mailbox: str
    phone: str
    valid_from: dt.date
    valid_to: dt.date | None

    @staticmethod
    def of(unit: Unit) -> DepartmentOut:
        """Build from a unit (with its parent loaded)."""
        return DepartmentOut(
            code=unit.code,
            name=unit.name,
            full_name=unit.full_name,
            kind=unit.kind,
            kind_label=unit.get_kind_display(),
            parent_code=unit.parent.code if unit.parent else None,
            mailbox=unit.mailbox,
            phone=unit.phone,
            valid_from=unit.valid_from,
            valid_to=unit.valid_to,
        )


class TokenIn(Schema):
    """A new personal API token."""

    name: str = Field(max_length=100, description="何に使うトークンか（例: BIツール）")


class TokenOut(Schema):
    """A personal API token (never its value)."""

    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @staticmethod
    def of(token: ApiToken) -> TokenOut:
        """Build from a token row."""
        return TokenOut(
            id=token.pk,
            name=token.name,
            prefix=token.prefix,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )


class TokenCreatedOut(TokenOut):
    """A token just created: ``token`` is its value, shown this once only."""

    token: str
