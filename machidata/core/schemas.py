"""API schemas every room shares (one class per OpenAPI name: the document keys schemas by name)."""

from __future__ import annotations

from typing import Any

from ninja import Schema


class ErrorOut(Schema):
    """A Japanese message, with per-field details when there are some."""

    detail: str
    errors: Any = None
