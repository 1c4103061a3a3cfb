"""Table (表) pages: metadata and 項目定義, column profile, paged preview with sort and 絞り込み,
downloads, 更新履歴 with 「この版に戻す」, the 項目定義 edit and adding a table. Thin: all reads go
through table_selectors and all writes through table_services.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from machidata.access.policy import Action, access_dataset, allowed_actions
from machidata.catalog import table_selectors as ts
from machidata.catalog.models import Table, ValidationPolicy
from machidata.catalog.table_services import table_create, table_update_schema, version_restore
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied

PER_PAGE_CHOICES = (20, 50, 100)


def _table(request: HttpRequest, slug: str, name: str, action: Action = Action.DISCOVER) -> Table:
    try:
        return ts.table_get(actor=request.actor, slug=slug, name=name, action=action)  # type: ignore[attr-defined]
    except NotFound:
        raise Http404 from None
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None


def _version(request: HttpRequest, table: Table, raw: str | None) -> Any:
    number = None
    if raw:
        if not raw.isdigit():
            raise Http404
        number = int(raw)
    try:
        return ts.version_get(actor=request.actor, table=table, number=number)  # type: ignore[attr-defined]
    except NotFound:
        raise Http404 from None


def _int(raw: str | None, default: int) -> int:
    return int(raw) if raw and raw.isdigit() else default


def _preview(request: HttpRequest, table: Table, version: Any, fields: list[ts.FieldInfo]) -> dict[str, Any]:
    """Run the preview query from the GET parameters; errors become a message, not a crash."""
    actor = request.actor  # type: ignore[attr-defined]
    get = request.GET
    per = _int(get.get("per"), PER_PAGE_CHOICES[0])
    per = per if per in PER_PAGE_CHOICES else PER_PAGE_CHOICES[0]
    page_number = max(1, _int(get.get("page"), 1))
    sort_raw = get.get("sort", "")
    filter_texts = [f for f in get.getlist("filter") if f]
    ctx: dict[str, Any] = {
        "per": per,
        "per_choices": PER_PAGE_CHOICES,
        "sort": sort_raw,
        "active_filters": [],
        "query_error": "",
        "rows_page": None,
    }
    names = [f.name for f in fields]
    try:
        filters = [ts.parse_filter(t) for t in filter_texts]
        ctx["active_filters"] = [
            {"text": t, "label": _filter_label(f, fields), "remove": _query_without_filter(get, t)}
            for t, f in zip(filter_texts, filters, strict=True)
        ]
        sort = ts.parse_sort(sort_raw)
        query = ts.build_query(
            fields=tuple(names) if names else None,
            filters=filters,
            sort=sort,
            limit=per,
            offset=(page_number - 1) * per,
        )
        page = ts.table_rows(actor=actor, table=table, version=version, query=query)
        if page.total and page.offset >= page.total:
            # Past the last page (e.g. after narrowing): show the last page instead of nothing.
            page_number = (page.total - 1) // per + 1
            query = query.model_copy(update={"offset": (page_number - 1) * per})
            page = ts.table_rows(actor=actor, table=table, version=version, query=query)
    except InvalidInput as exc:
        ctx["query_error"] = exc.message
        return ctx
    ctx["rows_page"] = page
    ctx["page_obj"] = Paginator(range(page.total), per).get_page(page_number)
    base = get.copy()
    base.pop("page", None)
    ctx["query_without_page"] = (base.urlencode() + "&") if base else ""
    by_name = {f.name: f for f in fields}
    current = sort[0] if sort else None
    headers = []
    for col in page.columns:
        info = by_name.get(col)
        state = ""
        if current is not None and current.column == col:
            state = "descending" if current.direction == "desc" else "ascending"
        q = get.copy()
        q.pop("page", None)
        q["sort"] = f"-{col}" if state == "ascending" else col
        headers.append(
            {
                "name": col,
                "title": info.title if info else "",
                "unit": info.unit if info else "",
                "aria_sort": state,
                "href": "?" + q.urlencode(),
                "next": "降順" if state == "ascending" else "昇順",
            }
        )
    ctx["headers"] = headers
    ctx["rows"] = page.display_rows(ts.plain_number_columns(table, version))
    ctx["first_row"] = page.offset + 1 if page.total else 0
    ctx["last_row"] = page.offset + len(page.raw)
    return ctx


def _filter_label(f: ts.Filter, fields: list[ts.FieldInfo]) -> str:
    titles = {x.name: x.title or x.name for x in fields}
    op = dict(ts.op_choices()).get(f.op) or f.op
    col = titles.get(f.column, f.column)
    if f.op in ("is_null", "not_null"):
        return f"{col}が{op}"
    if f.values is not None:
        return f"{col}が「{'、'.join(str(v) for v in f.values)}」の{op}"
    if f.op == "range":
        return f"{col}が{f.min or ''}～{f.max or ''}"
    return f"{col}が「{f.value}」{op}"


def _query_without_filter(get: Any, text: str) -> str:
    q = get.copy()
    q.setlist("filter", [v for v in q.getlist("filter") if v != text])
    q.pop("page", None)
    return q.urlencode()


def table_detail(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    """The table page: 版, 項目定義, profile and preview (with READ), downloads and 更新履歴."""
    actor = request.actor  # type: ignore[attr-defined]
    get = request.GET
    # The simple 絞り込み form sends column/op/value; fold them into a `filter` parameter and redirect,
    # so every later link (sort, paging, removing a condition) carries one canonical query string.
    if get.get("fc") and get.get("fo"):
        q = get.copy()
        text = f"{q.pop('fc')[0]}:{q.pop('fo')[0]}"
        value = q.pop("fv", [""])[0]
        if value != "" or text.endswith(("is_null", "not_null")):
            text += f":{value}"
        q.appendlist("filter", text)
        q.pop("page", None)
        return redirect(request.path + "?" + q.urlencode())
    table = _table(request, slug, name)
    dataset = table.dataset
    actions = allowed_actions(actor, dataset)
    can_read = Action.READ in actions
    version = _version(request, table, get.get("v"))
    fields = ts.table_fields(table, version)
    ctx: dict[str, Any] = {
        "dataset": dataset,
        "table": table,
        "version": version,
        "is_current": version is not None and version.pk == table.current_version_id,
        "fields": fields,
        "can_read": can_read,
        "can_edit": Action.EDIT in actions,
        "refusal": "" if can_read else ts.read_refusal(dataset),
        "certification": ts.table_certification(table),
        "versions": ts.version_list(actor=actor, table=table),
        "formats": [
            f
            for f in ts.DOWNLOAD_FORMATS.values()
            if f.code != "geojson" or ts.geometry_column(table, version)
        ],
        "encodings": list(ts.ENCODING_LABELS.items()),
        "op_choices": ts.op_choices(),
        "profile": [],
        "profile_error": "",
    }
    if can_read and version is not None:
        ctx["reports"] = ts.version_reports(actor=actor, table=table, version=version)
        ctx.update(_preview(request, table, version, fields))
        try:
            ctx["profile"] = ts.profile_for_display(
                ts.table_profile(actor=actor, table=table, version=version),
                plain_columns=ts.plain_number_columns(table, version),
                type_labels={f.name: f.type_label for f in fields},
            )
        except InvalidInput as exc:
            ctx["profile_error"] = exc.message
        hidden = [(k, v) for k in ("sort", "per", "v") for v in get.getlist(k)]
        hidden += [("filter", v) for v in get.getlist("filter")]
        ctx["hidden_query"] = hidden
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "preview":
        return render(request, "catalog/_table_preview.html", ctx)
    return render(request, "catalog/table_detail.html", ctx)


def table_download(request: HttpRequest, slug: str, name: str) -> HttpResponseBase:
    """Download a whole version (READ; audited). ``format``, ``encoding`` and ``v`` come from the query string."""
    actor = request.actor  # type: ignore[attr-defined]
    table = _table(request, slug, name, Action.READ)
    version = _version(request, table, request.GET.get("v"))
    try:
        result = ts.version_download(
            actor=actor,
            table=table,
            version=version,
            fmt=request.GET.get("format", "csv"),
            encoding=request.GET.get("encoding", "utf-8"),
        )
    except NotFound:
        raise Http404 from None
    except InvalidInput as exc:
        messages.error(request, exc.message)
        return redirect(reverse("catalog:table_detail", args=[slug, name]))
    return result.response()


@login_required
@require_POST
def table_restore(request: HttpRequest, slug: str, name: str, number: int) -> HttpResponse:
    """「この版に戻す」: start the restore job (editors only) and go to its progress page."""
    actor = request.actor  # type: ignore[attr-defined]
    table = _table(request, slug, name)
    try:
        version = ts.version_get(actor=actor, table=table, number=number)
        if version is None:
            raise NotFound("戻す先の版が見つかりません。")
        job = version_restore(actor=actor, table=table, version=version, note=request.POST.get("note", ""))
    except NotFound:
        raise Http404 from None
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    messages.success(request, f"第{number}版に戻す処理を始めました。終わると新しい版ができます。")
    return redirect("jobs:detail", pk=job.pk)


class TableCreateForm(forms.Form):
    """Add a table to a dataset."""

    name = forms.CharField(
        label="表の名前（半角英数字）",
        max_length=100,
        help_text="URL とファイル名に使います。半角の英小文字・数字・「-」「_」（例: population）",
    )
    title = forms.CharField(label="表のタイトル", max_length=200)
    description = forms.CharField(label="説明", required=False, widget=forms.Textarea(attrs={"rows": 4}))


@login_required
@require_http_methods(["GET", "POST"])
def table_create_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Add an empty table to a dataset (its data is uploaded later)."""
    actor = request.actor  # type: ignore[attr-defined]
    try:
        dataset = access_dataset(actor, Action.DISCOVER, slug=slug)
    except NotFound:
        raise Http404 from None
    if Action.EDIT not in allowed_actions(actor, dataset):
        raise Http404
    form = TableCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            table = table_create(actor=actor, dataset=dataset, **form.cleaned_data)
        except InvalidInput as exc:
            details = exc.details if isinstance(exc.details, dict) else {}
            for key, msgs in details.items():
                for msg in msgs:
                    form.add_error(key if key in form.fields else None, msg)
            if not details:
                form.add_error(None, exc.message)
        else:
            messages.success(request, f"表「{table.title}」を追加しました。")
            return redirect("catalog:table_detail", slug, table.name)
    return render(request, "catalog/table_create.html", {"form": form, "dataset": dataset})


