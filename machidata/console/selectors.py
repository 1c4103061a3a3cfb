"""What the SQL console may show and open: the tables the actor may READ, and the files of their current versions.

A table is offered as the view ``"<dataset slug>"."<table name>"`` over the Parquet files of its
current committed version, and only when the policy lets the actor READ its dataset
(``policy.restrict(..., Action.READ)``): a table of another 課's 所属限定 dataset, personal data
without a grant, 機密 — none of them is listed, and naming one answers the same refusal as a table
that does not exist. Only the tables a statement names are opened.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from machidata.access.policy import Action, Actor, restrict
from machidata.catalog.models import Dataset, Table, TableVersion
from machidata.catalog.table_selectors import FieldInfo, table_fields
from machidata.core.errors import NotFound
from machidata.engine.sql import SqlView, TableRef, view_columns
from machidata.lake.readers import arrow_schema, files_for


def readable_tables(*, actor: Actor) -> QuerySet[Table]:
    """Tables with a committed version whose dataset the actor may read, by dataset slug and table name."""
    readable = restrict(Dataset.objects.all(), actor, Action.READ).values("pk")
    return (
        Table.objects.filter(dataset__in=readable, current_version__isnull=False)
        .select_related("dataset", "current_version")
        .order_by("dataset__slug", "name")
    )


def reference(table: Table) -> str:
    """How a statement names the table: ``"slug"."name"`` (quoted: slugs may hold hyphens)."""
    return TableRef(table.dataset.slug, table.name).label()


@dataclass(frozen=True)
class ConsoleTable:
    """One line of the console's table list."""

    table: Table
    ref: str
    version: int
    rows: int | None
    fields: list[FieldInfo]


def console_tables(*, actor: Actor, tables: list[Table] | None = None) -> list[ConsoleTable]:
    """The list shown beside the console (the given page of :func:`readable_tables`, or all of it)."""
    chosen = list(readable_tables(actor=actor)) if tables is None else tables
    out = []
    for t in chosen:
        version = t.current_version
        assert version is not None  # readable_tables keeps tables with a version only
        out.append(ConsoleTable(t, reference(t), version.number, version.rows, table_fields(t, version)))
    return out


@dataclass(frozen=True)
class OpenedTable:
    """A table a statement names, resolved for the actor: the table, its current version and its view."""

    table: Table
    version: TableVersion
    view: SqlView


def open_tables(*, actor: Actor, refs: tuple[TableRef, ...]) -> list[OpenedTable]:
    """Resolve each named table for READ; a missing, hidden or unreadable one is the same 404."""
    readable = readable_tables(actor=actor)
    opened = []
    for ref in refs:
        found = list(readable.filter(dataset__slug__iexact=ref.schema, name__iexact=ref.name)[:2])
        if len(found) != 1:
            # Not there, or not for this actor: one answer for both, so nothing is revealed.
            raise NotFound(f"表 {ref.label()} は見つからないか、読む権限がありません。")
        table = found[0]
        version = table.current_version
        assert version is not None
        files = tuple(files_for(version))
        columns = () if files else view_columns(arrow_schema(version))
        opened.append(OpenedTable(table, version, SqlView(ref.schema, ref.name, files, columns)))
    return opened
