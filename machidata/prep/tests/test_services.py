"""Recipe services: create, edit with optimistic locking, run (writes a version with lineage), failure writes nothing
and notifies the owner, re-run on a new source version, certification, access."""

from __future__ import annotations

import collections
from typing import Any

import pyarrow.parquet as pq
import pytest

from machidata.catalog.models import TableVersion
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from machidata.core.testing import Actors
from machidata.jobs.models import Job
from machidata.jp.fiscal import fiscal_year
from machidata.lake.readers import files_for
from machidata.notify.models import Notification
from machidata.prep import services
from machidata.prep.codes import WARD_SLUG, load_shipped_codes
from machidata.prep.models import Recipe, RunStatus
from machidata.prep.tests.conftest import DISPATCH_SCHEMA, POPULATION, as_actor, dispatch_rows, write

pytestmark = pytest.mark.django_db(transaction=True)

RATE_STEPS: list[dict[str, Any]] = [
    {
        "type": "join",
        "source": "s2",
        "keys": [{"left": "区コード", "right": "区コード"}],
        "normalise": {"as_text": True, "nfkc": True},
        "columns": ["人口"],
    },
    {"type": "calculate", "name": "年度", "expression": "年度([覚知日時])"},
    {
        "type": "aggregate",
        "by": ["区", "年度"],
        "measures": [{"op": "count", "name": "件数"}, {"op": "max", "column": "人口", "name": "人口"}],
    },
    {"type": "calculate", "name": "千人当たり", "expression": "[件数] * 1000 / [人口]"},
]


def _recipe(actors: Actors, world: dict[str, Any], steps: list[dict[str, Any]] = RATE_STEPS) -> Recipe:
    editor = as_actor(actors, "owner_editor")
    recipe = services.recipe_create(
        actor=editor,
        title="区別・年度別の千人当たり出動件数",
        dataset=world["target"],
        table_name="rate",
        source=world["dispatches"],
    )
    recipe, alias = services.recipe_source_add(
        actor=editor, recipe=recipe, source=world["population"], lock_version=recipe.lock_version
    )
    assert alias == "s2"
    definition = {**recipe.definition, "steps": steps}
    return services.recipe_update(
        actor=editor, recipe=recipe, definition=definition, lock_version=recipe.lock_version
    )


def _read(version: TableVersion) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for f in files_for(version):
        rows.extend(pq.read_table(f).to_pylist())
    return rows


def _expected_rates(rows: list[dict[str, Any]]) -> dict[tuple[str, int], float]:
    import unicodedata

    counts: dict[tuple[str, int], int] = collections.Counter()
    for r in rows:
        counts[(r["区"], fiscal_year(r["覚知日時"]))] += 1
    pop_by_ward = {}
    for r in rows:
        pop_by_ward[r["区"]] = POPULATION[unicodedata.normalize("NFKC", r["区コード"])]
    return {k: n * 1000 / pop_by_ward[k[0]] for k, n in counts.items()}


def test_run_writes_a_version_with_lineage_and_the_right_rates(actors: Actors, world: dict[str, Any]) -> None:
    recipe = _recipe(actors, world)
    version = services.recipe_execute(actor=as_actor(actors, "owner_editor"), recipe=recipe)
    recipe.refresh_from_db()
    assert recipe.status == RunStatus.OK
    got = {(r["区"], r["年度"]): r["千人当たり"] for r in _read(version)}
    assert got == pytest.approx(_expected_rates(dispatch_rows()))
    lineage = version.reports["lineage"]
    assert {s["version_id"] for s in lineage["sources"]} == {
        world["dispatches"].current_version_id,
        world["population"].current_version_id,
    }
    assert next(s["rows"] for s in recipe.last_steps) == len(dispatch_rows())
    assert recipe.output_table is not None
    assert recipe.output_table.dataset == world["target"]
    assert {f["name"] for f in recipe.output_table.schema["fields"]} == {
        "区",
        "年度",
        "件数",
        "人口",
        "千人当たり",
    }