def _schema_form(table: Table, fields: list[ts.FieldInfo], data: Any = None) -> forms.Form:
    form = forms.Form(data)
    form.fields["title"] = forms.CharField(label="表のタイトル", max_length=200, initial=table.title)
    form.fields["description"] = forms.CharField(
        label="表の説明", required=False, initial=table.description, widget=forms.Textarea(attrs={"rows": 3})
    )
    form.fields["validation_policy"] = forms.ChoiceField(
        label="項目定義に合わない版の扱い", choices=ValidationPolicy.choices, initial=table.validation_policy
    )
    form.fields["updated_at"] = forms.CharField(
        widget=forms.HiddenInput, initial=table.updated_at.isoformat()
    )
    for i, f in enumerate(fields):
        form.fields[f"f{i}_title"] = forms.CharField(
            label=f"「{f.name}」の項目名", max_length=200, required=False, initial=f.title
        )
        form.fields[f"f{i}_unit"] = forms.CharField(
            label=f"「{f.name}」の単位", max_length=40, required=False, initial=f.unit
        )
        form.fields[f"f{i}_description"] = forms.CharField(
            label=f"「{f.name}」の説明", max_length=2000, required=False, initial=f.description
        )
    return form


@login_required
@require_http_methods(["GET", "POST"])
def table_schema_edit(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    """Edit the 項目定義 wording (titles, units, descriptions) and the validation policy; types come from ingestion."""
    import datetime as dt

    actor = request.actor  # type: ignore[attr-defined]
    table = _table(request, slug, name)
    if Action.EDIT not in allowed_actions(actor, table.dataset):
        raise Http404
    fields = ts.table_fields(table)
    form = _schema_form(table, fields, request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            seen = dt.datetime.fromisoformat(data["updated_at"])
        except ValueError:
            seen = None
        changes = {
            f.name: {
                "title": data[f"f{i}_title"],
                "unit": data[f"f{i}_unit"],
                "description": data[f"f{i}_description"],
            }
            for i, f in enumerate(fields)
        }
        try:
            table_update_schema(
                actor=actor,
                table=table,
                title=data["title"],
                description=data["description"],
                fields=changes,
                validation_policy=data["validation_policy"],
                updated_at=seen,
            )
        except Conflict as exc:
            form.add_error(None, exc.message)
            status = 409
        except (InvalidInput, PermissionDenied) as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "項目定義を保存しました。")
            return redirect("catalog:table_detail", slug, table.name)
    rows = [
        {
            "field": f,
            "title": form[f"f{i}_title"],
            "unit": form[f"f{i}_unit"],
            "description": form[f"f{i}_description"],
        }
        for i, f in enumerate(fields)
    ]
    return render(
        request,
        "catalog/table_schema_form.html",
        {"form": form, "table": table, "dataset": table.dataset, "rows": rows},
        status=status,
    )
