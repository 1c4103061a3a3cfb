"""Recipe API (/api/v1/recipes): list, create, inspect, replace the definition, step counts, run, starters.

Signed-in staff only (401 otherwise); recipes of other 課 answer 404.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from machidata.access.auth import api_staff
from machidata.catalog.selectors import dataset_get
from machidata.core.errors import InvalidInput, NotFound
from machidata.prep import selectors, services
from machidata.prep.models import Recipe
from machidata.prep.schemas import (
    CertifyIn,
    CopyIn,
    DefinitionIn,
    RecipeIn,
    RecipeJobOut,
    RecipeOut,
    StarterIn,
    StarterOut,
    StepsOut,
)
from machidata.prep.starters import STARTERS

router = Router(tags=["recipes"])


def _out(recipe: Recipe) -> dict[str, Any]:
    table = recipe.output_table
    return {
        "id": recipe.pk,
        "title": recipe.title,
        "description": recipe.description,
        "unit": recipe.unit.name,
        "dataset": recipe.dataset.slug,
        "table_name": recipe.table_name,
        "output_table": f"{recipe.dataset.slug}/{table.name}" if table is not None else None,
        "definition": recipe.definition,
        "lock_version": recipe.lock_version,
        "status": recipe.status,
        "last_error": recipe.last_error,
        "last_steps": recipe.last_steps,
        "last_run_at": recipe.last_run_at,
        "certified_at": recipe.certified_at,
        "lineage": selectors.recipe_lineage(recipe=recipe),
    }


@router.get("/", response=list[RecipeOut], summary="加工の手順の一覧")
def list_recipes(request: HttpRequest) -> list[dict[str, Any]]:
    """Recipes of the caller's 課 (管理: all)."""
    return [_out(r) for r in selectors.recipe_list(actor=api_staff(request))[:200]]


@router.post("/", response={201: RecipeOut}, summary="加工の手順を作る")
def create_recipe(request: HttpRequest, payload: RecipeIn) -> Status:
    """Create a recipe from a source table; with ``definition``, its steps are set at once."""
    actor = api_staff(request)
    source = selectors.source_table(actor=actor, key=payload.source)
    dataset = dataset_get(actor=actor, slug=payload.dataset)
    recipe = services.recipe_create(
        actor=actor,
        title=payload.title,
        dataset=dataset,
        table_name=payload.table_name,
        source=source,
        description=payload.description,
    )
    if payload.definition is not None:
        recipe = services.recipe_update(
            actor=actor, recipe=recipe, definition=payload.definition, lock_version=recipe.lock_version
        )
    return Status(201, _out(selectors.recipe_get(actor=actor, pk=recipe.pk)))


@router.get("/starters", response=list[StarterOut], summary="ひな形の一覧")
def list_starters(request: HttpRequest) -> list[dict[str, Any]]:
    """The starters (ひな形) and the fields each one asks for."""
    api_staff(request)
    return [s.as_dict() for s in STARTERS.values()]


@router.post("/starters/{slug}", response={201: RecipeOut}, summary="ひな形から加工の手順を作る")
def create_from_starter(request: HttpRequest, slug: str, payload: StarterIn) -> Status:
    """An ordinary recipe made from a starter's fields (READ on every table, EDIT on the target dataset)."""
    actor = api_staff(request)
    starter = STARTERS.get(slug)
    if starter is None:
        raise NotFound("ひな形が見つかりません。")
    source = selectors.source_table(actor=actor, key=payload.source)
    wants_one = any(f.kind == "table" for f in starter.fields)
    keys = ([payload.other] if payload.other else []) if wants_one else payload.others
    others = [selectors.source_table(actor=actor, key=k) for k in keys]
    dataset = dataset_get(actor=actor, slug=payload.dataset)
    recipe = services.recipe_from_starter(
        actor=actor,
        starter=slug,
        title=payload.title,
        dataset=dataset,
        table_name=payload.table_name,
        source=source,
        others=others,
        params=dict(payload.params),
    )
    return Status(201, _out(selectors.recipe_get(actor=actor, pk=recipe.pk)))


