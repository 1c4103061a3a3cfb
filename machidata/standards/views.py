"""Standard open-data set pages: the template list (open to everyone), a table's declaration with its
mapping and checklist, and the standard-format CSV of the table's current version (READ)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from machidata.access.policy import Action
from machidata.catalog.models import Table
from machidata.catalog.table_selectors import table_get
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied
from machidata.standards import definitions as d
from machidata.standards import selectors, services


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """Every standard with its header and the template downloads (UTF-8 with BOM, CP932)."""
    return render(request, "standards/index.html", {"standards": d.standards(), "tag": d.TAG})


@require_GET
def template(request: HttpRequest, code: str) -> HttpResponse:
    """The standard's header row as a CSV template: ``?encoding=utf-8`` (BOM) or ``cp932``."""
    standard = d.by_code(code)
    encoding = request.GET.get("encoding", "utf-8")
    if standard is None or encoding not in d.TEMPLATE_ENCODINGS:
        raise Http404("標準データセットが見つかりません。")
    charset = "Shift_JIS" if encoding == "cp932" else "utf-8"
    response = HttpResponse(d.template_bytes(standard, encoding), content_type=f"text/csv; charset={charset}")
    suffix = "_sjis" if encoding == "cp932" else ""
    name = standard.file_pattern.removesuffix(".csv") + suffix + ".csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _state(request: HttpRequest, slug: str, name: str, code: str = "") -> selectors.TableStandard:
    try:
        return selectors.table_standard(actor=request.actor, slug=slug, name=name, standard_code=code)  # type: ignore[attr-defined]
    except NotFound:
        raise Http404 from None
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None


@require_GET
@login_required
def table_page(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    """A table's standard: choose one (``?standard=``), confirm the suggested mapping, see the checklist."""
    code = request.GET.get("standard", "")[:60]
    state = _state(request, slug, name, code)
    saved = (
        state.mapping
        if state.declaration and state.standard and state.declaration.standard == state.standard.code
        else {}
    )
    suggested = {s.item: s for s in state.suggestions}
    rows = []
    if state.standard is not None:
        for n, item in enumerate(state.standard.items):
            sug = suggested.get(item.name)
            chosen = saved.get(item.name, "") if saved else (sug.column if sug else "")
            rows.append({"n": n, "item": item, "chosen": chosen, "suggestion": sug,
                         "filled": state.filled.get(item.name, "")})  # fmt: skip
    return render(request, "standards/table.html", {
        "state": state, "rows": rows, "choices": d.declarable(), "is_saved": bool(saved),
        "dataset": state.table.dataset, "table": state.table,
    })  # fmt: skip


@require_POST
@login_required
def table_declare(request: HttpRequest, slug: str, name: str) -> HttpResponseBase:
    """Save the standard and the mapping the owner confirmed (fields ``item-<n>`` = column)."""
    code = request.POST.get("standard", "")[:60]
    table = _table(request, slug, name)
    standard = d.by_code(code)
    mapping: dict[str, str] = {}
    if standard is not None:
        for n, item in enumerate(standard.items):
            col = request.POST.get(f"item-{n}", "")
            if col:
                mapping[item.name] = col
    try:
        services.declaration_set(actor=request.actor, table=table, standard_code=code, mapping=mapping)  # type: ignore[attr-defined]
    except InvalidInput as exc:
        messages.error(request, exc.message)
        return redirect(f"{_url(slug, name)}?standard={code}")
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    messages.success(request, "標準データセットとして宣言しました。チェック結果を確認してください。")
    return redirect(_url(slug, name))


@require_POST
@login_required
def table_undeclare(request: HttpRequest, slug: str, name: str) -> HttpResponseBase:
    """Withdraw the declaration."""
    table = _table(request, slug, name)
    try:
        services.declaration_remove(actor=request.actor, table=table)  # type: ignore[attr-defined]
    except NotFound:
        raise Http404 from None
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    messages.success(request, "標準データセットの宣言を取り消しました。")
    return redirect(_url(slug, name))


@require_GET
def table_download(request: HttpRequest, slug: str, name: str) -> HttpResponseBase:
    """The standard-format CSV of the table's current version (whoever the policy lets READ it, as the
    catalog's own download; audited)."""
    table = _table(request, slug, name, Action.READ)
    if table.current_version is None:
        raise Http404("この表にはまだデータがありません。")
    try:
        result = selectors.standard_download(actor=request.actor, table=table, version=table.current_version)  # type: ignore[attr-defined]
    except NotFound:
        raise Http404 from None
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    return result.response()


def _table(request: HttpRequest, slug: str, name: str, action: Action = Action.DISCOVER) -> Table:
    try:
        return table_get(actor=request.actor, slug=slug, name=name, action=action)  # type: ignore[attr-defined]
    except NotFound:
        raise Http404 from None
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None


def _url(slug: str, name: str) -> str:
    from django.urls import reverse

    return reverse("standards:table", args=[slug, name])
