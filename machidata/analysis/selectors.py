"""Reads of the analysis room: saved analyses are their owner's (and 管理's), and only while the table is readable."""

from __future__ import annotations

from django.db.models import QuerySet

from machidata.access.policy import Action, Actor, restrict, restrict_owned, restrict_related
from machidata.analysis.models import Analysis
from machidata.catalog.models import Dataset, Table
from machidata.core.errors import NotFound


def analysis_list(*, actor: Actor) -> QuerySet[Analysis]:
    """The actor's own analyses (管理: all) on tables the actor may still read, newest first."""
    owned = restrict_owned(
        Analysis.objects.select_related("table__dataset", "table_version", "job"), actor, owner_field="owner"
    )
    return restrict_related(owned, actor, Action.READ, via="table__dataset").order_by("-created_at")


def analysis_get(*, actor: Actor, pk: int) -> Analysis:
    """One analysis the actor may see, or NotFound (someone else's answers the same 404)."""
    found = analysis_list(actor=actor).filter(pk=pk).first()
    if found is None:
        raise NotFound("分析が見つかりません。")
    return found


def analysable_tables(*, actor: Actor) -> QuerySet[Table]:
    """Tables with data the actor may read (the choices of the analysis form)."""
    readable = restrict(Dataset.objects.all(), actor, Action.READ).values("pk")
    return (
        Table.objects.filter(dataset__in=readable, current_version__isnull=False)
        .select_related("dataset")
        .order_by("dataset__title", "title")
    )


def analysable_table(*, actor: Actor, pk: int) -> Table:
    """A table the actor may read, or NotFound."""
    table = analysable_tables(actor=actor).filter(pk=pk).first()
    if table is None:
        raise NotFound("表が見つかりません。")
    return table
