"""Public portal pages (no login): home, search, dataset, CSV download of an approved version."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from machidata.core.errors import NotFound
from machidata.portal import selectors as s
from machidata.publish.selectors import public_attribution, public_datasets

PAGE_SIZE = 20


def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def home(request: HttpRequest) -> HttpResponse:
    """トップ: 分野 and the recently updated public datasets."""
    recent = public_datasets().select_related("owner").order_by("-updated_at")[:10]
    cats = [(c, public_datasets().filter(category=c).count()) for c in s.categories()]
    return render(request, "portal/home.html", {"categories": cats, "recent": recent})


def search(request: HttpRequest) -> HttpResponse:
    """検索: words over title, description and keywords of public datasets, by 分野, paged."""
    q = request.GET.get("q", "").strip()[:200]
    group = request.GET.get("group", "")
    qs = public_datasets().select_related("owner", "category")
    for word in q.split():
        # keywords are a JSON list (stored with escaped non-ASCII on SQLite): matched in Python
        by_keyword = [
            pk for pk, kws in qs.values_list("pk", "keywords") if any(word in str(k) for k in kws or [])
        ]
        qs = qs.filter(
            Q(title__icontains=word) | Q(description__icontains=word)
            | Q(owner__name__icontains=word) | Q(pk__in=by_keyword)
        )  # fmt: skip
    if group:
        qs = qs.filter(category__code=group)
    page = Paginator(qs.order_by("-updated_at", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/search.html",
        {"q": q, "group": group, "page": page, "categories": s.categories()},
    )


def dataset(request: HttpRequest, slug: str) -> HttpResponse:
    """データセット: metadata, licence and attribution, each table with a preview of its approved version."""
    try:
        ds = s.public_dataset(slug)
    except NotFound:
        raise Http404("データセットが見つかりません。") from None
    tables = []
    for pt in s.public_tables_of(ds):
        page = s.preview(pt)
        keep = [i for i, c in enumerate(page.columns) if c != "_id"]  # the row id is internal
        rows = [[r[i] for i in keep] for r in page.display_rows()]
        columns = [page.columns[i] for i in keep]
        tables.append(
            {
                "pt": pt,
                "columns": columns,
                "rows": rows,
                "total": page.total,
                "standard": s.public_standard_of(pt),
            }
        )
    return render(
        request,
        "portal/dataset.html",
        {"dataset": ds, "tables": tables, "attribution": public_attribution(ds) or {},
         "package": s.package_dict(ds, base_url=_base(request))},
    )  # fmt: skip


def download(request: HttpRequest, slug: str, name: str) -> FileResponse:
    """The approved version of one table as CSV (UTF-8 with BOM)."""
    try:
        pt = s.public_table_by_name(slug, name)
    except NotFound:
        raise Http404("公開されている表が見つかりません。") from None
    response: FileResponse = s.download(pt).response()
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
