"""Writing recipes: create, edit steps (optimistic locking), run as a job, re-run on new source versions, certify.

Every edit is one transaction, audited. A run (:func:`recipe_execute`, the job body) reads the
sources' current versions through the engine and writes one new version of the derived table through
``lake.write_version`` (outside ``transaction.atomic``, as the lake requires), with the lineage — each
source's table and version — in the version's ``reports["lineage"]``. A step error stops the run
before any row is written; the recipe is marked failed and its owner notified.

Re-run hook: the lake sends ``version_committed`` (``machidata.lake.signals``) after a version's row is
durably committed; :func:`on_version_committed` submits a run job for every recipe that reads that
table. A signal, rather than a call from ingest or the lake, keeps the lower rooms from importing this
one, and catches every path that commits a version (ingest, restore, recovery roll-forward, other
recipes).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from machidata.access.models import Membership, Role
from machidata.access.policy import Action, Actor, actor_for, can, require_admin, system_actor
from machidata.audit.services import audit_record
from machidata.catalog.models import Dataset, Table, TableVersion
from machidata.core.errors import Conflict, InvalidInput, MachidataError, NotFound, PermissionDenied
from machidata.deid.services import refuse_linkage
from machidata.engine import EngineError, Recipe, stream_recipe
from machidata.jobs.models import Job
from machidata.jobs.services import job_submit
from machidata.notify.services import notify
from machidata.prep.models import CodeList, ItemDefinition, RunStatus
from machidata.prep.models import Recipe as RecipeRow
from machidata.prep.selectors import SYSTEM_COLUMNS, codelists_for, resolve_sources, table_key

logger = logging.getLogger(__name__)
JOB_KIND = "prep.recipe_run"
SYSTEM = system_actor("prep")
_TABLE_NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-_"


def _require_edit(actor: Actor, dataset: Dataset) -> None:
    if not can(actor, Action.EDIT, dataset):
        raise PermissionDenied(
            "この加工の手順を変更する権限がありません（作った表を入れるデータセットの編集権限が必要です）。"
        )


def _check_table_name(name: str) -> str:
    name = (name or "").strip().lower()
    if not name or any(c not in _TABLE_NAME_CHARS for c in name) or len(name) > 100:
        raise InvalidInput(
            "作る表の名前は半角の英小文字・数字・ハイフンで入力してください（例: dispatch-rate）。"
        )
    return name


def recipe_create(
    *, actor: Actor, title: str, dataset: Dataset, table_name: str, source: Table, description: str = ""
) -> RecipeRow:
    """A new recipe starting from ``source`` (READ), writing into ``dataset`` (EDIT); owned by the dataset's 課."""
    title = (title or "").strip()
    if not title:
        raise InvalidInput("加工の手順の名前を入力してください。")
    _require_edit(actor, dataset)
    if not can(actor, Action.READ, source.dataset):
        raise PermissionDenied(f"元の表「{source.title}」を読む権限がありません。")
    name = _check_table_name(table_name)
    if (
        Table.objects.filter(dataset=dataset, name=name).exists()
        or RecipeRow.objects.filter(dataset=dataset, table_name=name).exists()
    ):
        raise InvalidInput(
            f"データセット「{dataset.title}」には表「{name}」が既にあります。別の名前にしてください。"
        )
    # Checked (and a refusal audited) before the transaction, which would roll the audit back.
    refuse_linkage(actor, [source], where="recipe", output=dataset)
    with transaction.atomic():
        definition = Recipe.from_dict(
            {
                "version": 1,
                "sources": [{"alias": "s1", "table": table_key(source), "label": source.title}],
                "steps": [],
            }
        )
        recipe = RecipeRow.objects.create(
            title=title[:200],
            description=description,
            unit=dataset.owner,
            dataset=dataset,
            table_name=name,
            definition=definition.to_dict(),
            created_by_id=actor.user_id,
        )
        audit_record(
            actor=actor,
            action="prep.recipe.create",
            obj=recipe,
            changes={"source": table_key(source), "table": name},
        )
    return recipe


