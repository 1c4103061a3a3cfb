"""JSON shapes of the chart API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from django.urls import reverse
from ninja import Schema

from machidata.charts.public import STATE_PUBLIC, public_state


def _public_state(obj: Any) -> str:
    return public_state(obj)


def _public_url(obj: Any, name: str) -> str | None:
    return reverse(name, args=[obj.uuid]) if public_state(obj) == STATE_PUBLIC else None


class ChartOut(Schema):
    """A chart as listed: who made it, how it is shared (and its 公開 state), which table."""

    uuid: uuid.UUID
    title: str
    description: str
    source: str
    sharing: str
    public: str  # 非公開 / 公開申請中 / 公開中 / 公開停止中（元の表が公開されていません）
    public_url: str | None  # the page on the open-data site while 公開中
    dataset: str
    table: str
    version_number: int | None
    updated_at: dt.datetime

    @staticmethod
    def resolve_public(obj: Any) -> str:
        """The 公開 state, decided now (the source tables' publication is checked)."""
        return _public_state(obj)

    @staticmethod
    def resolve_public_url(obj: Any) -> str | None:
        """The public page while the chart is 公開中."""
        return _public_url(obj, "charts_public:chart")

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
    public: str  # 非公開 / 公開申請中 / 公開中 / 公開停止中（元の表が公開されていません）
    public_url: str | None
    items: list[dict[str, Any]]
    filters: list[dict[str, Any]]
    updated_at: dt.datetime

    @staticmethod
    def resolve_public(obj: Any) -> str:
        """The 公開 state, decided now."""
        return _public_state(obj)

    @staticmethod
    def resolve_public_url(obj: Any) -> str | None:
        """The public page while the dashboard is 公開中."""
        return _public_url(obj, "charts_public:dashboard")


class ShareRequestIn(Schema):
    """A 公開申請 (or the reason for stopping publication): an optional note for the approvers."""

    reason: str = ""


class ShareRequestOut(Schema):
    """A 公開申請 of a chart or dashboard: where it stands on its route."""

    id: int
    kind: str
    status: str
    current_step: int
    steps: list[dict[str, Any]]
    fingerprint: str
    created_at: dt.datetime


class PublicStateOut(Schema):
    """The 公開 state after a change."""

    public: str
