"""Public portal pages (no login): home, search, 所管課, dataset, downloads of an approved version; Japanese at /open/, English at /en/open/."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import render
from django.utils.http import http_date
from django.utils.translation import get_language

from machidata.catalog.models import Dataset
from machidata.charts.public import public_shares_from
from machidata.core.errors import InvalidInput, NotFound
from machidata.portal import selectors as s
from machidata.publish.selectors import public_attribution, public_datasets

PAGE_SIZE = 20
SORTS = {"updated": ("-updated_at", "pk"), "title": ("title", "pk")}


def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _english() -> bool:
    return get_language() == "en"


def _text(dataset: Dataset) -> dict[str, str]:
    """Title and description in the page's language (English where the steward gave it, else Japanese)."""
    if _english():
        return {
            "title": dataset.title_en or dataset.title,
            "description": dataset.description_en or dataset.description,
        }
    return {"title": dataset.title, "description": dataset.description}


def _with_text(datasets: Any) -> list[dict[str, Any]]:
    return [{"dataset": d, **_text(d)} for d in datasets]


def _last_modified(response: HttpResponseBase, when: dt.datetime) -> None:
    """Set ``Last-Modified``; ConditionalGetMiddleware then answers 304 to a matching ``If-Modified-Since``."""
    response["Last-Modified"] = http_date(when.timestamp())


def home(request: HttpRequest) -> HttpResponse:
    """トップ: 分野 and 所管課 with their counts, and the recently updated public datasets."""
    public = public_datasets()
    by_category = s.counts_by(public, "category")
    by_owner = s.counts_by(public, "owner")
    recent = public.select_related("owner").order_by("-updated_at", "pk")[:10]
    return render(request, "portal/home.html", {
        "categories": [(c, by_category.get(c.pk, 0)) for c in s.categories()],
        "organizations": [(u, by_owner.get(u.pk, 0)) for u in s.organizations()],
        "recent": _with_text(recent),
    })  # fmt: skip


def _matching(q: str) -> QuerySet[Dataset]:
    qs = public_datasets()
    for word in q.split():
        # keywords are a JSON list (stored with escaped non-ASCII on SQLite): matched in Python
        by_keyword = [
            pk for pk, kws in qs.values_list("pk", "keywords") if any(word in str(k) for k in kws or [])
        ]
        qs = qs.filter(
            Q(title__icontains=word) | Q(description__icontains=word)
            | Q(title_en__icontains=word) | Q(description_en__icontains=word)
            | Q(owner__name__icontains=word) | Q(pk__in=by_keyword)
        )  # fmt: skip
    return qs


def search(request: HttpRequest) -> HttpResponse:
    """検索: words over titles, descriptions and keywords of public datasets, with 絞り込み by 分野 and 所管課, paged."""
    q = request.GET.get("q", "").strip()[:200]
    group = request.GET.get("group", "")[:100]
    org = request.GET.get("organization", "")[:100]
    sort = request.GET.get("sort", "updated")
    sort = sort if sort in SORTS else "updated"
    matching = _matching(q)
    # each group's counts keep the other group's choice, so a count is what choosing it would show
    in_org = matching.filter(owner__code=org) if org else matching
    in_group = matching.filter(category__code=group) if group else matching
    by_category = s.counts_by(in_org, "category")
    by_owner = s.counts_by(in_group, "owner")
    qs = in_org.filter(category__code=group) if group else in_org
    page = Paginator(qs.select_related("owner", "category").order_by(*SORTS[sort]), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    params = {k: v for k, v in {"q": q, "group": group, "organization": org, "sort": sort}.items() if v}
    return render(request, "portal/search.html", {
        "q": q, "group": group, "organization": org, "sort": sort, "page": page,
        "results": _with_text(page.object_list), "query": urlencode(params),
        "categories": [(c, by_category.get(c.pk, 0)) for c in s.categories()],
        "organizations": [(u, by_owner.get(u.pk, 0)) for u in s.organizations()],
    })  # fmt: skip


def organization(request: HttpRequest, code: str) -> HttpResponse:
    """所管課のページ: the unit's public datasets, newest first, paged."""
    try:
        unit = s.organization(code)
    except NotFound:
        raise Http404("所属が見つかりません。") from None
    qs = public_datasets().filter(owner=unit).select_related("category").order_by("-updated_at", "pk")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "portal/organization.html",
        {"unit": unit, "page": page, "results": _with_text(page.object_list)},
    )  # fmt: skip


