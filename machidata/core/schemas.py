"""API schemas every room shares (one class per OpenAPI name: the document keys schemas by name)."""

from __future__ import annotations

from typing import Annotated, Any

from ninja import Schema
from pydantic import Field

# Bounds every room's parameters share: beyond them a database answers with an overflow, not a page.
MAX_OFFSET = 1_000_000_000
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET, description="先頭から飛ばす件数")]
FiscalYear = Annotated[int, Field(ge=1900, le=2200, description="年度（西暦、4月始まり）")]


class ErrorOut(Schema):
    """A Japanese message, with per-field details when there are some."""

    detail: str
    errors: Any = None
