"""EBPM API for the public pages of a 事業 (/api/v1/ebpm/page-requests, /api/v1/ebpm/public/pages).

Requests and decisions: signed-in staff (every member of staff reads, as elsewhere in EBPM; the owning
課's 編集 and 管理 file; the route decides who approves). The public read needs no sign-in and answers
the same published pages to everyone.
"""

# No ``from __future__ import annotations`` here: @paginate re-reads the list endpoints' parameter
# annotations in django-ninja's own namespace.
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from ninja import Status
from ninja.pagination import paginate

from machidata.access.auth import api_staff
from machidata.core.errors import InvalidInput
from machidata.core.pagination import LazyPage, Pages
from machidata.ebpm import selectors, services_pages
from machidata.ebpm import selectors_pages as sel
from machidata.ebpm.api import router
from machidata.ebpm.models import PageRequest, PublicPage
from machidata.ebpm.schemas import (
    EbpmPageActIn,
    EbpmPageRequestIn,
    EbpmPageRequestOut,
    EbpmPageWithdrawIn,
    EbpmPublicPageOut,
    EbpmPublicPageSummaryOut,
)

SCOPES = ("all", "mine", "awaiting")


def _request(req: PageRequest) -> dict[str, Any]:
    user = req.requested_by
    return {
        "id": req.pk, "item_id": req.item_id, "item_name": req.item.name, "kind": req.kind,
        "kind_label": req.get_kind_display(), "status": req.status, "status_label": req.get_status_display(),
        "requested_by": user.get_full_name() or user.get_username(), "reason": req.reason,
        "logic_model_number": req.logic_model_number, "evaluation_ids": req.evaluation_ids,
        "route_name": req.route_name, "steps": sel.request_steps(req), "current_step": req.current_step,
        "created_at": req.created_at, "decided_at": req.decided_at, "preview": req.preview,
    }  # fmt: skip


def _public(request: HttpRequest, page: PublicPage, *, full: bool) -> dict[str, Any]:
    snap = page.snapshot
    out = {
        "item_id": page.item_id, "name": snap["item"]["name"], "unit": snap["item"]["unit"],
        "published_at": page.published_at,
        "url": request.build_absolute_uri(reverse("ebpm_public:detail", args=[page.item_id])),
    }  # fmt: skip
    if full:
        out["page"] = snap
    return out


@router.get("/page-requests", response=list[EbpmPageRequestOut], summary="事業ページの公開申請の一覧")
@paginate(Pages, page_size=settings.MACHIDATA_PAGE_SIZE)
def list_page_requests(request: HttpRequest, item_id: int | None = None, scope: str = "all") -> Any:
    """Page requests (all staff read), newest first; ``scope``: all, mine, awaiting (my turn)."""
    actor = api_staff(request)
    if scope not in SCOPES:
        raise InvalidInput(f"scope は {'・'.join(SCOPES)} のどれかにしてください。")
    return LazyPage(sel.page_requests(actor=actor, item_id=item_id, scope=scope), _request)


@router.get("/page-requests/{int:request_id}", response=EbpmPageRequestOut, summary="事業ページの公開申請")
def get_page_request(request: HttpRequest, request_id: int) -> dict[str, Any]:
    """One request with its steps and the page it would publish."""
    actor = api_staff(request)
    return _request(sel.page_request_get(actor=actor, pk=request_id))


@router.post(
    "/items/{int:item_id}/page-requests",
    response={201: EbpmPageRequestOut},
    summary="事業ページの公開を申請する",
)
def post_page_request(request: HttpRequest, item_id: int, payload: EbpmPageRequestIn) -> Status:
    """File a publication request (the owning 課's 編集 or 管理); 409 while another is under decision."""
    actor = api_staff(request)
    item = selectors.plan_item_get(actor=actor, pk=item_id)
    req = services_pages.page_request_create(
        actor=actor, item=item, evaluation_ids=list(payload.evaluation_ids), reason=payload.reason
    )
    return Status(201, _request(req))


@router.post(
    "/items/{int:item_id}/page-withdrawals",
    response={201: EbpmPageRequestOut},
    summary="事業ページの非公開化を申請する",
)
def post_page_withdrawal(request: HttpRequest, item_id: int, payload: EbpmPageWithdrawIn) -> Status:
    """File a withdrawal (非公開化) request for a published page."""
    actor = api_staff(request)
    item = selectors.plan_item_get(actor=actor, pk=item_id)
    return Status(
        201, _request(services_pages.page_withdraw_create(actor=actor, item=item, reason=payload.reason))
    )


@router.post(
    "/page-requests/{int:request_id}/act", response=EbpmPageRequestOut, summary="事業ページの申請を決裁する"
)
def act_page_request(request: HttpRequest, request_id: int, payload: EbpmPageActIn) -> dict[str, Any]:
    """Approve, return or reject the current step (403 unless it is the caller's turn)."""
    actor = api_staff(request)
    req = sel.page_request_get(actor=actor, pk=request_id)
    req = services_pages.page_request_act(
        actor=actor, request=req, decision=payload.decision, comment=payload.comment
    )
    return _request(req)


@router.post(
    "/page-requests/{int:request_id}/cancel",
    response=EbpmPageRequestOut,
    summary="事業ページの申請を取り下げる",
)
def cancel_page_request(request: HttpRequest, request_id: int) -> dict[str, Any]:
    """The requester (or 管理) takes back a request under decision."""
    actor = api_staff(request)
    req = sel.page_request_get(actor=actor, pk=request_id)
    return _request(services_pages.page_request_cancel(actor=actor, request=req))


@router.get(
    "/public/pages", response=list[EbpmPublicPageSummaryOut], summary="公開中の事業ページの一覧", auth=None
)
@paginate(Pages, page_size=settings.MACHIDATA_PAGE_SIZE)
def list_public_pages(request: HttpRequest) -> Any:
    """Published 事業 pages (no sign-in; the same for everyone), newest first."""
    return LazyPage(sel.public_pages(), lambda p: _public(request, p, full=False))


@router.get(
    "/public/pages/{int:item_id}", response=EbpmPublicPageOut, summary="公開中の事業ページ", auth=None
)
def get_public_page(request: HttpRequest, item_id: int) -> dict[str, Any]:
    """One published 事業 page (404 for a 事業 whose page is not public)."""
    return _public(request, sel.public_page(item_id), full=True)