def dataset(request: HttpRequest, slug: str) -> HttpResponse:
    """データセット: metadata, licence and attribution, the public charts and dashboards drawn from it, and per
    table a preview of the approved version, its 項目定義, 更新履歴 and downloads."""
    try:
        ds = s.public_dataset(slug)
    except NotFound:
        raise Http404("データセットが見つかりません。") from None
    public = s.public_tables_of(ds)
    charts = public_shares_from(ds)  # 公開グラフ・ダッシュボード drawn from its tables (2 queries)
    tables = []
    for pt in public:
        page = s.preview(pt)
        keep = [i for i, c in enumerate(page.columns) if c != "_id"]  # the row id is internal
        tables.append({
            "pt": pt,
            "columns": [page.columns[i] for i in keep],
            "rows": [[r[i] for i in keep] for r in page.display_rows()],
            "total": page.total,
            "standard": s.public_standard_of(pt),
            "fields": s.fields(pt),
            "history": s.history(pt),
            "downloads": s.download_choices(pt),
        })  # fmt: skip
    response = render(request, "portal/dataset.html", {
        "dataset": ds, **_text(ds), "tables": tables, "attribution": public_attribution(ds) or {},
        "package": s.package_dict(ds, base_url=_base(request), tables=public),
        "public_charts": charts.shares,
    })  # fmt: skip
    modified = s.modified(ds, public)  # a chart published or withdrawn since is news too
    _last_modified(response, max(modified, charts.changed_at) if charts.changed_at else modified)
    return response


def download(request: HttpRequest, slug: str, name: str, ext: str = "csv") -> FileResponse:
    """The approved version of one table: ``.csv`` (UTF-8 with BOM; ``?encoding=cp932`` for Shift_JIS),
    ``.xlsx``, ``.json``, ``.parquet`` or ``.geojson``."""
    try:
        pt = s.public_table_by_name(slug, name)
    except NotFound:
        raise Http404("公開されている表が見つかりません。") from None
    encoding = "cp932" if ext == "csv" and request.GET.get("encoding") == "cp932" else "utf-8"
    try:
        made = s.download_as(pt, fmt=ext, encoding=encoding)
    except InvalidInput as exc:  # e.g. GeoJSON of a table without a geometry column
        raise Http404(str(exc)) from None
    response: FileResponse = made.response()
    _last_modified(response, pt.version.committed_at or pt.version.created_at)
    return response


def _rdf(data: bytes, content_type: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Access-Control-Allow-Origin"] = "*"
    return response


def catalog_rdf(request: HttpRequest, ext: str) -> HttpResponse:
    """``/catalog.ttl|.rdf|.jsonld``: DCAT-AP 3 of the public catalogue (``page``, ``modified_since``)."""
    from machidata.portal import dcat

    try:
        graph = dcat.catalog_graph(
            _base(request), page=request.GET.get("page", ""),
            modified_since=request.GET.get("modified_since", ""), ext=ext,
        )  # fmt: skip
    except dcat.BadParameterError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    return _rdf(*dcat.serialize(graph, ext))


def dataset_rdf(request: HttpRequest, slug: str, ext: str) -> HttpResponse:
    """``/open/datasets/<slug>/dcat.ttl|.rdf|.jsonld``: DCAT-AP 3 of one public dataset."""
    from machidata.portal import dcat

    graph = dcat.dataset_graph(_base(request), slug)
    if graph is None:
        raise Http404("データセットが見つかりません。")
    return _rdf(*dcat.serialize(graph, ext))


def dataset_datapackage(request: HttpRequest, slug: str) -> HttpResponse:
    """``/open/datasets/<slug>/datapackage.json``: a Frictionless Data Package of one public dataset."""
    from machidata.portal.datapackage import datapackage

    descriptor = datapackage(_base(request), slug)
    if descriptor is None:
        raise Http404("データセットが見つかりません。")
    response = JsonResponse(descriptor, json_dumps_params={"ensure_ascii": False, "indent": 1})
    response["Access-Control-Allow-Origin"] = "*"
    return response


def standard_download(request: HttpRequest, slug: str, name: str, filename: str) -> FileResponse:
    """The approved version of a table declared to be a standard dataset, in the standard format and file name."""
    try:
        pt = s.public_table_by_name(slug, name)
    except NotFound:
        raise Http404("公開されている表が見つかりません。") from None
    std = s.public_standard_of(pt)
    if std is None or filename != std.file_name:
        raise Http404("標準形式のファイルが見つかりません。")
    response: FileResponse = s.standard_download(pt).response()
    return response
