"""JSON shapes of the data request API."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Schema

from machidata.access.auth import api_actor
from machidata.datarequests.models import DataRequest, DataRequestEvent
from machidata.datarequests.selectors import answer_dataset_visible, data_request_timeline


class UnitRef(Schema):
    """A unit as the API names it."""

    id: int
    code: str
    name: str


class RequestListParams(Schema):
    """Which requests the list returns."""

    scope: Literal["mine", "department", "all"] = "all"
    status: Literal["received", "routed", "answered", "withdrawn"] | None = None


class DataRequestIn(Schema):
    """A new request."""

    title: str
    description: str
    purpose: str
    period: str = ""
    suggested_unit_id: int | None = None
    search_query: str = ""


class RouteIn(Schema):
    """Route to a 課 (管理)."""

    unit_id: int
    note: str = ""


class AnswerIn(Schema):
    """The routed 課's answer; ``dataset`` is a catalog URL name (slug) or id."""

    kind: Literal["exists", "will_create", "cannot_provide"]
    text: str = ""
    dataset: str = ""
    expected_on: dt.date | None = None


class WithdrawIn(Schema):
    """Why the requester withdraws (optional)."""

    reason: str = ""


class CommentIn(Schema):
    """A comment."""

    body: str


class EventOut(Schema):
    """One timeline entry."""

    id: int
    kind: str
    kind_label: str
    actor: str
    body: str
    unit: UnitRef | None
    status_from: str
    status_to: str
    created_at: dt.datetime

    @staticmethod
    def resolve_kind_label(obj: DataRequestEvent) -> str:
        return obj.get_kind_display()

    @staticmethod
    def resolve_actor(obj: DataRequestEvent) -> str:
        return obj.actor_label


class DataRequestOut(Schema):
    """A request as the API shows it (the answer's dataset only when the caller may discover it)."""

    id: int
    title: str
    description: str
    purpose: str
    period: str
    search_query: str
    status: str
    status_label: str
    requested_by: str
    requester_unit: UnitRef | None
    suggested_unit: UnitRef | None
    routed_unit: UnitRef | None
    routed_at: dt.datetime | None
    answer_kind: str
    answer_kind_label: str
    answer_text: str
    answer_dataset: str | None = None
    answer_expected_on: dt.date | None
    answered_at: dt.datetime | None
    withdrawn_at: dt.datetime | None
    created_at: dt.datetime

    @staticmethod
    def resolve_status_label(obj: DataRequest) -> str:
        return obj.get_status_display()

    @staticmethod
    def resolve_answer_kind_label(obj: DataRequest) -> str:
        return obj.get_answer_kind_display() if obj.answer_kind else ""

    @staticmethod
    def resolve_requested_by(obj: DataRequest) -> str:
        return obj.requested_by.get_username()

    @staticmethod
    def resolve_answer_dataset(obj: DataRequest, context: dict[str, Any]) -> str | None:
        # Named only when the caller may discover it: a classification can tighten after the answer.
        actor = api_actor(context["request"])
        visible = answer_dataset_visible(actor=actor, request=obj)
        return obj.answer_dataset.slug if visible and obj.answer_dataset else None


class DataRequestDetailOut(DataRequestOut):
    """A request with its timeline."""

    events: list[EventOut]

    @staticmethod
    def resolve_events(obj: DataRequest) -> list[DataRequestEvent]:
        return list(data_request_timeline(request=obj))
