"""/api/v1/query: run a TableQuery over a table the caller may read — a thin router over query_selectors."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from machidata.access.auth import api_actor
from machidata.catalog import query_selectors as qs
from machidata.catalog.query_schemas import QueryIn, QueryOut, QueryParams
from machidata.catalog.schemas import ErrorOut

router = Router(tags=["query"])

_ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}


@router.post(
    "",
    response={200: QueryOut, **_ERRORS},
    operation_id="table_query",
    summary="表を集計する（TableQuery を実行：JSON・CSV・Arrow）",
)
def run(request: HttpRequest, payload: QueryIn, params: Query[QueryParams]) -> Any:
    """Rows, or groups with measures, of a table version; ``?format=csv`` or ``?format=arrow`` for a file."""
    actor = api_actor(request)
    table = qs.table_for_query(
        actor=actor, table_id=payload.table_id, dataset=payload.dataset, name=payload.table
    )
    answer = qs.table_query(actor=actor, table=table, query=payload.query, version=payload.version)
    if params.format != "json":
        file = qs.query_file(actor=actor, answer=answer, fmt=params.format)
        response = HttpResponse(file.content, content_type=file.content_type)
        response["Content-Disposition"] = f'attachment; filename="{file.filename}"'
        response["X-Content-Type-Options"] = "nosniff"
        return response
    return {
        "table": {
            "id": table.pk,
            "dataset": table.dataset.slug,
            "name": table.name,
            "version": answer.version.number,
        },
        "aggregate": answer.aggregate,
        "columns": answer.columns,
        "rows": answer.rows(),
        "total": answer.total,
        "offset": answer.offset,
        "truncated": answer.truncated,
    }
