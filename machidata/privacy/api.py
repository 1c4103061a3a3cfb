"""利用申請 API (/api/v1/access-requests): list, file, read, decide, cancel, renew, revoke.

Signed-in callers only (401 otherwise); requests the caller may not see answer 404, datasets the caller
may not discover answer 404.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from machidata.access.auth import api_staff
from machidata.access.policy import Action, access_dataset
from machidata.privacy import services
from machidata.privacy.models import AccessRequest
from machidata.privacy.schemas import (
    AccessActIn,
    AccessListParams,
    AccessRenewIn,
    AccessRequestIn,
    AccessRequestOut,
    AccessRevokeIn,
)
from machidata.privacy.selectors import access_request_get, access_request_list, route_state

router = Router(tags=["access-requests"])


def _out(req: AccessRequest) -> dict[str, Any]:
    return {
        "id": req.pk, "dataset": req.dataset.slug, "status": req.status, "status_label": req.get_status_display(),
        "requested_by": req.requested_by.get_username(), "purpose": req.purpose, "columns": req.columns,
        "starts_on": req.starts_on, "ends_on": req.ends_on, "legal_basis": req.legal_basis,
        "legal_ground": req.legal_ground, "route": req.route_name, "steps": route_state(req),
        "created_at": req.created_at, "decided_at": req.decided_at,
    }  # fmt: skip


@router.get("/", response=list[AccessRequestOut], summary="利用申請の一覧")
def list_requests(request: HttpRequest, params: Query[AccessListParams]) -> list[dict[str, Any]]:
    """Mine, awaiting my decision, on my 課's datasets, or all (管理); newest first, at most 200."""
    rows = access_request_list(actor=api_staff(request), scope=params.scope)[:200]
    return [_out(r) for r in rows]


@router.post("/", response={201: AccessRequestOut}, summary="利用を申請する")
def create_request(request: HttpRequest, payload: AccessRequestIn) -> Status:
    """File a 利用申請 (the dataset must be discoverable and not yet readable)."""
    actor = api_staff(request)
    dataset = access_dataset(actor, Action.DISCOVER, slug=payload.dataset)
    data = payload.dict()
    data.pop("dataset")
    req = services.access_request_create(actor=actor, dataset=dataset, **data)
    return Status(201, _out(access_request_get(actor=actor, pk=req.pk)))


@router.get("/{int:request_id}", response=AccessRequestOut, summary="利用申請と決裁の状況")
def get_request(request: HttpRequest, request_id: int) -> dict[str, Any]:
    """One request the caller may see."""
    return _out(access_request_get(actor=api_staff(request), pk=request_id))


@router.post("/{int:request_id}/act", response=AccessRequestOut, summary="決裁する（承認・差戻し・却下）")
def act(request: HttpRequest, request_id: int, payload: AccessActIn) -> dict[str, Any]:
    """Decide the current step; the last approval grants read until the end date."""
    actor = api_staff(request)
    req = services.access_request_act(actor=actor, request=access_request_get(actor=actor, pk=request_id),
                                      decision=payload.decision, comment=payload.comment)  # fmt: skip
    return _out(access_request_get(actor=actor, pk=req.pk))


@router.post("/{int:request_id}/cancel", response=AccessRequestOut, summary="取り下げ（申請者）")
def cancel(request: HttpRequest, request_id: int) -> dict[str, Any]:
    """The requester withdraws a pending request."""
    actor = api_staff(request)
    services.access_request_cancel(actor=actor, request=access_request_get(actor=actor, pk=request_id))
    return _out(access_request_get(actor=actor, pk=request_id))


@router.post("/{int:request_id}/renew", response=AccessRequestOut, summary="利用期間の更新（データ所有者）")
def renew(request: HttpRequest, request_id: int, payload: AccessRenewIn) -> dict[str, Any]:
    """Move the end date of a granted access."""
    actor = api_staff(request)
    services.access_grant_renew(actor=actor, request=access_request_get(actor=actor, pk=request_id),
                                ends_on=payload.ends_on, comment=payload.comment)  # fmt: skip
    return _out(access_request_get(actor=actor, pk=request_id))


@router.post("/{int:request_id}/revoke", response=AccessRequestOut, summary="許可の取消し（データ所有者）")
def revoke(request: HttpRequest, request_id: int, payload: AccessRevokeIn) -> dict[str, Any]:
    """End a granted access now."""
    actor = api_staff(request)
    services.access_grant_revoke(actor=actor, request=access_request_get(actor=actor, pk=request_id),
                                 reason=payload.reason)  # fmt: skip
    return _out(access_request_get(actor=actor, pk=request_id))