def _validated(actor: Actor, recipe: RecipeRow, definition: dict[str, Any]) -> Recipe:
    """Shape, readable sources and no source that is the recipe's own output."""
    try:
        parsed = Recipe.from_dict(definition)
    except EngineError as exc:
        raise InvalidInput(exc.message) from None
    own = f"{recipe.dataset.slug}/{recipe.table_name}"
    for ref in parsed.sources:
        if ref.table == own:
            raise InvalidInput("作る表そのものを元の表にはできません。")
    _refuse_cycle(recipe, parsed, own)
    resolve_sources(actor=actor, recipe=parsed, output=recipe.dataset)  # READ on each source, now
    return parsed


def _refuse_cycle(recipe: RecipeRow, parsed: Recipe, own: str) -> None:
    """Refuse sources that are (through other recipes) made from this recipe's own table: re-runs would loop."""
    made_from: dict[str, list[str]] = {}
    for other in RecipeRow.objects.exclude(pk=recipe.pk).select_related("dataset"):
        key = f"{other.dataset.slug}/{other.table_name}"
        made_from[key] = [str(s.get("table")) for s in (other.definition or {}).get("sources", [])]
    seen: set[str] = set()
    stack = [ref.table for ref in parsed.sources]
    while stack:
        key = stack.pop()
        if key == own:
            raise InvalidInput(
                "元の表が、この手順で作る表から（ほかの加工の手順を通して）作られています。手順が循環するため使えません。"
            )
        if key not in seen:
            seen.add(key)
            stack.extend(made_from.get(key, []))


def recipe_update(
    *, actor: Actor, recipe: RecipeRow, definition: dict[str, Any], lock_version: int
) -> RecipeRow:
    """Replace the recipe's sources and steps; refused if someone saved in between (optimistic lock)."""
    _require_edit(actor, recipe.dataset)
    # Validated (a linkage refusal audited) before the transaction, which would roll the audit back.
    parsed = _validated(actor, recipe, definition)
    with transaction.atomic():
        done = RecipeRow.objects.filter(pk=recipe.pk, lock_version=lock_version).update(
            definition=parsed.to_dict(),
            lock_version=lock_version + 1,
            certified_at=None,
            certified_by=None,
            updated_at=timezone.now(),
        )
        if not done:
            raise Conflict(
                "ほかの人がこの手順を先に変更しました。画面を読み直してから、もう一度変更してください。"
            )
        recipe.refresh_from_db()
        audit_record(
            actor=actor,
            action="prep.recipe.update",
            obj=recipe,
            changes={"steps": len(parsed.steps), "sources": len(parsed.sources)},
        )
    return recipe


def recipe_step_add(*, actor: Actor, recipe: RecipeRow, step: dict[str, Any], lock_version: int) -> RecipeRow:
    """Append one step (a dict of one step type)."""
    definition = dict(recipe.definition)
    definition["steps"] = [*definition.get("steps", []), step]
    return recipe_update(actor=actor, recipe=recipe, definition=definition, lock_version=lock_version)


def recipe_step_remove(*, actor: Actor, recipe: RecipeRow, index: int, lock_version: int) -> RecipeRow:
    """Remove step ``index`` (1-based, as shown)."""
    steps = list(recipe.definition.get("steps", []))
    if not 1 <= index <= len(steps):
        raise InvalidInput(f"手順{index}はありません。")
    del steps[index - 1]
    return recipe_update(
        actor=actor,
        recipe=recipe,
        definition={**recipe.definition, "steps": steps},
        lock_version=lock_version,
    )


