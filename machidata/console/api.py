"""/api/v1/sql: run one read-only SQL statement over the tables the caller may read (token or session).

Signed-in staff only (401 otherwise). A refused or failed statement answers 400 with the Japanese
reason in ``detail`` (409 when the caller already has a statement running or the server is busy), a table that is missing or not readable by the caller 404 (one answer for both); every call is audited (see :mod:`machidata.console.services`).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from machidata.access.auth import api_staff
from machidata.console import services
from machidata.console.schemas import SqlIn, SqlOut
from machidata.core.schemas import ErrorOut

router = Router(tags=["sql"])


@router.post(
    "",
    response={200: SqlOut, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    operation_id="sql_run",
    summary="SQL（SELECT 文 1 つ）を実行する",
)
def run(request: HttpRequest, payload: SqlIn) -> Any:
    """Columns and at most ``MACHIDATA_SQL_MAX_ROWS`` rows; ``truncated`` says when there were more."""
    answer = services.sql_run(actor=api_staff(request), sql=payload.sql)
    return {
        "columns": answer.columns,
        "rows": answer.rows,
        "row_count": answer.row_count,
        "truncated": answer.truncated,
        "max_rows": answer.max_rows,
        "duration_ms": answer.duration_ms,
        "tables": answer.tables,
    }
