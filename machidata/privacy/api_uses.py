"""承認された利用 and 個人情報ファイル簿 API (/api/v1/privacy).

Signed-in callers only (401 otherwise). Approved uses: the keepers (データ戦略課, the privacy officer)
see all and add entries; anyone else sees their own, and an entry they may not see answers 404. The
register: the keepers see the list; one entry is also seen by the data owner; anyone else gets 404.
"""

# No ``from __future__ import annotations`` here: @paginate re-reads the list endpoints' parameter
# annotations in django-ninja's own namespace, where the string "Query[...]" cannot be resolved.
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import paginate

from machidata.access.auth import api_staff
from machidata.access.policy import Action, access_dataset
from machidata.core.pagination import Pages
from machidata.privacy import contracts, partners, register, uses
from machidata.privacy.schemas import (
    ApprovedUseIn,
    ApprovedUseOut,
    ApprovedUseParams,
    ContractIn,
    ContractOut,
    PartnerEndIn,
    PartnerIn,
    PartnerOut,
    PartnerParams,
    RegisterEntryOut,
    RegisterParams,
)
from machidata.privacy.use_records import ApprovedUse

router = Router(tags=["privacy"])


def _use_out(u: ApprovedUse) -> dict[str, Any]:
    return {
        "id": u.pk, "title": u.title, "purpose": u.purpose, "legal_basis": u.legal_basis,
        "legal_ground": u.legal_ground, "datasets": sorted(d.slug for d in u.datasets.all()),
        "unit": u.unit.full_name if u.unit else "", "starts_on": u.starts_on, "ends_on": u.ends_on,
        "state": uses.state_of(u), "decision_body": u.decision_body, "decision_date": u.decision_date,
        "decision_number": u.decision_number, "decision_note": u.decision_note, "document": u.document_name,
        "access_requests": sorted(r.pk for r in u.access_requests.all()),
    }  # fmt: skip


@router.get("/uses", response=list[ApprovedUseOut], summary="承認された利用の一覧")
@paginate(Pages, page_size=settings.MACHIDATA_PAGE_SIZE)
def list_uses(request: HttpRequest, params: Query[ApprovedUseParams]) -> list[dict[str, Any]]:
    """The register as the caller sees it (the keepers: all; others: their 課's and their own)."""
    rows = uses.use_list(actor=api_staff(request), state=params.state, q=params.q)
    return [_use_out(u) for u in rows.prefetch_related("access_requests")]


@router.post("/uses", response={201: ApprovedUseOut}, summary="承認された利用を登録する")
def create_use(request: HttpRequest, payload: ApprovedUseIn) -> Status:
    """Add an approved use by hand (データ戦略課 and the privacy officer)."""
    actor = api_staff(request)
    data = payload.dict()
    slugs = data.pop("datasets")
    use = uses.use_create(actor=actor, data=data, datasets=slugs)
    return Status(201, _use_out(uses.use_get(actor=actor, pk=use.pk)))


@router.get("/uses/{int:use_id}", response=ApprovedUseOut, summary="承認された利用")
def get_use(request: HttpRequest, use_id: int) -> dict[str, Any]:
    """One entry the caller may see."""
    return _use_out(uses.use_get(actor=api_staff(request), pk=use_id))


def _entry_out(row: register.RegisterRow) -> dict[str, Any]:
    return {
        "dataset": row.dataset.slug, "title": row.dataset.title, "personal_data": row.dataset.personal_data,
        "people": row.people, "people_source": row.people_source, "applicable": row.applicable,
        "public": row.public, "missing": list(row.missing),
        "items": dict(zip([k for k, _ in register.COLUMNS], register.entry_cells(row, guard=False), strict=True)),
    }  # fmt: skip


@router.get("/register", response=list[RegisterEntryOut], summary="個人情報ファイル簿")
@paginate(Pages, page_size=settings.MACHIDATA_PAGE_SIZE)
def list_register(request: HttpRequest, params: Query[RegisterParams]) -> list[dict[str, Any]]:
    """Every personal-information dataset's row (データ戦略課 and the privacy officer)."""
    return [_entry_out(r) for r in register.register_list(actor=api_staff(request), state=params.state)]


@router.get("/register/{slug}", response=RegisterEntryOut, summary="個人情報ファイル簿の記載")
def get_register_entry(request: HttpRequest, slug: str) -> dict[str, Any]:
    """One dataset's entry (the keepers and the data owner)."""
    return _entry_out(register.entry_get(actor=api_staff(request), slug=slug[:200]))


def _contract_out(contract: object) -> dict[str, Any]:
    view = contracts.contract_view(contract)  # type: ignore[arg-type]
    return view if view is not None else {"kind": ""}


@router.get("/contracts/{slug}", response=ContractOut, summary="データセットの契約条件")
def get_contract(request: HttpRequest, slug: str) -> dict[str, Any]:
    """The terms of paid data or a 委託成果物 (the data owner and 管理); kind "" when none."""
    actor = api_staff(request)
    dataset = access_dataset(actor, Action.DISCOVER, slug=slug[:200])
    return _contract_out(contracts.contract_get(actor=actor, dataset=dataset))


@router.put("/contracts/{slug}", response=ContractOut, summary="データセットの契約条件を設定する")
def put_contract(request: HttpRequest, slug: str, payload: ContractIn) -> dict[str, Any]:
    """Set the terms; downloads, exports and publication obey them from now on."""
    actor = api_staff(request)
    dataset = access_dataset(actor, Action.DISCOVER, slug=slug[:200])
    return _contract_out(contracts.contract_set(actor=actor, dataset=dataset, data=payload.dict()))


def _partner_out(p: Any, password: str = "") -> dict[str, Any]:
    return {
        "id": p.pk, "username": p.user.get_username(), "organisation": p.organisation, "use": p.use_id,
        "starts_on": p.starts_on, "ends_on": p.ends_on, "state": partners.partner_state(p),
        "ended_at": p.ended_at, "password": password,
    }  # fmt: skip


@router.get("/partners", response=list[PartnerOut], summary="外部協力者の一覧")
@paginate(Pages, page_size=settings.MACHIDATA_PAGE_SIZE)
def list_partners(request: HttpRequest, params: Query[PartnerParams]) -> list[dict[str, Any]]:
    """Every partner account (データ戦略課 and the privacy officer; anyone else: 404)."""
    return [_partner_out(p) for p in partners.partner_list(actor=api_staff(request), state=params.state)]


@router.post("/partners", response={201: PartnerOut}, summary="外部協力者のアカウントを作る")
def create_partner(request: HttpRequest, payload: PartnerIn) -> Status:
    """Create a partner's sign-in for one approved use; the answer carries its first password, once."""
    data = payload.dict()
    use_id = data.pop("use")
    partner, password = partners.partner_create(actor=api_staff(request), use_id=use_id, data=data)
    return Status(201, _partner_out(partner, password))


@router.post(
    "/partners/{int:partner_id}/end", response=PartnerOut, summary="外部協力者のアカウントを終了する"
)
def end_partner(request: HttpRequest, partner_id: int, payload: PartnerEndIn) -> dict[str, Any]:
    """End a partner's account now (its sessions and tokens stop working)."""
    actor = api_staff(request)
    partner = partners.partner_get(actor=actor, pk=partner_id)
    return _partner_out(partners.partner_end(actor=actor, partner=partner, reason=payload.reason))
