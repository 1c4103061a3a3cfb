"""Audit log pages for 管理: list with 絞り込み, one event's detail, and the CSV export."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from machidata.access.policy import Actor, require_admin
from machidata.audit.forms import AuditFilterForm
from machidata.audit.selectors import audit_choices, audit_event_get, audit_event_list
from machidata.audit.services import audit_export, audit_verify_chain
from machidata.core.errors import InvalidInput, NotFound

PAGE_SIZE = 50


def _admin_actor(request: HttpRequest) -> Actor:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    try:
        require_admin(actor)
    except NotFound:
        raise Http404 from None
    return actor


def _filter_form(request: HttpRequest, actor: Actor) -> AuditFilterForm:
    actions, types = audit_choices(actor=actor)
    form = AuditFilterForm(request.GET or None, actions=actions, object_types=types)
    form.is_valid()  # an unbound form simply has no filters
    return form


@require_GET
@login_required
def event_list(request: HttpRequest) -> HttpResponse:
    """The audit log, newest first, with the hash chain's status on top."""
    actor = _admin_actor(request)
    form = _filter_form(request, actor)
    events = audit_event_list(actor=actor, filters=form.to_filters())
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    encoded = query.urlencode()
    chain_ok, broken_id = audit_verify_chain()
    context: dict[str, Any] = {
        "form": form,
        "page_obj": page,
        "events": page.object_list,
        "query_without_page": f"{encoded}&" if encoded else "",
        "export_query": encoded,
        "chain_ok": chain_ok,
        "broken_id": broken_id,
        "total": page.paginator.count,
    }
    return render(request, "audit/event_list.html", context)


def _show(value: Any) -> str:
    """A recorded value as text: scalars as they are, lists and objects as JSON."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _change_rows(changes: Any) -> tuple[bool, list[tuple[str, str, str]]]:
    """Rows for the detail table: (field, before, after) when the changes are before/after pairs."""
    if isinstance(changes, dict) and changes:
        pairs = all(isinstance(v, dict) and set(v) == {"before", "after"} for v in changes.values())
        if pairs:
            return True, [(k, _show(v["before"]), _show(v["after"])) for k, v in changes.items()]
        return False, [(k, _show(v), "") for k, v in changes.items()]
    return False, []


@require_GET
@login_required
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One event with its recorded changes."""
    actor = _admin_actor(request)
    try:
        event = audit_event_get(actor=actor, pk=pk)
    except NotFound:
        raise Http404 from None
    paired, rows = _change_rows(event.changes)
    return render(request, "audit/event_detail.html", {"event": event, "paired": paired, "rows": rows})


@require_GET
@login_required
def export_csv(request: HttpRequest) -> HttpResponse:
    """The filtered list as CSV: UTF-8 with BOM (Excel), or CP932 with ?encoding=cp932."""
    actor = _admin_actor(request)
    encoding = (request.GET.get("encoding") or "utf-8").lower().replace("_", "-")
    if encoding in {"sjis", "shift-jis", "shift_jis", "windows-31j"}:
        encoding = "cp932"
    form = _filter_form(request, actor)
    try:
        body = audit_export(actor=actor, filters=form.to_filters(), encoding=encoding)
    except InvalidInput as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    charset = "shift_jis" if encoding == "cp932" else "utf-8"
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response = HttpResponse(body, content_type=f"text/csv; charset={charset}")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