def recipe_source_add(
    *, actor: Actor, recipe: RecipeRow, source: Table, lock_version: int
) -> tuple[RecipeRow, str]:
    """Add another source table (for a join or a stack); returns the recipe and the new alias."""
    sources = list(recipe.definition.get("sources", []))
    key = table_key(source)
    for s in sources:
        if s["table"] == key:
            return recipe, str(s["alias"])
    used = {s["alias"] for s in sources}
    n = len(sources) + 1
    while f"s{n}" in used:
        n += 1
    alias = f"s{n}"
    sources.append({"alias": alias, "table": key, "label": source.title})
    updated = recipe_update(
        actor=actor,
        recipe=recipe,
        definition={**recipe.definition, "sources": sources},
        lock_version=lock_version,
    )
    return updated, alias


def recipe_run(*, actor: Actor, recipe: RecipeRow) -> Job:
    """Queue a run of the recipe as a job (its result: the new version of the derived table)."""
    _require_edit(actor, recipe.dataset)
    with transaction.atomic():
        RecipeRow.objects.filter(pk=recipe.pk).update(status=RunStatus.QUEUED)
        audit_record(actor=actor, action="prep.recipe.run", obj=recipe)
    # Outside the block: the job writes through the lake, which must not run inside a transaction
    # (in production the runner picks it up later; in tests it runs inline at once).
    return job_submit(
        kind=JOB_KIND,
        title=f"加工: {recipe.title}",
        params={"recipe_id": recipe.pk},
        actor=actor,
        unit=recipe.unit,
    )


@transaction.atomic
def recipe_certify(*, actor: Actor, recipe: RecipeRow, certify: bool = True) -> RecipeRow:
    """データ戦略課 (管理) certifies the derived table as the city's reference (認定データ), or withdraws it."""
    require_admin(actor)
    if certify and recipe.status != RunStatus.OK:
        raise InvalidInput("認定できるのは、最後の実行が成功した手順だけです。")
    RecipeRow.objects.filter(pk=recipe.pk).update(
        certified_by_id=actor.user_id if certify else None, certified_at=timezone.now() if certify else None
    )
    recipe.refresh_from_db()
    audit_record(
        actor=actor, action="prep.recipe.certify" if certify else "prep.recipe.uncertify", obj=recipe
    )
    return recipe


def _output_table(actor: Actor, recipe: RecipeRow) -> Table:
    with transaction.atomic():
        table = (
            recipe.output_table
            or Table.objects.filter(dataset=recipe.dataset, name=recipe.table_name).first()
        )
        if table is None:
            table = Table.objects.create(
                dataset=recipe.dataset,
                name=recipe.table_name,
                title=recipe.title,
                description=f"加工の手順「{recipe.title}」で作った表です。",
                storage_key=uuid.uuid4().hex,
            )
            audit_record(actor=actor, action="table.create", obj=table, changes={"recipe": recipe.pk})
        if recipe.output_table_id != table.pk:
            RecipeRow.objects.filter(pk=recipe.pk).update(output_table=table)
            recipe.output_table = table
    return table


def _schema_fields(schema: Any) -> dict[str, Any]:
    from machidata.ingest.schema import arrow_to_field_type

    return {
        "fields": [
            {"name": f.name, "title": f.name, "type": arrow_to_field_type(f.type)}
            for f in schema
            if f.name != "_id"
        ]
    }