def test_a_failing_step_writes_nothing_marks_the_recipe_and_notifies_the_owner(
    actors: Actors, world: dict[str, Any]
) -> None:
    load_shipped_codes()
    steps = [{"type": "recode", "column": "区コード", "codelist": WARD_SLUG, "target": "区名"}]
    recipe = _recipe(actors, world, steps)  # the full-width code is not in the list: an error, not a guess
    before = TableVersion.objects.count()
    with pytest.raises(InvalidInput, match=r"手順1（コードの置き換え）.*４３１０２８"):
        services.recipe_execute(actor=as_actor(actors, "owner_editor"), recipe=recipe)
    assert TableVersion.objects.count() == before
    recipe.refresh_from_db()
    assert recipe.status == RunStatus.FAILED
    assert "４３１０２８" in recipe.last_error
    notes = Notification.objects.filter(recipient=actors.users["owner_editor"])
    assert any("実行に失敗しました" in n.message for n in notes)


def test_new_source_version_reruns_the_recipe_as_a_job_and_drops_the_certificate(
    actors: Actors, world: dict[str, Any]
) -> None:
    recipe = _recipe(actors, world)
    first = services.recipe_execute(actor=as_actor(actors, "owner_editor"), recipe=recipe)
    services.recipe_certify(actor=as_actor(actors, "admin"), recipe=recipe)
    recipe.refresh_from_db()
    assert recipe.certified_at is not None
    more = dispatch_rows() + dispatch_rows()[:5]
    write(world["dispatches"], more, DISPATCH_SCHEMA)  # jobs run inline in tests
    job = Job.objects.filter(kind=services.JOB_KIND).latest("pk")
    assert job.status == "succeeded", job.error
    recipe.refresh_from_db()
    assert recipe.certified_at is None
    assert recipe.output_table is not None
    current = recipe.output_table.current_version
    assert current is not None
    assert current.number == first.number + 1
    assert current.reports["lineage"]["sources"][0]["version_id"] == world["dispatches"].current_version_id
    got = {(r["区"], r["年度"]): r["千人当たり"] for r in _read(current)}
    assert got == pytest.approx(_expected_rates(more))


def test_optimistic_lock_refuses_a_stale_edit(actors: Actors, world: dict[str, Any]) -> None:
    recipe = _recipe(actors, world)
    stale = recipe.lock_version
    services.recipe_step_remove(
        actor=as_actor(actors, "owner_editor"), recipe=recipe, index=4, lock_version=stale
    )
    with pytest.raises(Conflict):
        services.recipe_step_remove(
            actor=as_actor(actors, "owner_editor"), recipe=recipe, index=3, lock_version=stale
        )


def test_access_editing_needs_edit_on_the_target_and_read_on_sources(
    actors: Actors, world: dict[str, Any]
) -> None:
    with pytest.raises(PermissionDenied):
        services.recipe_create(
            actor=as_actor(actors, "other_editor"),
            title="x",
            dataset=world["target"],
            table_name="x",
            source=world["dispatches"],
        )
    recipe = _recipe(actors, world)
    with pytest.raises(PermissionDenied):
        services.recipe_run(actor=as_actor(actors, "staff"), recipe=recipe)
    with pytest.raises(NotFound):
        services.recipe_certify(actor=as_actor(actors, "owner_editor"), recipe=recipe)


def test_a_recipe_cannot_read_its_own_output(actors: Actors, world: dict[str, Any]) -> None:
    recipe = _recipe(actors, world)
    definition = {
        **recipe.definition,
        "sources": [*recipe.definition["sources"], {"alias": "me", "table": "kakou/rate"}],
    }
    with pytest.raises(InvalidInput, match="作る表そのもの"):
        services.recipe_update(
            actor=as_actor(actors, "owner_editor"),
            recipe=recipe,
            definition=definition,
            lock_version=recipe.lock_version,
        )


def test_shipped_codes_load_with_history_and_are_idempotent() -> None:
    first = load_shipped_codes()
    second = load_shipped_codes()
    assert first == second
    import datetime as dt

    from machidata.prep.models import CodeList
    from machidata.prep.selectors import codelist_mapping

    lg = CodeList.objects.get(slug="lg-code-kumamoto")
    now = codelist_mapping(lg)
    assert now["431001"] == "熊本市"
    assert now["431010"] == "熊本市中央区"
    assert "432016" not in now  # 熊本市's pre-2012 code is retired
    assert codelist_mapping(lg, on=dt.date(2010, 1, 1))["432016"] == "熊本市"
    assert codelist_mapping(CodeList.objects.get(slug=WARD_SLUG)) == {
        "431010": "中央区",
        "431028": "東区",
        "431036": "西区",
        "431044": "南区",
        "431052": "北区",
    }


