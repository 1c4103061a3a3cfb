"""Catalog pages: list with 絞り込み and paging, detail, create, edit, retire, and the データ一覧表 export."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from machidata.access.models import Classification
from machidata.access.policy import Action, allowed_actions
from machidata.catalog import selectors, table_selectors
from machidata.catalog.exports import catalog_csv, catalog_xlsx
from machidata.catalog.forms import DatasetForm, RetireForm
from machidata.catalog.services import dataset_create, dataset_retire, dataset_update
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from machidata.search.selectors import (
    FACET_LABELS,
    SORTS,
    SearchParams,
    catalog_search,
    catalog_search_datasets,
)


def _get(request: HttpRequest, slug: str, action: Action) -> Any:
    try:
        return selectors.dataset_get(actor=request.actor, slug=slug, action=action)  # type: ignore[attr-defined]
    except NotFound:
        raise Http404 from None


def dataset_list(request: HttpRequest) -> HttpResponse:
    """The catalog: search (ranked, highlighted) and browse what data exists, narrowed by 絞り込み, paged."""
    actor = request.actor  # type: ignore[attr-defined]
    params = SearchParams.from_query(request.GET)
    result = catalog_search(actor=actor, params=params)
    query = request.GET.copy()
    query.pop("page", None)
    active = [
        (key, v.value, v.label) for key, values in result.facets.items() for v in values if v.selected
    ]  # shown as removable chips
    return render(
        request,
        "catalog/dataset_list.html",
        {
            "result": result,
            "hits": result.hits,
            "datasets": [h.dataset for h in result.hits],
            "facets": [(key, FACET_LABELS[key], values) for key, values in result.facets.items() if values],
            "filters": params,
            "active_filters": active,
            "sorts": list(SORTS.items()),
            "sort": params.sort if params.sort in SORTS else "relevance",
            "query_without_page": (query.urlencode() + "&") if query else "",
            "export_query": query.urlencode(),
            "can_create": actor.is_admin or bool(actor.editor_unit_ids),
        },
    )


def dataset_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """One entry: its metadata, owner and where the data lives; buttons for what the actor may do."""
    dataset = _get(request, slug, Action.DISCOVER)
    actions = allowed_actions(request.actor, dataset)  # type: ignore[attr-defined]
    return render(
        request,
        "catalog/dataset_detail.html",
        {
            "dataset": dataset,
            "can_read": Action.READ in actions,
            # A 機密 entry its owner lets staff discover shows only its title, owner and contact.
            "limited": dataset.classification == Classification.CONFIDENTIAL and Action.READ not in actions,
            "can_edit": Action.EDIT in actions and not dataset.is_retired,
            "formats": list(dataset.formats.all()),
            "tables": table_selectors.tables_for(actor=request.actor, dataset=dataset),  # type: ignore[attr-defined]
        },
    )


def _form_errors(form: DatasetForm, exc: InvalidInput) -> None:
    details = exc.details if isinstance(exc.details, dict) else {}
    placed = False
    for field, msgs in details.items():
        if field in form.fields:
            for msg in msgs if isinstance(msgs, list) else [msgs]:
                form.add_error(field, str(msg))
                placed = True
    if not placed:
        form.add_error(None, exc.message)


@login_required
@require_http_methods(["GET", "POST"])
def dataset_create_view(request: HttpRequest) -> HttpResponse:
    """Register a new entry (データ所有者 for their 課, 管理 for any)."""
    actor = request.actor  # type: ignore[attr-defined]
    owners = selectors.owner_choices(actor=actor)
    if not owners.exists():
        raise Http404
    form = DatasetForm(request.POST or None, owners=owners)
    if request.method == "POST" and form.is_valid():
        try:
            dataset = dataset_create(actor=actor, data=form.service_data())
        except InvalidInput as exc:
            _form_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"「{dataset.title}」を登録しました。")
            return redirect("catalog:detail", slug=dataset.slug)
    return render(request, "catalog/dataset_form.html", {"form": form, "dataset": None})


@login_required
@require_http_methods(["GET", "POST"])
def dataset_edit_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Edit an entry; a stale form (someone saved meanwhile) is refused, not silently overwritten."""
    actor = request.actor  # type: ignore[attr-defined]
    dataset = _get(request, slug, Action.DISCOVER)
    if Action.EDIT not in allowed_actions(actor, dataset) or dataset.is_retired:
        raise Http404
    owners = selectors.owner_choices(actor=actor) | type(dataset.owner).objects.filter(pk=dataset.owner_id)
    form = DatasetForm(request.POST or None, instance=dataset, owners=owners.distinct())
    conflict = False
    if request.method == "POST" and form.is_valid():
        try:
            dataset = dataset_update(
                actor=actor,
                dataset=dataset,
                data=form.service_data(),
                lock_version=form.cleaned_data.get("lock_version") or 0,
            )
        except Conflict as exc:
            conflict = True
            form.add_error(None, exc.message)
        except InvalidInput as exc:
            _form_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "変更を保存しました。")
            return redirect("catalog:detail", slug=dataset.slug)
    status = 409 if conflict else 200
    return render(
        request,
        "catalog/dataset_form.html",
        {"form": form, "dataset": dataset, "conflict": conflict},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def dataset_retire_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Confirm and retire an entry."""
    actor = request.actor  # type: ignore[attr-defined]
    dataset = _get(request, slug, Action.DISCOVER)
    if Action.EDIT not in allowed_actions(actor, dataset) or dataset.is_retired:
        raise Http404
    form = RetireForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            dataset_retire(actor=actor, dataset=dataset, reason=form.cleaned_data["reason"])
        except InvalidInput as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"「{dataset.title}」を廃止しました。")
            return redirect("catalog:detail", slug=dataset.slug)
    return render(request, "catalog/dataset_retire.html", {"form": form, "dataset": dataset})


def catalog_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The filtered list as the データ一覧表 (Excel) or CSV, only with entries the actor may discover."""
    actor = request.actor  # type: ignore[attr-defined]
    # Exactly what the search page lists for the same parameters (all pages, in its order).
    datasets = catalog_search_datasets(actor=actor, params=SearchParams.from_query(request.GET))
    stamp = timezone.localtime().strftime("%Y%m%d")
    if fmt == "xlsx":
        body = catalog_xlsx(
            actor=actor, datasets=datasets, title=f"{settings.MACHIDATA_CITY_NAME} データ一覧表"
        )
        response = HttpResponse(
            body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        filename = f"data_catalog_{stamp}.xlsx"
    elif fmt == "csv":
        encoding = "cp932" if request.GET.get("encoding") == "cp932" else "utf-8-sig"
        body = catalog_csv(actor=actor, datasets=datasets, encoding=encoding)
        charset = "shift_jis" if encoding == "cp932" else "utf-8"
        response = HttpResponse(body, content_type=f"text/csv; charset={charset}")
        filename = f"data_catalog_{stamp}.csv"
    else:
        raise Http404
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
