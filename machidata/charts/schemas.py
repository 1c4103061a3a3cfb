"""JSON shapes of the chart API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from ninja import Schema


class ChartOut(Schema):
    """A chart as listed: who made it, how it is shared, which table."""

    uuid: uuid.UUID
    title: str
    description: str
    source: str
    sharing: str
    dataset: str
    table: str
    version_number: int | None
    updated_at: dt.datetime

    @staticmethod
    def resolve_dataset(obj: Any) -> str:
        """The dataset's slug."""
        return str(obj.table.dataset.slug)

    @staticmethod
    def resolve_table(obj: Any) -> str:
        """The table's name."""
        return str(obj.table.name)


class ChartDetailOut(ChartOut):
    """A chart with its document (query, visual, meta)."""

    document: dict[str, Any]


class ChartIn(Schema):
    """A new chart: its document (query with ``table``, ``group_by``, ``measures``; visual; meta)."""

    title: str
    document: dict[str, Any]
    description: str = ""
    source: str = ""
    sharing: Literal["private", "department", "staff"] = "private"


class SpecOut(Schema):
    """The Vega-Lite spec of a chart for the caller (data read now with their access) and its text alternative."""

    spec: dict[str, Any]
    description: str


class DashboardOut(Schema):
    """A dashboard: its grid items (chart uuids and text blocks) and shared filters."""

    uuid: uuid.UUID
    title: str
    description: str
    sharing: str
    items: list[dict[str, Any]]
    filters: list[dict[str, Any]]
    updated_at: dt.datetime
