"""The API's page-number pagination, with a page number a database can still turn into an offset."""

from __future__ import annotations

from ninja import Field, Schema
from ninja.pagination import PageNumberPagination

MAX_PAGE = 1_000_000


class Pages(PageNumberPagination):
    """django-ninja's PageNumberPagination whose ``page`` is bounded (a huge page overflowed SQLite's OFFSET)."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE, description="ページ番号（1から）")
        page_size: int | None = Field(None, ge=1, le=1000, description="1ページの件数")
