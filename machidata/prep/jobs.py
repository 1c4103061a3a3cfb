"""The recipe job: runs a recipe on the job runner and writes one version of its derived table."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from machidata.jobs.models import ProgressUnit
from machidata.jobs.runner import crontab, periodic
from machidata.jobs.services import JobContext, job_kind


@job_kind("prep.recipe_run", unit=ProgressUnit.ITEMS)
def recipe_run_job(ctx: JobContext, *, recipe_id: int) -> dict[str, Any]:
    """Run one recipe as the job's actor; the result names the new version and links to the table."""
    from machidata.prep.services import recipe_execute, recipe_for_pk, run_actor

    recipe = recipe_for_pk(recipe_id)
    actor = ctx.actor if ctx.created_by_id is not None else run_actor(recipe)
    ctx.progress(0, 1, "加工しています")
    version = recipe_execute(actor=actor, recipe=recipe, job_id=f"job-{ctx.job_id}")
    ctx.progress(1, 1, "完了")
    table = recipe.output_table
    assert table is not None
    return {
        "recipe": recipe.pk,
        "version": version.number,
        "rows": version.rows,
        "message": f"「{table.title}」の第{version.number}版として {version.rows or 0:,} 行を作りました。",
        "link": {
            "url": reverse("catalog:table_detail", args=[table.dataset.slug, table.name]),
            "label": "作った表を見る",
        },
    }


@periodic(crontab(minute="*/10"))
def rerun_stale_recipes() -> None:
    """Every 10 minutes: re-run recipes whose sources have versions newer than those their table was made from."""
    from machidata.prep.services import recipes_rerun_stale

    recipes_rerun_stale()
