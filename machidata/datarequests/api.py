"""Data request API (/api/v1/data-requests): list, file, read, route, answer, withdraw, comment.

Signed-in callers only (401 otherwise); requests the caller may not see answer 404.
"""

# No ``from __future__ import annotations`` here: @paginate re-reads the list endpoint's parameter
# annotations in django-ninja's own namespace, where the string "Query[...]" cannot be resolved.
from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import paginate

from machidata.access.auth import api_staff
from machidata.core.pagination import Pages
from machidata.datarequests import services
from machidata.datarequests.models import DataRequest
from machidata.datarequests.schemas import (
    AnswerIn,
    CommentIn,
    DataRequestDetailOut,
    DataRequestIn,
    DataRequestOut,
    EventOut,
    RequestListParams,
    RouteIn,
    WithdrawIn,
)
from machidata.datarequests.selectors import data_request_get, data_request_list

router = Router(tags=["data-requests"])


@router.get("/", response=list[DataRequestOut], summary="データの要望の一覧")
@paginate(Pages, page_size=settings.MACHIDATA_PAGE_SIZE)
def list_requests(request: HttpRequest, params: Query[RequestListParams]) -> QuerySet[DataRequest]:
    """Requests the caller may see (mine, routed to my 課, or all seen), newest first."""
    return data_request_list(actor=api_staff(request), scope=params.scope, status=params.status)


@router.post("/", response={201: DataRequestDetailOut}, summary="データの要望を出す")
def create_request(request: HttpRequest, payload: DataRequestIn) -> Status:
    """File a request for data that could not be found; 管理 is notified."""
    actor = api_staff(request)
    created = services.data_request_create(actor=actor, **payload.dict())
    return Status(201, data_request_get(actor=actor, pk=created.pk))


@router.get("/{int:request_id}", response=DataRequestDetailOut, summary="データの要望と経過")
def get_request(request: HttpRequest, request_id: int) -> DataRequest:
    """One request with its timeline."""
    actor = api_staff(request)
    return data_request_get(actor=actor, pk=request_id)


@router.post("/{int:request_id}/route", response=DataRequestDetailOut, summary="担当課へ回付（管理）")
def route_request(request: HttpRequest, request_id: int, payload: RouteIn) -> DataRequest:
    """管理 routes the request to a 課 (or to another one)."""
    actor = api_staff(request)
    req = data_request_get(actor=actor, pk=request_id)
    services.data_request_route(actor=actor, request=req, unit_id=payload.unit_id, note=payload.note)
    return data_request_get(actor=actor, pk=request_id)


@router.post("/{int:request_id}/answer", response=DataRequestDetailOut, summary="回答（担当課）")
def answer_request(request: HttpRequest, request_id: int, payload: AnswerIn) -> DataRequest:
    """The routed 課 (or 管理) answers."""
    actor = api_staff(request)
    req = data_request_get(actor=actor, pk=request_id)
    services.data_request_answer(actor=actor, request=req, **payload.dict())
    return data_request_get(actor=actor, pk=request_id)


@router.post("/{int:request_id}/withdraw", response=DataRequestDetailOut, summary="取り下げ（依頼者）")
def withdraw_request(request: HttpRequest, request_id: int, payload: WithdrawIn) -> DataRequest:
    """The requester withdraws a request not yet answered."""
    actor = api_staff(request)
    req = data_request_get(actor=actor, pk=request_id)
    services.data_request_withdraw(actor=actor, request=req, reason=payload.reason)
    return data_request_get(actor=actor, pk=request_id)


@router.post("/{int:request_id}/comments", response={201: EventOut}, summary="コメント")
def comment_request(request: HttpRequest, request_id: int, payload: CommentIn) -> Status:
    """Add a comment to the request's timeline."""
    actor = api_staff(request)
    req = data_request_get(actor=actor, pk=request_id)
    return Status(201, services.data_request_comment(actor=actor, request=req, body=payload.body))
