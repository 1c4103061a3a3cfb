"""Recipe pages (staff, no code): the list and new-recipe form, one recipe with its steps, step forms and run, code lists."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from machidata.access.policy import Actor
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from machidata.prep import selectors, services
from machidata.prep.forms import FILTER_OPS, MEASURES, STEP_TYPES, RecipeForm, describe_step, step_from_post
from machidata.prep.starters import STARTERS


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _lock(request: HttpRequest) -> int:
    try:
        return int(request.POST.get("lock_version", ""))
    except ValueError:
        raise InvalidInput("画面を読み直してから、もう一度操作してください。") from None


@login_required
@require_http_methods(["GET", "POST"])
def recipe_list(request: HttpRequest) -> HttpResponse:
    """The recipes of my 課, and the form that starts a new one from a table."""
    actor = _actor(request)
    form = RecipeForm(request.POST or None)
    tables = list(selectors.readable_tables(actor=actor))
    datasets = list(selectors.writable_datasets(actor=actor))
    form.fields["source"].choices = [  # type: ignore[attr-defined]  # a ChoiceField
        (selectors.table_key(t), f"{t.dataset.title} / {t.title}") for t in tables
    ]
    form.fields["dataset"].choices = [(d.slug, d.title) for d in datasets]  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        try:
            source = selectors.source_table(actor=actor, key=form.cleaned_data["source"])
            dataset = next(d for d in datasets if d.slug == form.cleaned_data["dataset"])
            recipe = services.recipe_create(
                actor=actor,
                title=form.cleaned_data["title"],
                dataset=dataset,
                table_name=form.cleaned_data["table_name"],
                source=source,
                description=form.cleaned_data["description"],
            )
        except (InvalidInput, PermissionDenied, NotFound) as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "加工の手順を作りました。手順を加えてください。")
            return redirect("prep:detail", recipe.pk)
    return render(
        request,
        "prep/recipe_list.html",
        {
            "recipes": selectors.recipe_list(actor=actor),
            "form": form,
            "can_create": bool(datasets and tables),
            "starters": STARTERS.values(),
        },
    )


def _step_rows(recipe: Any, page: selectors.PagePreview) -> list[dict[str, Any]]:
    """Each step with its report (when the preview got that far) and its error (at the failing step)."""
    steps = recipe.definition.get("steps", [])
    reports = {s.index: s for s in page.preview.steps} if page.preview else {}
    labels = {s["alias"]: s.get("label") or s["table"] for s in recipe.definition.get("sources", [])}
    rows = []
    for i, step in enumerate(steps, start=1):
        rows.append(
            {
                "index": i,
                "step": step,
                "summary": describe_step(step, labels),
                "label": STEP_TYPES.get(step.get("type"), step.get("type")),
                "report": reports.get(i),
                "error": page.error if page.error_step == i else "",
            }
        )
    return rows


@login_required
@require_GET
def recipe_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One recipe: its sources, each step with its row count and findings, the step forms and the run button."""
    actor = _actor(request)
    recipe = selectors.recipe_get(actor=actor, pk=pk)
    page = selectors.recipe_page_preview(actor=actor, recipe=recipe)
    # The step forms offer the columns after the last step that worked.
    columns: list[str] = page.preview.steps[-1].columns if page.preview is not None else []
    try:
        source_columns = selectors.source_columns(actor=actor, recipe=recipe)
    except (InvalidInput, PermissionDenied, NotFound):
        source_columns = {}
    sources = recipe.definition.get("sources", [])
    return render(
        request,
        "prep/recipe_detail.html",
        {
            "recipe": recipe,
            "page": page,
            "source_report": page.preview.steps[0] if page.preview else None,
            "steps": _step_rows(recipe, page),
            "rows": page.preview.table.to_pylist() if page.preview and not page.error else [],
            "result_columns": page.preview.table.column_names if page.preview and not page.error else [],
            "columns": columns,
            "sources": sources,
            "source_columns": source_columns,
            "other_sources": sources[1:],
            "step_types": STEP_TYPES,
            "filter_ops": FILTER_OPS,
            "measures": MEASURES,
            "codelists": selectors.codelist_list(),
            "tables": [
                (selectors.table_key(t), f"{t.dataset.title} / {t.title}")
                for t in selectors.readable_tables(actor=actor)
            ],
            "can_edit": selectors.can_edit_recipe(actor, recipe),
            "lineage": selectors.recipe_lineage(recipe=recipe),
            "is_admin": actor.is_admin,
        },
    )


