"""Reads of recipes and code lists, filtered by the access policy; previews run the engine over readable sources only.

A recipe is visible to its 課 (係 included) and 管理 (``restrict_unit_owned``); reading its sources needs
*read* on each source table's dataset (``can(actor, READ, dataset)``), checked again at every preview
and run. Hidden and missing recipes both raise :class:`NotFound`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from machidata.access.policy import Action, Actor, can, restrict, restrict_unit_owned
from machidata.catalog.models import Dataset, Table, TableVersion
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied
from machidata.deid.services import refuse_linkage
from machidata.engine import EngineError, Recipe, RecipePreview, RecipeStepError, json_value, preview_recipe
from machidata.lake.readers import arrow_schema, files_for
from machidata.prep.models import CodeEntry, CodeList, ItemDefinition
from machidata.prep.models import Recipe as RecipeRow

# Columns the lake and ingest add to every table: never part of a recipe's input.
SYSTEM_COLUMNS: tuple[str, ...] = ("_id", "*__raw")


def table_key(table: Table) -> str:
    """How a recipe names a source table: ``dataset-slug/table-name``."""
    return f"{table.dataset.slug}/{table.name}"


def recipe_list(*, actor: Actor) -> QuerySet[RecipeRow]:
    """Recipes the actor's 課 owns (管理: all), newest first."""
    return restrict_unit_owned(
        RecipeRow.objects.select_related("unit", "dataset", "output_table"), actor
    ).order_by("-updated_at")


def recipe_get(*, actor: Actor, pk: int) -> RecipeRow:
    """One recipe the actor may see, or NotFound."""
    row = recipe_list(actor=actor).filter(pk=pk).first()
    if row is None:
        raise NotFound("加工の手順が見つかりません。")
    return row


def can_edit_recipe(actor: Actor, recipe: RecipeRow) -> bool:
    """Editing a recipe is editing the dataset its table is written into (its 課's 編集, or 管理)."""
    return can(actor, Action.EDIT, recipe.dataset)


def readable_tables(*, actor: Actor) -> QuerySet[Table]:
    """Tables with data whose dataset the actor may read (the choices for sources)."""
    readable = restrict(Dataset.objects.all(), actor, Action.READ).values("pk")
    return (
        Table.objects.filter(dataset__in=readable, current_version__isnull=False)
        .select_related("dataset")
        .order_by("dataset__title", "title")
    )


def writable_datasets(*, actor: Actor) -> QuerySet[Dataset]:
    """Datasets the actor may write a derived table into."""
    return restrict(Dataset.objects.all(), actor, Action.EDIT).order_by("title")


def source_table(*, actor: Actor, key: str) -> Table:
    """The source table named ``key`` if the actor may read it; otherwise a Japanese refusal naming it."""
    slug, _, name = key.partition("/")
    table = (
        Table.objects.select_related("dataset", "current_version")
        .filter(dataset__slug=slug, name=name)
        .first()
    )
    if table is None or not can(actor, Action.DISCOVER, table.dataset):
        raise NotFound(f"元の表「{key}」が見つかりません。")
    if not can(actor, Action.READ, table.dataset):
        raise PermissionDenied(
            f"元の表「{table.title}」を読む権限がありません。所管課に利用を申し出てください。"
        )
    if table.current_version is None:
        raise InvalidInput(f"元の表「{table.title}」にはまだデータがありません。")
    return table


@dataclass(frozen=True)
class ResolvedSources:
    """The readable current version of each source, its files and schema, by alias."""

    versions: dict[str, TableVersion]
    files: dict[str, list[str]]
    schemas: dict[str, Any]
    tables: dict[str, Table]


def resolve_sources(*, actor: Actor, recipe: Recipe, output: Dataset | None = None) -> ResolvedSources:
    """Check read access on every source and resolve its current version's Parquet files.

    A 仮名加工情報 source may not meet its source ledger or other personal data, and what is made from
    it stays in a 仮名加工情報 dataset (``output``): refused and audited by ``deid.refuse_linkage``.
    """
    versions, files, schemas, tables = {}, {}, {}, {}
    for ref in recipe.sources:
        table = source_table(actor=actor, key=ref.table)
        version = table.current_version
        assert version is not None
        versions[ref.alias], tables[ref.alias] = version, table
        files[ref.alias] = files_for(version)
        schemas[ref.alias] = arrow_schema(version)
    refuse_linkage(actor, list(tables.values()), where="recipe", output=output)
    return ResolvedSources(versions=versions, files=files, schemas=schemas, tables=tables)


