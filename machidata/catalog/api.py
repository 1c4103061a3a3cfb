"""/api/v1/datasets: the catalog as JSON — a thin router over the catalog selectors and services."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from machidata.access.auth import api_actor, api_staff
from machidata.access.policy import Action
from machidata.catalog.schemas import (
    MAX_LIMIT,
    ConflictOut,
    DatasetIn,
    DatasetListParams,
    DatasetOut,
    DatasetPage,
    DatasetPatch,
    ErrorOut,
    RetireIn,
    dataset_out,
)
from machidata.catalog.selectors import CatalogFilters, dataset_facets, dataset_get, dataset_list
from machidata.catalog.services import dataset_create, dataset_retire, dataset_update
from machidata.core.errors import Conflict

router = Router(tags=["datasets"])

_ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}


@router.get("", response=DatasetPage, operation_id="dataset_list", summary="データセットの一覧と絞り込み")
def list_datasets(request: HttpRequest, params: Query[DatasetListParams]) -> dict[str, Any]:
    """Entries the caller may discover, narrowed and paged; counts never include hidden entries."""
    actor = api_actor(request)
    filters = CatalogFilters(
        q=params.q.strip()[:200],
        departments=params.department,
        categories=params.category,
        classifications=params.classification,
        formats=params.format,
        licences=params.licence,
        include_retired=params.retired,
    )
    # An out-of-range limit is clamped, as most catalog APIs do; the offset's bounds are checked by its type.
    limit = max(1, min(params.limit, MAX_LIMIT))
    offset = params.offset
    qs = dataset_list(actor=actor, filters=filters)
    page = list(qs[offset : offset + limit])
    body: dict[str, Any] = {
        "count": qs.count(),
        "limit": limit,
        "offset": offset,
        "items": [dataset_out(d, actor=actor) for d in page],
        "facets": None,
    }
    if params.facets:
        body["facets"] = {
            group: [asdict(v) for v in values]
            for group, values in dataset_facets(actor=actor, filters=filters).items()
        }
    return body


@router.post(
    "",
    response={201: DatasetOut, **_ERRORS},
    operation_id="dataset_create",
    summary="データセットを登録する",
)
def create_dataset(request: HttpRequest, payload: DatasetIn) -> Status:
    """Register an entry for one of the caller's 課 (any 課 for 管理)."""
    actor = api_staff(request)
    dataset = dataset_create(actor=actor, data=payload.to_data())
    return Status(201, dataset_out(dataset, actor=actor))


@router.get(
    "/{slug}",
    response={200: DatasetOut, 401: ErrorOut, 404: ErrorOut},
    operation_id="dataset_detail",
    summary="データセットの詳細",
)
def get_dataset(request: HttpRequest, slug: str) -> dict[str, Any]:
    """One entry; missing and hidden entries answer the same 404."""
    actor = api_actor(request)
    return dataset_out(dataset_get(actor=actor, slug=slug), actor=actor)


@router.patch(
    "/{slug}",
    response={200: DatasetOut, 409: ConflictOut, **_ERRORS},
    operation_id="dataset_update",
    summary="データセットを更新する（楽観的ロック）",
)
def update_dataset(request: HttpRequest, slug: str, payload: DatasetPatch) -> Any:
    """Change the fields sent; a stale ``lock_version`` answers 409 and changes nothing."""
    actor = api_staff(request)
    dataset = dataset_get(actor=actor, slug=slug, action=Action.EDIT)
    try:
        dataset = dataset_update(
            actor=actor, dataset=dataset, data=payload.to_data(), lock_version=payload.lock_version
        )
    except Conflict as exc:
        current = (exc.details or {}).get("current_lock_version")
        return Status(409, {"detail": exc.message, "errors": exc.details, "current_lock_version": current})
    return dataset_out(dataset, actor=actor)


@router.post(
    "/{slug}/retire",
    response={200: DatasetOut, **_ERRORS},
    operation_id="dataset_retire",
    summary="データセットを廃止する",
)
def retire_dataset(request: HttpRequest, slug: str, payload: RetireIn) -> dict[str, Any]:
    """Retire an entry with a reason; it stays in the record and leaves the default lists."""
    actor = api_staff(request)
    dataset = dataset_get(actor=actor, slug=slug, action=Action.EDIT)
    dataset = dataset_retire(actor=actor, dataset=dataset, reason=payload.reason)
    return dataset_out(dataset, actor=actor)