@login_required
@require_GET
def step_preview(request: HttpRequest, pk: int, index: int) -> HttpResponse:
    """htmx partial: the first rows after step ``index`` (0: the starting table)."""
    actor = _actor(request)
    recipe = selectors.recipe_get(actor=actor, pk=pk)
    try:
        preview = selectors.recipe_preview(actor=actor, recipe=recipe, upto=index, limit=10)
        error = ""
    except (InvalidInput, PermissionDenied, NotFound) as exc:
        preview, error = None, exc.message
    return render(request, "prep/_step_preview.html", {"preview": preview, "error": error, "index": index})


def _act(request: HttpRequest, pk: int, action: Any, done: str) -> HttpResponse:
    actor = _actor(request)
    recipe = selectors.recipe_get(actor=actor, pk=pk)
    try:
        action(actor, recipe)
    except (InvalidInput, Conflict, PermissionDenied) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("prep:detail", pk)


@login_required
@require_POST
def step_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Add one step from its form."""
    return _act(
        request,
        pk,
        lambda actor, recipe: services.recipe_step_add(
            actor=actor, recipe=recipe, step=step_from_post(request.POST), lock_version=_lock(request)
        ),
        "手順を加えました。",
    )


@login_required
@require_POST
def step_remove(request: HttpRequest, pk: int, index: int) -> HttpResponse:
    """Remove one step."""
    return _act(
        request,
        pk,
        lambda actor, recipe: services.recipe_step_remove(
            actor=actor, recipe=recipe, index=index, lock_version=_lock(request)
        ),
        f"手順{index}を削除しました。",
    )


@login_required
@require_POST
def source_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Add another table to join or stack."""

    def add(actor: Actor, recipe: Any) -> None:
        table = selectors.source_table(actor=actor, key=request.POST.get("table", ""))
        services.recipe_source_add(actor=actor, recipe=recipe, source=table, lock_version=_lock(request))

    return _act(request, pk, add, "表を加えました。結合や積み重ねの手順で選べます。")


@login_required
@require_POST
def recipe_run(request: HttpRequest, pk: int) -> HttpResponse:
    """Run the recipe as a job; the job page shows its progress."""
    actor = _actor(request)
    recipe = selectors.recipe_get(actor=actor, pk=pk)
    try:
        job = services.recipe_run(actor=actor, recipe=recipe)
    except (InvalidInput, PermissionDenied) as exc:
        messages.error(request, exc.message)
        return redirect("prep:detail", pk)
    messages.success(request, "加工を始めました。終わると作った表が新しい版になります。")
    return redirect("jobs:detail", job.pk)


@login_required
@require_POST
def recipe_certify(request: HttpRequest, pk: int) -> HttpResponse:
    """管理 certifies (or withdraws the certificate of) the derived table."""
    certify = request.POST.get("certify", "1") == "1"
    return _act(
        request,
        pk,
        lambda actor, recipe: services.recipe_certify(actor=actor, recipe=recipe, certify=certify),
        "認定データにしました。" if certify else "認定を取り消しました。",
    )


@login_required
@require_GET
def codelists(request: HttpRequest) -> HttpResponse:
    """Code lists and the shared item dictionary."""
    return render(
        request,
        "prep/codelists.html",
        {"codelists": selectors.codelist_list(), "items": selectors.item_list()},
    )


