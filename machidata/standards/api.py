"""Standard open-data set API (/api/v1/standards): the standards, a table's declaration and checklist.

Signed-in callers only (401 otherwise); a table the caller may not read answers 404 (hidden) or 403.
"""

# No ``from __future__ import annotations`` here: @paginate re-reads the list endpoint's parameter
# annotations in django-ninja's own namespace.
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Query, Router
from ninja.pagination import paginate

from machidata.access.auth import api_staff
from machidata.catalog.table_selectors import table_get
from machidata.core.pagination import Pages
from machidata.standards import definitions as d
from machidata.standards import selectors, services
from machidata.standards.schemas import DeclarationIn, StandardOut, TableStandardOut, TableStandardParams

router = Router(tags=["standards"])


def _standard(s: d.Standard) -> dict[str, Any]:
    return {
        "code": s.code, "number": s.number, "name": s.name, "generation": s.generation,
        "file_pattern": s.file_pattern, "declarable": s.declarable, "partial": s.partial, "header": s.header,
        "items": [{"name": i.name, "level": i.level, "kind": i.kind, "choices": list(i.choices),
                   "description": i.description} for i in s.items],
    }  # fmt: skip


def _state(state: selectors.TableStandard) -> dict[str, Any]:
    decl = state.declaration
    return {
        "dataset": state.table.dataset.slug, "table": state.table.name, "declared": decl is not None,
        "standard": decl.standard if decl else None, "mapping": state.mapping, "filled": state.filled,
        "suggestions": [{"item": s.item, "column": s.column, "reason": s.reason} for s in state.suggestions],
        "findings": [{"level": f.level, "item": f.item, "message": f.message, "examples": list(f.examples)}
                     for f in state.findings],
        "errors": state.errors, "checked_rows": state.checked_rows, "file_name": state.file_name,
    }  # fmt: skip


@router.get("/", response=list[StandardOut], summary="標準データセットの一覧")
@paginate(Pages, page_size=settings.MACHIDATA_PAGE_SIZE)
def list_standards(request: HttpRequest) -> list[dict[str, Any]]:
    """Every shipped standard (推奨データセット 基本編, 自治体標準オープンデータセット) with its items."""
    api_staff(request)
    return [_standard(s) for s in d.standards()]


@router.get(
    "/tables/{slug}/{name}", response=TableStandardOut, summary="表の標準データセット（対応とチェック）"
)
def get_table_standard(
    request: HttpRequest, slug: str, name: str, params: Query[TableStandardParams]
) -> dict[str, Any]:
    """The declaration, suggestions for ``standard`` (or the declared one) and the checklist (READ)."""
    actor = api_staff(request)
    return _state(selectors.table_standard(actor=actor, slug=slug, name=name, standard_code=params.standard))


@router.post("/tables/{slug}/{name}", response=TableStandardOut, summary="表を標準データセットとして宣言する")
def declare_table_standard(
    request: HttpRequest, slug: str, name: str, payload: DeclarationIn
) -> dict[str, Any]:
    """Save the standard and the confirmed mapping (data owner: EDIT); answers the new checklist."""
    actor = api_staff(request)
    table = table_get(actor=actor, slug=slug, name=name)
    services.declaration_set(
        actor=actor, table=table, standard_code=payload.standard, mapping=payload.mapping
    )
    return _state(selectors.table_standard(actor=actor, slug=slug, name=name))
