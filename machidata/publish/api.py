"""Publication API (/api/v1/publication): requests, decisions, overrides, withdrawal, state, candidates.

Signed-in callers only (401 otherwise); requests on datasets the caller may not discover answer 404.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from machidata.access.auth import api_staff
from machidata.access.policy import Action, Actor, access_dataset
from machidata.publish import selectors, services
from machidata.publish.models import PublicationRequest
from machidata.publish.schemas import (
    ActIn,
    AggregateIn,
    AggregateOut,
    CandidateOut,
    ListParams,
    OverrideIn,
    PublicationWithdrawIn,
    RequestDetailOut,
    RequestIn,
    RequestOut,
    StateOut,
    SuppressionOut,
    ThresholdIn,
)

router = Router(tags=["publication"])


def _out(req: PublicationRequest) -> dict[str, Any]:
    return {
        "id": req.pk, "dataset": req.dataset.slug, "kind": req.kind, "status": req.status,
        "status_label": req.get_status_display(), "route": req.route_name, "current_step": req.current_step,
        "requested_by": req.requested_by.get_username(), "created_at": req.created_at, "decided_at": req.decided_at,
    }  # fmt: skip


def _detail(actor: Actor, req: PublicationRequest) -> dict[str, Any]:
    versions = services.request_versions(req)
    return {
        **_out(req),
        "licence": req.licence.code if req.licence else None,
        "attribution": req.attribution,
        "note": req.note,
        "versions": [
            {"id": v.pk, "table": v.table.name, "number": v.number, "rows": v.rows} for v in versions
        ],
        "steps": selectors.request_steps(req),
        "gates": req.gate_results,
        "fingerprint": req.fingerprint,
        "my_turn": selectors.is_my_turn(actor, req),
    }


@router.get("/requests", response=list[RequestOut], summary="公開申請の一覧")
def list_requests(request: HttpRequest, params: Query[ListParams]) -> list[dict[str, Any]]:
    """Requests the caller may see; ``scope=awaiting`` lists those waiting for the caller's decision."""
    actor = api_staff(request)
    return [_out(r) for r in selectors.request_list(actor=actor, scope=params.scope)[:500]]


@router.post("/requests", response={201: RequestDetailOut}, summary="公開申請を出す")
def create_request(request: HttpRequest, payload: RequestIn) -> Status:
    """File a 公開申請 of exactly these versions (データ所有者)."""
    actor = api_staff(request)
    dataset = access_dataset(actor, Action.DISCOVER, slug=payload.dataset)
    req = services.publication_request_create(
        actor=actor, dataset=dataset, version_ids=payload.version_ids, licence_code=payload.licence,
        attribution=payload.attribution, note=payload.note,
    )  # fmt: skip
    return Status(201, _detail(actor, selectors.request_get(actor=actor, pk=req.pk)))


@router.post("/withdrawals", response={201: RequestDetailOut}, summary="非公開化を申請する")
def create_withdrawal(request: HttpRequest, payload: PublicationWithdrawIn) -> Status:
    """File a 非公開化 of a published dataset."""
    actor = api_staff(request)
    dataset = access_dataset(actor, Action.DISCOVER, slug=payload.dataset)
    req = services.publication_withdraw_request(actor=actor, dataset=dataset, note=payload.note)
    return Status(201, _detail(actor, selectors.request_get(actor=actor, pk=req.pk)))


@router.get("/requests/{int:request_id}", response=RequestDetailOut, summary="公開申請と決裁の状況")
def get_request(request: HttpRequest, request_id: int) -> dict[str, Any]:
    """One request: versions, route with who must act, gate results."""
    actor = api_staff(request)
    return _detail(actor, selectors.request_get(actor=actor, pk=request_id))


@router.post(
    "/requests/{int:request_id}/act", response=RequestDetailOut, summary="決裁する（承認・差戻し・却下）"
)
def act(request: HttpRequest, request_id: int, payload: ActIn) -> dict[str, Any]:
    """Decide the current step; the last approval publishes exactly the pinned versions."""
    actor = api_staff(request)
    req = selectors.request_get(actor=actor, pk=request_id)
    services.publication_act(actor=actor, request=req, **payload.dict())
    return _detail(actor, selectors.request_get(actor=actor, pk=request_id))


@router.post("/requests/{int:request_id}/recheck", response=RequestDetailOut, summary="確認をやり直す")
def recheck(request: HttpRequest, request_id: int) -> dict[str, Any]:
    """Run the gates again on the pinned versions."""
    actor = api_staff(request)
    services.publication_recheck(actor=actor, request=selectors.request_get(actor=actor, pk=request_id))
    return _detail(actor, selectors.request_get(actor=actor, pk=request_id))


