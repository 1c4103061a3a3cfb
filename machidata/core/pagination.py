"""The API's page-number pagination, with a page number a database can still turn into an offset."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from ninja import Field, Schema
from ninja.pagination import PageNumberPagination

MAX_PAGE = 1_000_000


class Pages(PageNumberPagination):
    """django-ninja's PageNumberPagination whose ``page`` is bounded (a huge page overflowed SQLite's OFFSET)."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE, description="ページ番号（1から）")
        page_size: int | None = Field(None, ge=1, le=1000, description="1ページの件数")


class LazyPage:
    """A list view of a queryset for :class:`Pages` that converts only the requested page's rows.

    An operation whose items are dictionaries built per row (figures computed, labels looked up)
    returns ``LazyPage(queryset, convert)``: the paginator counts with one ``COUNT`` and slices, so
    only the page's rows are read and converted, however long the list grows.
    """

    def __init__(self, rows: QuerySet[Any], convert: Callable[[Any], dict[str, Any]]) -> None:
        self.rows, self.convert = rows, convert

    def __len__(self) -> int:
        return int(self.rows.count())

    def __getitem__(self, index: slice) -> list[dict[str, Any]]:
        return [self.convert(row) for row in self.rows[index]]
