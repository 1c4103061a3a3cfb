"""Organisation (departments) and personal API tokens: /api/v1/departments, /api/v1/tokens."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from machidata.access import selectors, services
from machidata.access.auth import api_actor, api_staff
from machidata.access.schemas import DepartmentOut, ErrorOut, TokenCreatedOut, TokenIn, TokenOut

router = Router(tags=["organisation"])


@router.get("/departments", response=list[DepartmentOut], summary="所属の一覧（現在有効なもの）")
def department_list(request: HttpRequest, kind: str | None = None) -> list[DepartmentOut]:
    """Units in force; ``kind`` filters by 種別 (e.g. ``division`` or ``課``)."""
    units = selectors.departments_active(actor=api_actor(request), kind=kind)
    return [DepartmentOut.of(u) for u in units]


@router.get("/departments/{code}", response={200: DepartmentOut, 404: ErrorOut}, summary="所属")
def department_detail(request: HttpRequest, code: str) -> DepartmentOut:
    """One unit in force by its 所属コード."""
    return DepartmentOut.of(selectors.department_get(actor=api_actor(request), code=code))


@router.get("/tokens", response={200: list[TokenOut], 401: ErrorOut}, summary="自分のAPIトークン")
def token_list(request: HttpRequest) -> list[TokenOut]:
    """The caller's own tokens (values are never shown again)."""
    return [TokenOut.of(t) for t in selectors.tokens_of(actor=api_staff(request))]


@router.post(
    "/tokens", response={201: TokenCreatedOut, 400: ErrorOut, 401: ErrorOut}, summary="APIトークンの発行"
)
def token_create(request: HttpRequest, payload: TokenIn) -> Status[TokenCreatedOut]:
    """Create a token for the caller; the response carries its value this once."""
    token, raw = services.token_create(actor=api_staff(request), name=payload.name)
    return Status(201, TokenCreatedOut(**TokenOut.of(token).dict(), token=raw))


@router.delete(
    "/tokens/{token_id}", response={204: None, 401: ErrorOut, 404: ErrorOut}, summary="APIトークンの失効"
)
def token_revoke(request: HttpRequest, token_id: int) -> Status[None]:
    """Revoke one of the caller's tokens."""
    services.token_revoke(actor=api_staff(request), token_id=token_id)
    return Status(204, None)