@router.post("/requests/{int:request_id}/overrides", response=RequestDetailOut, summary="確認項目の例外承認")
def override(request: HttpRequest, request_id: int, payload: OverrideIn) -> dict[str, Any]:
    """データ戦略課 lets one failing gate through with a reason."""
    actor = api_staff(request)
    req = selectors.request_get(actor=actor, pk=request_id)
    services.gate_override(
        actor=actor, request=req, gate=payload.gate, table_name=payload.table, reason=payload.reason
    )
    return _detail(actor, selectors.request_get(actor=actor, pk=request_id))


@router.post("/requests/{int:request_id}/cancel", response=RequestDetailOut, summary="申請を取り下げる")
def cancel(request: HttpRequest, request_id: int) -> dict[str, Any]:
    """The requester takes the request back."""
    actor = api_staff(request)
    services.publication_cancel(actor=actor, request=selectors.request_get(actor=actor, pk=request_id))
    return _detail(actor, selectors.request_get(actor=actor, pk=request_id))


@router.get("/datasets/{slug}", response=StateOut, summary="データセットの公開状態")
def state(request: HttpRequest, slug: str) -> dict[str, Any]:
    """未申請 / 申請中 / 公開中 / 非公開化, and per table the public version and each version's state."""
    actor = api_staff(request)
    dataset = access_dataset(actor, Action.DISCOVER, slug=slug)
    return selectors.dataset_publication(dataset)


@router.put("/datasets/{slug}/threshold", response=StateOut, summary="小さい数の基準を設定する")
def set_threshold(request: HttpRequest, slug: str, payload: ThresholdIn) -> dict[str, Any]:
    """The dataset's small-count threshold (default 10, ≥ 1): every 統計表 of it is checked against it."""
    actor = api_staff(request)
    dataset = access_dataset(actor, Action.EDIT, slug=slug)
    services.small_count_threshold_set(actor=actor, dataset=dataset, threshold=payload.threshold)
    return selectors.dataset_publication(dataset)


@router.get("/candidates", response=list[CandidateOut], summary="公開候補一覧（データ戦略課）")
def candidates(request: HttpRequest) -> list[dict[str, Any]]:
    """庁内 datasets whose gates already pass (licence and attribution are chosen when filing)."""
    actor = api_staff(request)
    return [
        {"dataset": c["dataset"].slug, "title": c["dataset"].title, "owner": c["dataset"].owner.name,
         "tables": c["tables"], "state": c["state"]}
        for c in selectors.candidates(actor=actor)
    ]  # fmt: skip


def _spec_out(spec: Any) -> dict[str, Any]:
    return {"table": spec.table.name, "dimension": spec.dimension, "count_columns": spec.count_columns,
            "total_column": spec.total_column, "total_row_label": spec.total_row_label,
            "threshold": spec.threshold, "protection": spec.protection,
            "column_dimension": spec.column_dimension, "value_column": spec.value_column,
            "row_subtotals": spec.row_subtotals, "column_subtotals": spec.column_subtotals}  # fmt: skip


@router.put("/tables/{slug}/{name}/aggregate", response=AggregateOut, summary="統計表として設定する")
def set_aggregate(request: HttpRequest, slug: str, name: str, payload: AggregateIn) -> dict[str, Any]:
    """Declare dimension, count and total columns and the small-count threshold (≥ 1) of a table."""
    from machidata.catalog.table_selectors import table_get

    actor = api_staff(request)
    table = table_get(actor=actor, slug=slug, name=name)
    return _spec_out(services.aggregate_spec_set(actor=actor, table=table, **payload.dict()))


@router.post(
    "/tables/{slug}/{name}/suppress", response={201: SuppressionOut}, summary="秘匿処理をして新しい版を作る"
)
def suppress(request: HttpRequest, slug: str, name: str) -> Status:
    """Primary and complementary suppression, a new version with ``x`` cells, and the LP audit."""
    from machidata.catalog.table_selectors import table_get

    actor = api_staff(request)
    run = services.suppression_run(actor=actor, table=table_get(actor=actor, slug=slug, name=name))
    return Status(201, {"id": run.pk, "table": name, "source_version": run.source_version.number,
                        "result_version": run.result_version.number if run.result_version else None,
                        "report": run.report})  # fmt: skip
