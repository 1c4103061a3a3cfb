"""/api/v1/search: catalog search as JSON, the same selector and parameters as the catalog page."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from ninja import Query, Router

from machidata.access.auth import api_actor
from machidata.catalog.schemas import ErrorOut
from machidata.search.query import MAX_PER_PAGE
from machidata.search.schemas import SearchOut, SearchQuery
from machidata.search.selectors import FACET_GROUPS, SearchHit, SearchParams, catalog_search, safe_text

router = Router(tags=["search"])


def _segments(segments: list[tuple[str, bool]]) -> list[dict[str, Any]]:
    return [{"text": t, "match": m} for t, m in segments]


def _hit(h: SearchHit) -> dict[str, Any]:
    d = h.dataset
    return {
        "slug": d.slug,
        "identifier": d.identifier,
        "title": d.title,
        "title_segments": _segments(h.title),
        "snippet_segments": _segments(h.snippet),
        "score": h.score,
        "classification": d.classification,
        "category": d.category.code if d.category else None,
        "owner": {
            "code": d.owner.code,
            "name": d.owner.full_name,
            "contact_email": d.contact_email,
            "contact_phone": d.contact_phone,
        },
        "updated_at": d.updated_at.isoformat(),
        "retired": d.is_retired,
        "can_read": h.can_read,
        "certified": h.certified,
        "url": reverse("catalog:detail", args=[d.slug]),
    }


@router.get(
    "", response={200: SearchOut, 401: ErrorOut}, operation_id="catalog_search", summary="カタログを検索する"
)
def search_catalog(request: HttpRequest, params: Query[SearchQuery]) -> dict[str, Any]:
    """Ranked search over the entries the caller may discover; counts never include hidden entries."""
    actor = api_actor(request)
    p = SearchParams(
        q=safe_text(params.q),
        filters={g: [safe_text(v, 100) for v in getattr(params, g) if v][:50] for g in FACET_GROUPS},
        include_retired=params.retired,
        sort=params.sort,
        page=params.page,
        per_page=max(1, min(params.per_page, MAX_PER_PAGE)),
    )
    result = catalog_search(actor=actor, params=p)
    return {
        "q": p.q,
        "count": result.total,
        "page": result.page,
        "pages": result.pages,
        "per_page": p.per_page,
        "sort": p.sort,
        "items": [_hit(h) for h in result.hits],
        "facets": {g: [asdict(v) for v in values] for g, values in result.facets.items()},
        "retired_count": result.retired_count,
        "suggestions": result.suggestions,
        "related_categories": [asdict(v) for v in result.related_categories],
        "notice": result.notice,
        "matched_all_words": result.matched_all_words,
    }