def codelist_mapping(codelist: CodeList, *, on: dt.date | None = None) -> dict[str, str]:
    """``{code: name}`` of the entries valid on ``on`` (today by default)."""
    day = on or timezone.localdate()
    entries = codelist.entries.filter(
        Q(valid_from__isnull=True) | Q(valid_from__lte=day), Q(valid_to__isnull=True) | Q(valid_to__gte=day)
    )
    return {e.code: e.name for e in entries}


def codelists_for(recipe: Recipe) -> dict[str, dict[str, str]]:
    """The code lists a recipe's recode steps name (unknown names are left out: the engine names them)."""
    slugs = {getattr(s, "codelist", None) for s in recipe.steps} - {None}
    return {c.slug: codelist_mapping(c) for c in CodeList.objects.filter(slug__in=slugs)}


def recipe_preview(
    *,
    actor: Actor,
    recipe: RecipeRow,
    definition: Recipe | None = None,
    upto: int | None = None,
    limit: int = 20,
) -> RecipePreview:
    """Each step's row count and findings plus the first rows, over sources the actor may read (READ each)."""
    parsed = definition or Recipe.from_dict(recipe.definition)
    sources = resolve_sources(actor=actor, recipe=parsed)
    try:
        return preview_recipe(
            sources.files,
            parsed,
            codelists=codelists_for(parsed),
            schemas=sources.schemas,
            exclude=SYSTEM_COLUMNS,
            upto=upto,
            limit=limit,
            timeout_s=settings.MACHIDATA_ENGINE_TIMEOUT_S,
        )
    except RecipeStepError as exc:
        raise InvalidInput(exc.message, details={"step": exc.index}) from None
    except EngineError as exc:
        raise InvalidInput(exc.message) from None


@dataclass
class PagePreview:
    """What the recipe page shows: the preview up to the first failing step, and that step's error."""

    preview: RecipePreview | None
    error: str = ""
    error_step: int | None = None


def recipe_page_preview(*, actor: Actor, recipe: RecipeRow, limit: int = 20) -> PagePreview:
    """The preview for the page: when a step fails, the steps before it still show their counts."""
    try:
        return PagePreview(recipe_preview(actor=actor, recipe=recipe, limit=limit))
    except (InvalidInput, PermissionDenied, NotFound) as exc:
        step = (exc.details or {}).get("step") if isinstance(exc.details, dict) else None
        before = None
        if isinstance(step, int) and step > 0:
            try:
                before = recipe_preview(actor=actor, recipe=recipe, upto=step - 1, limit=limit)
            except (InvalidInput, PermissionDenied, NotFound):
                before = None
        return PagePreview(before, error=exc.message, error_step=step if isinstance(step, int) else None)


def table_columns(*, actor: Actor, key: str) -> list[str]:
    """The columns of a readable table's current version (``dataset-slug/table-name``), system columns left out."""
    table = source_table(actor=actor, key=key)
    assert table.current_version is not None
    return [n for n in arrow_schema(table.current_version).names if n != "_id" and not n.endswith("__raw")]


def source_columns(*, actor: Actor, recipe: RecipeRow) -> dict[str, list[str]]:
    """Each source's columns by alias (for the step forms), system columns left out."""
    parsed = Recipe.from_dict(recipe.definition)
    return {ref.alias: table_columns(actor=actor, key=ref.table) for ref in parsed.sources}


def codelist_list() -> QuerySet[CodeList]:
    """Every code list (code lists are shared vocabulary, visible to all staff)."""
    return CodeList.objects.select_related("unit").order_by("slug")


def codelist_get(*, slug: str) -> CodeList:
    """One code list or NotFound."""
    found = CodeList.objects.filter(slug=slug).first()
    if found is None:
        raise NotFound("コード表が見つかりません。")
    return found


def codelist_entries(*, codelist: CodeList) -> QuerySet[CodeEntry]:
    """All entries, current and past."""
    return codelist.entries.order_by("code", "valid_from")


def item_list() -> QuerySet[ItemDefinition]:
    """The shared item dictionary."""
    return ItemDefinition.objects.select_related("codelist").order_by("slug")


def recipe_lineage(*, recipe: RecipeRow) -> dict[str, Any] | None:
    """The lineage recorded on the derived table's current version (which source versions it read)."""
    table = recipe.output_table
    if table is None or table.current_version_id is None:
        return None
    version = TableVersion.objects.filter(pk=table.current_version_id).only("reports", "number").first()
    if version is None:
        return None
    lineage = (version.reports or {}).get("lineage")
    return {**lineage, "version": version.number} if lineage else None


def jsonable(value: Any) -> Any:
    """A preview cell as JSON (dates as ISO text, decimals as numbers)."""
    return json_value(value)