def recipe_execute(*, actor: Actor, recipe: RecipeRow, job_id: str = "") -> TableVersion:
    """Run the recipe now and write one new version of its derived table; on a step error write nothing.

    Call outside any transaction (the lake commits on its own). Access is checked again: the actor
    must still edit the target dataset and read every source.
    """
    from machidata.lake.protocol import write_version

    try:
        _require_edit(actor, recipe.dataset)
        parsed = _validated(actor, recipe, recipe.definition)
        sources = resolve_sources(actor=actor, recipe=parsed, output=recipe.dataset)
        lineage = {
            "recipe": {"id": recipe.pk, "title": recipe.title, "lock_version": recipe.lock_version},
            "sources": [
                {
                    "alias": alias,
                    "table": table_key(sources.tables[alias]),
                    "title": sources.tables[alias].title,
                    "table_id": sources.tables[alias].pk,
                    "version_id": v.pk,
                    "version": v.number,
                }
                for alias, v in sources.versions.items()
            ],
        }
        with stream_recipe(
            sources.files,
            parsed,
            codelists=codelists_for(parsed),
            schemas=sources.schemas,
            exclude=SYSTEM_COLUMNS,
        ) as stream:
            if any(f.name == "_id" for f in stream.schema):
                raise InvalidInput("列名「_id」はシステムが使うため使えません。")
            # A run counts no step (that is the preview's work): the rows in are the first source
            # version's, the rows out the written version's.
            steps = [s.as_dict() for s in stream.steps]
            steps[0]["rows"] = sources.versions[parsed.sources[0].alias].rows
            table = _output_table(actor, recipe)
            version = write_version(
                table=table,
                batches=stream.reader,
                schema=stream.schema,
                mode="replace",
                job_id=job_id or uuid.uuid4().hex,
                actor_user_id=actor.user_id,
                source_name=f"加工の手順「{recipe.title}」",
                reports={"lineage": lineage, "recipe_steps": steps},
            )
            steps[-1]["rows"] = version.rows
    except (EngineError, MachidataError) as exc:
        message = exc.message
        _record_failure(actor, recipe, message)
        if isinstance(exc, EngineError):
            raise InvalidInput(message) from None
        raise
    with transaction.atomic():
        Table.objects.filter(pk=table.pk).update(schema=_schema_fields(stream.schema))
        RecipeRow.objects.filter(pk=recipe.pk).update(
            status=RunStatus.OK,
            last_error="",
            last_steps=steps,
            last_run_at=timezone.now(),
            output_table=table,
        )
        audit_record(
            actor=actor,
            action="prep.recipe.executed",
            obj=recipe,
            changes={"version": version.number, "rows": version.rows},
        )
    recipe.refresh_from_db()
    return version


def _record_failure(actor: Actor, recipe: RecipeRow, message: str) -> None:
    """Mark the recipe failed and tell its owner (the creator and the 課's 編集), in one transaction."""
    with transaction.atomic():
        RecipeRow.objects.filter(pk=recipe.pk).update(
            status=RunStatus.FAILED, last_error=message[:2000], last_run_at=timezone.now()
        )
        editors = Membership.objects.filter(
            unit_id=recipe.unit_id, role__in=[Role.EDITOR, Role.ADMIN]
        ).values_list("user_id", flat=True)
        notify(
            users=[*([recipe.created_by_id] if recipe.created_by_id else []), *editors],
            message=f"加工の手順「{recipe.title}」の実行に失敗しました（表は更新していません）: {message}",
            link=reverse("prep:detail", args=[recipe.pk]),
        )
        audit_record(actor=actor, action="prep.recipe.failed", obj=recipe, changes={"error": message[:500]})
    recipe.refresh_from_db()


def run_actor(recipe: RecipeRow) -> Actor:
    """Who a re-run acts as: the recipe's creator as of now (a recipe without one runs as nobody and fails, reported)."""
    return actor_for(recipe.created_by) if recipe.created_by is not None else SYSTEM