def test_copy_a_recipe_to_a_table_of_the_same_shape_and_refuse_another_shape(
    actors: Actors, world: dict[str, Any]
) -> None:
    import uuid

    from machidata.core.testing import make_dataset
    from machidata.prep.tests.conftest import new_table

    recipe = _recipe(actors, world)
    other = make_dataset(actors.org.health_div, slug="kyukyu-2", title="救急出動（別年度）")
    same = new_table(other, "dispatches", "救急出動記録（別年度）")
    rows = dispatch_rows()[:10]
    write(same, rows, DISPATCH_SCHEMA)
    editor = as_actor(actors, "owner_editor")
    copy = services.recipe_copy(
        actor=editor, recipe=recipe, sources={"s1": same}, dataset=world["target"], table_name="rate-2"
    )
    assert copy.definition["steps"] == recipe.definition["steps"]
    assert copy.definition["sources"][0]["table"] == "kyukyu-2/dispatches"
    version = services.recipe_execute(actor=editor, recipe=copy)
    got = {(r["区"], r["年度"]): r["千人当たり"] for r in _read(version)}
    assert got == pytest.approx(_expected_rates(rows))
    odd = new_table(other, f"odd-{uuid.uuid4().hex[:4]}", "形の違う表")
    import pyarrow as pa

    write(
        odd,
        [{"覚知日時": rows[0]["覚知日時"], "区": "東区"}],
        pa.schema([("覚知日時", pa.timestamp("us")), ("区", pa.string())]),
    )
    with pytest.raises(InvalidInput, match="形が違うため、手順を写せません（ない列: 区コード）"):
        services.recipe_copy(
            actor=editor, recipe=recipe, sources={"s1": odd}, dataset=world["target"], table_name="rate-3"
        )


def test_a_cycle_through_another_recipe_is_refused(actors: Actors, world: dict[str, Any]) -> None:
    editor = as_actor(actors, "owner_editor")
    first = _recipe(actors, world)
    services.recipe_execute(actor=editor, recipe=first)
    first.refresh_from_db()
    assert first.output_table is not None
    second = services.recipe_create(
        actor=editor, title="二段目", dataset=world["target"], table_name="second", source=first.output_table
    )
    services.recipe_execute(actor=editor, recipe=second)
    second.refresh_from_db()
    assert second.output_table is not None
    first.refresh_from_db()
    sources = [*first.definition["sources"], {"alias": "loop", "table": "kakou/second"}]
    with pytest.raises(InvalidInput, match="循環"):
        services.recipe_update(
            actor=editor,
            recipe=first,
            definition={**first.definition, "sources": sources},
            lock_version=first.lock_version,
        )


def test_the_safety_net_reruns_recipes_whose_sources_moved_on_without_a_signal(
    actors: Actors, world: dict[str, Any]
) -> None:
    from machidata.lake.signals import version_committed

    recipe = _recipe(actors, world)
    first = services.recipe_execute(actor=as_actor(actors, "owner_editor"), recipe=recipe)
    assert services.recipes_rerun_stale() == 0  # made from the current versions: nothing to do
    version_committed.disconnect(dispatch_uid="prep.rerun")
    try:
        write(world["dispatches"], dispatch_rows()[:7], DISPATCH_SCHEMA)  # no signal: a missed re-run
    finally:
        version_committed.connect(services.on_version_committed, dispatch_uid="prep.rerun")
    recipe.refresh_from_db()
    assert recipe.output_table is not None
    assert recipe.output_table.current_version_id == first.pk
    assert services.recipes_rerun_stale() == 1
    recipe.refresh_from_db()
    assert recipe.output_table is not None
    assert recipe.output_table.current_version is not None
    assert recipe.output_table.current_version.number == first.number + 1
    assert services.recipes_rerun_stale() == 0