@router.get("/{int:recipe_id}", response=RecipeOut, summary="加工の手順")
def get_recipe(request: HttpRequest, recipe_id: int) -> dict[str, Any]:
    """One recipe with its last run and the lineage of its table's current version."""
    return _out(selectors.recipe_get(actor=api_staff(request), pk=recipe_id))


@router.put("/{int:recipe_id}/definition", response=RecipeOut, summary="手順を置き換える")
def put_definition(request: HttpRequest, recipe_id: int, payload: DefinitionIn) -> dict[str, Any]:
    """Replace sources and steps (409 when someone saved first)."""
    actor = api_staff(request)
    recipe = selectors.recipe_get(actor=actor, pk=recipe_id)
    services.recipe_update(
        actor=actor, recipe=recipe, definition=payload.definition, lock_version=payload.lock_version
    )
    return _out(selectors.recipe_get(actor=actor, pk=recipe_id))


@router.get("/{int:recipe_id}/steps", response=StepsOut, summary="各手順の行数と確認事項")
def get_steps(request: HttpRequest, recipe_id: int, limit: int = 20) -> dict[str, Any]:
    """Row count and findings after each step, and the first rows of the result (READ on every source)."""
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit は1から1000までの数で指定してください。")
    actor = api_staff(request)
    recipe = selectors.recipe_get(actor=actor, pk=recipe_id)
    preview = selectors.recipe_preview(actor=actor, recipe=recipe, limit=limit)
    return {
        "steps": [s.as_dict() for s in preview.steps],
        "columns": preview.table.column_names,
        "rows": [{k: selectors.jsonable(v) for k, v in r.items()} for r in preview.table.to_pylist()],
        "errors": preview.errors,
    }


@router.post("/{int:recipe_id}/run", response={202: RecipeJobOut}, summary="加工を実行する（ジョブ）")
def run_recipe(request: HttpRequest, recipe_id: int) -> Status:
    """Queue a run; the job writes a new version of the derived table, or nothing when a step fails."""
    actor = api_staff(request)
    recipe = selectors.recipe_get(actor=actor, pk=recipe_id)
    job = services.recipe_run(actor=actor, recipe=recipe)
    return Status(202, {"job_id": job.pk, "status": job.status})


@router.post(
    "/{int:recipe_id}/copy", response={201: RecipeOut}, summary="手順を同じ形の別の表に写す（横展開）"
)
def copy_recipe(request: HttpRequest, recipe_id: int, payload: CopyIn) -> Status:
    """A new recipe with the same steps over other tables of the same shape (READ on each, EDIT on the target)."""
    actor = api_staff(request)
    recipe = selectors.recipe_get(actor=actor, pk=recipe_id)
    sources = {alias: selectors.source_table(actor=actor, key=key) for alias, key in payload.sources.items()}
    dataset = dataset_get(actor=actor, slug=payload.dataset)
    copy = services.recipe_copy(
        actor=actor,
        recipe=recipe,
        sources=sources,
        dataset=dataset,
        table_name=payload.table_name,
        title=payload.title,
    )
    return Status(201, _out(selectors.recipe_get(actor=actor, pk=copy.pk)))


@router.post("/{int:recipe_id}/certify", response=RecipeOut, summary="認定データにする・取り消す（管理）")
def certify_recipe(request: HttpRequest, recipe_id: int, payload: CertifyIn) -> dict[str, Any]:
    """データ戦略課 certifies the derived table (or withdraws it); others get 404."""
    actor = api_staff(request)
    recipe = selectors.recipe_get(actor=actor, pk=recipe_id)
    services.recipe_certify(actor=actor, recipe=recipe, certify=payload.certify)
    return _out(selectors.recipe_get(actor=actor, pk=recipe_id))