def on_version_committed(sender: Any, version: TableVersion, **kwargs: Any) -> None:
    """Queue a re-run of every auto-re-run recipe that reads ``version``'s table (as its creator); drop certificates."""
    table = Table.objects.select_related("dataset").filter(pk=version.table_id).first()
    if table is None:
        return
    key = table_key(table)
    # JSON containment differs between SQLite and PostgreSQL; recipes are few, so filter in Python.
    candidates = [
        r
        for r in RecipeRow.objects.select_related("created_by", "dataset", "unit").exclude(
            output_table_id=table.pk
        )
        if any(s.get("table") == key for s in (r.definition or {}).get("sources", []))
    ]
    for recipe in candidates:
        rerun = recipe.auto_rerun
        actor = run_actor(recipe)
        with transaction.atomic():
            if recipe.certified_at is not None:
                RecipeRow.objects.filter(pk=recipe.pk).update(certified_at=None, certified_by=None)
                audit_record(
                    actor=SYSTEM,
                    action="prep.recipe.uncertify",
                    obj=recipe,
                    changes={"reason": "source_changed", "source": key},
                )
            if rerun:
                RecipeRow.objects.filter(pk=recipe.pk).update(status=RunStatus.QUEUED)
                audit_record(
                    actor=actor,
                    action="prep.recipe.rerun",
                    obj=recipe,
                    changes={"source": key, "version": version.number},
                )
        if rerun:
            # Outside the block: an inline runner (tests) writes through the lake, which must not nest.
            job_submit(
                kind=JOB_KIND,
                title=f"加工（元の表の更新）: {recipe.title}",
                params={"recipe_id": recipe.pk},
                actor=actor,
                unit=recipe.unit,
            )


def recipes_rerun_stale() -> int:
    """Queue a run of every auto-re-run recipe whose table was made from versions that are no longer current.

    The safety net behind the ``version_committed`` hook (a process that stopped between a commit and
    its signal); run every few minutes by the job runner. Returns how many runs were queued.
    """
    queued = 0
    recipes = (
        RecipeRow.objects.select_related("created_by", "unit", "output_table__current_version")
        .filter(auto_rerun=True, output_table__current_version__isnull=False)
        .exclude(status=RunStatus.QUEUED)
    )
    for recipe in recipes:
        made = recipe.output_table.current_version if recipe.output_table is not None else None
        lineage = ((made.reports if made is not None else None) or {}).get("lineage") or {}
        used = {int(s["table_id"]): int(s["version_id"]) for s in lineage.get("sources", [])}
        current = dict(Table.objects.filter(pk__in=used).values_list("pk", "current_version_id"))
        if all(current.get(t) == v for t, v in used.items()):
            continue
        actor = run_actor(recipe)
        with transaction.atomic():
            RecipeRow.objects.filter(pk=recipe.pk).update(status=RunStatus.QUEUED)
            audit_record(
                actor=actor, action="prep.recipe.rerun", obj=recipe, changes={"reason": "stale_sources"}
            )
        job_submit(
            kind=JOB_KIND,
            title=f"加工（元の表の更新）: {recipe.title}",
            params={"recipe_id": recipe.pk},
            actor=actor,
            unit=recipe.unit,
        )
        queued += 1
    return queued


# ---- code lists ------------------------------------------------------------------------------------


@transaction.atomic
def codelist_save(
    *,
    actor: Actor,
    slug: str,
    title: str,
    entries: list[dict[str, Any]],
    description: str = "",
    source: str = "",
) -> CodeList:
    """Create or replace a code list with ``entries`` (code, name, valid_from, valid_to); 管理 only."""
    from machidata.prep.codes import codelist_replace

    require_admin(actor)
    if not entries:
        raise InvalidInput("コードを1件以上入力してください。")
    seen: set[tuple[str, Any]] = set()
    clean = []
    for i, e in enumerate(entries, start=1):
        code, name = str(e.get("code", "")).strip(), str(e.get("name", "")).strip()
        if not code or not name:
            raise InvalidInput(f"{i}件目: コードと名称の両方を入力してください。")
        if (code, e.get("valid_from")) in seen:
            raise InvalidInput(f"{i}件目: コード「{code}」が重複しています。")
        seen.add((code, e.get("valid_from")))
        clean.append({**e, "code": code, "name": name})
    return codelist_replace(
        actor=actor, slug=slug, title=title, entries=clean, description=description, source=source
    )


def recipe_for_pk(pk: int) -> RecipeRow:
    """A recipe by id for the job runner (access is checked inside :func:`recipe_execute`)."""
    found = RecipeRow.objects.select_related("dataset", "unit", "output_table").filter(pk=pk).first()
    if found is None:
        raise NotFound("加工の手順が見つかりません。")
    return found