@login_required
@require_GET
def codelist_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """One code list with every code (current and past)."""
    codelist = selectors.codelist_get(slug=slug)
    return render(
        request,
        "prep/codelist_detail.html",
        {"codelist": codelist, "entries": selectors.codelist_entries(codelist=codelist)},
    )


def _starter_columns(actor: Actor, key: str) -> list[str]:
    """The columns of a table chosen on the starter form ([] until one is chosen or when it cannot be read)."""
    if not key:
        return []
    try:
        return selectors.table_columns(actor=actor, key=key)
    except (InvalidInput, PermissionDenied, NotFound):
        return []


def _starter_value(data: Any, field: Any) -> str:
    """A field's value as starter parameters take it (several columns become a comma-separated text)."""
    if field.kind == "columns":
        return ",".join(v for v in data.getlist(field.name) if v)
    if field.kind == "tables":
        return ""
    return str(data.get(field.name, field.default))


@login_required
@require_http_methods(["GET", "POST"])
def starter(request: HttpRequest, slug: str) -> HttpResponse:
    """A starter (ひな形): a short form that makes an ordinary recipe, then the recipe page to edit and run it.

    The column fields are select boxes filled from the chosen tables' schemas: choosing the tables and
    pressing 「列を読み込む」 sends the form by GET (no script) and the page comes back with the columns.
    """
    actor = _actor(request)
    found = STARTERS.get(slug)
    if found is None:
        raise NotFound("ひな形が見つかりません。")
    tables = list(selectors.readable_tables(actor=actor))
    datasets = list(selectors.writable_datasets(actor=actor))
    data = request.POST if request.method == "POST" else request.GET
    initial = {
        "title": found.title,
        **{k: data.get(k) for k in ("title", "source", "dataset", "table_name") if data.get(k)},
    }
    form = RecipeForm(request.POST or None, initial=initial)
    form.fields["source"].choices = [  # type: ignore[attr-defined]  # a ChoiceField
        (selectors.table_key(t), f"{t.dataset.title} / {t.title}") for t in tables
    ]
    form.fields["dataset"].choices = [(d.slug, d.title) for d in datasets]  # type: ignore[attr-defined]
    values = {f.name: _starter_value(data, f) for f in found.fields}
    chosen = data.getlist("others")
    columns = _starter_columns(actor, str(data.get("source", "")))
    other_columns = _starter_columns(actor, str(data.get("other", "")))
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            source = selectors.source_table(actor=actor, key=form.cleaned_data["source"])
            keys = [request.POST.get("other", "")] if any(f.kind == "table" for f in found.fields) else chosen
            others = [selectors.source_table(actor=actor, key=k) for k in keys if k]
            dataset = next((d for d in datasets if d.slug == form.cleaned_data["dataset"]), None)
            if dataset is None:
                raise InvalidInput("作った表を入れるデータセットを選んでください。")
            recipe = services.recipe_from_starter(
                actor=actor,
                starter=slug,
                title=form.cleaned_data["title"],
                dataset=dataset,
                table_name=form.cleaned_data["table_name"],
                source=source,
                others=others,
                params={k: str(v) for k, v in values.items()},
            )
        except (InvalidInput, PermissionDenied, NotFound, Conflict) as exc:
            error = exc.message
        else:
            messages.success(
                request,
                "ひな形から加工の手順を作りました。各手順の件数と結果を確かめてから実行してください。",
            )
            return redirect("prep:detail", recipe.pk)
    return render(
        request,
        "prep/starter.html",
        {
            "starter": found,
            "form": form,
            "fields": [
                {
                    "field": f,
                    "value": values.get(f.name, ""),
                    "picked": set(values.get(f.name, "").split(",")),
                    "columns": other_columns if f.kind == "other_column" else columns,
                }
                for f in found.fields
            ],
            "tables": [(selectors.table_key(t), f"{t.dataset.title} / {t.title}") for t in tables],
            "chosen": chosen,
            "columns_loaded": bool(columns),
            "needs_other": any(f.kind == "other_column" for f in found.fields),
            "error": error,
            "can_create": bool(datasets and tables),
        },
    )
