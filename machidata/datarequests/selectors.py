"""Reading data requests: the requester, the routed 課 and 管理 see a request; others get 404."""

from __future__ import annotations

from typing import Final

from django.db.models import QuerySet

from machidata.access.models import Unit, UnitKind
from machidata.access.policy import Action, Actor, actor_for, can, restrict_routed
from machidata.core.errors import NotFound
from machidata.datarequests.models import DataRequest, DataRequestEvent, RequestStatus

SCOPES: Final = {"mine": "自分の要望", "department": "所属課に回付された要望", "all": "すべての要望"}

# What may be done to a request, by whom (status rules are the services' TRANSITIONS).
ROUTE, ANSWER, WITHDRAW, COMMENT = "route", "answer", "withdraw", "comment"


def restrict_requests(queryset: QuerySet[DataRequest], actor: Actor) -> QuerySet[DataRequest]:
    """Keep the requests ``actor`` may see: their own, those routed to their 課, all for 管理."""
    return restrict_routed(queryset, actor, owner_field="requested_by", unit_field="routed_unit")


def _base() -> QuerySet[DataRequest]:
    return DataRequest.objects.select_related(
        "requested_by", "requester_unit", "routed_unit", "suggested_unit", "answer_dataset", "answered_by"
    )


def data_request_list(
    *, actor: Actor, scope: str = "all", status: str | None = None
) -> QuerySet[DataRequest]:
    """The requests ``actor`` may see, newest first: ``mine``, routed to my 課 (``department``) or ``all`` seen."""
    rows = restrict_requests(_base(), actor)
    if scope == "mine":
        rows = rows.filter(requested_by_id=actor.user_id)
    elif scope == "department":
        rows = rows.filter(routed_unit_id__in=actor.unit_ids)
    if status in RequestStatus.values:
        rows = rows.filter(status=status)
    return rows.order_by("-created_at", "-id")


def data_request_get(*, actor: Actor, pk: int) -> DataRequest:
    """One request ``actor`` may see; missing and hidden both raise NotFound."""
    found = restrict_requests(_base(), actor).filter(pk=pk).first()
    if found is None:
        raise NotFound("データの要望が見つかりません。")
    return found


def data_request_timeline(*, request: DataRequest) -> QuerySet[DataRequestEvent]:
    """The request's status changes and comments, oldest first."""
    return request.events.select_related("actor", "unit").order_by("created_at", "id")


def request_roles(actor: Actor, request: DataRequest) -> set[str]:
    """What ``actor`` may do to a request they can see, whatever its status (管理 routes; the 課 answers)."""
    roles = {COMMENT}
    if actor.is_admin:
        roles |= {ROUTE, ANSWER}
    if request.routed_unit_id is not None and request.routed_unit_id in actor.unit_ids:
        roles.add(ANSWER)
    if actor.user_id == request.requested_by_id:
        roles.add(WITHDRAW)
    return roles


def route_unit_choices() -> QuerySet[Unit]:
    """Units a request can be routed to: today's 課 and 係."""
    return Unit.objects.active_on().filter(kind__in=[UnitKind.DIVISION, UnitKind.SECTION]).order_by("code")


def suggested_unit_choices() -> QuerySet[Unit]:
    """Units a requester may name as likely holders (the same list)."""
    return route_unit_choices()


def answer_dataset_visible(*, actor: Actor, request: DataRequest) -> bool:
    """Whether the viewer may see the dataset the answer links to (classification can change after the answer)."""
    dataset = request.answer_dataset
    return dataset is not None and can(actor, Action.DISCOVER, dataset)


def requester_actor(request: DataRequest) -> Actor:
    """The requester as the policy sees them today."""
    return actor_for(request.requested_by)