__all__ = [
    "ItemDefinition",
    "codelist_save",
    "on_version_committed",
    "recipe_certify",
    "recipe_create",
    "recipe_execute",
    "recipe_from_starter",
    "recipe_run",
    "recipe_source_add",
    "recipe_step_add",
    "recipe_step_remove",
    "recipe_update",
]


def recipe_copy(
    *,
    actor: Actor,
    recipe: RecipeRow,
    sources: dict[str, Table],
    dataset: Dataset,
    table_name: str,
    title: str = "",
) -> RecipeRow:
    """Copy a recipe onto other tables of the same shape (横展開): ``sources`` maps aliases to the new tables.

    Every replaced source must have the columns the original source has (names and kinds), so that
    the steps mean the same thing; the new recipe is checked like any edit and starts never run.
    """
    from machidata.engine import kind_of
    from machidata.lake.readers import arrow_schema

    definition = Recipe.from_dict(recipe.definition).to_dict()
    for ref in definition["sources"]:
        new = sources.get(ref["alias"])
        if new is None:
            continue
        old_table = (
            Table.objects.select_related("dataset", "current_version")
            .filter(dataset__slug=ref["table"].partition("/")[0], name=ref["table"].partition("/")[2])
            .first()
        )
        if (
            old_table is not None
            and old_table.current_version is not None
            and new.current_version is not None
        ):

            def kinds(v: TableVersion) -> dict[str, str]:
                return {
                    f.name: kind_of(f.type)
                    for f in arrow_schema(v)
                    if f.name != "_id" and not f.name.endswith("__raw")
                }

            old_kinds, new_kinds = kinds(old_table.current_version), kinds(new.current_version)
            missing = [c for c in old_kinds if c not in new_kinds]
            differ = [c for c in old_kinds if c in new_kinds and old_kinds[c] != new_kinds[c]]
            if missing or differ:
                raise InvalidInput(
                    f"表「{new.title}」は元の表「{old_table.title}」と形が違うため、手順を写せません"
                    + (f"（ない列: {'、'.join(missing)}）" if missing else "")
                    + (f"（型が違う列: {'、'.join(differ)}）" if differ else "")
                    + "。"
                )
        ref["table"], ref["label"] = table_key(new), new.title
    first = sources.get(definition["sources"][0]["alias"]) or Table.objects.select_related("dataset").get(
        dataset__slug=definition["sources"][0]["table"].partition("/")[0],
        name=definition["sources"][0]["table"].partition("/")[2],
    )
    copy = recipe_create(
        actor=actor,
        title=title or f"{recipe.title}（写し）",
        dataset=dataset,
        table_name=table_name,
        source=first,
    )
    return recipe_update(actor=actor, recipe=copy, definition=definition, lock_version=copy.lock_version)


def recipe_from_starter(
    *,
    actor: Actor,
    starter: str,
    title: str,
    dataset: Dataset,
    table_name: str,
    source: Table,
    others: list[Table],
    params: dict[str, str],
) -> RecipeRow:
    """A new recipe from a starter (ひな形): an ordinary recipe, checked like any edit, that staff then edit and run."""
    from machidata.prep.starters import starter_definition

    definition = starter_definition(
        starter,
        source=(table_key(source), source.title),
        others=[(table_key(t), t.title) for t in others],
        params=params,
    )
    try:
        Recipe.from_dict(definition)  # shape first, so a bad form leaves no empty recipe behind
    except EngineError as exc:
        raise InvalidInput(exc.message) from None
    for table in others:
        if not can(actor, Action.READ, table.dataset):
            raise PermissionDenied(f"元の表「{table.title}」を読む権限がありません。")
    recipe = recipe_create(actor=actor, title=title, dataset=dataset, table_name=table_name, source=source)
    return recipe_update(actor=actor, recipe=recipe, definition=definition, lock_version=recipe.lock_version)
