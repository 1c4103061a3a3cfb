"""Reading charts: who sees a chart (its sharing AND READ on its table, at view time) and its data and spec.

A chart's rows are fetched through the catalog's table-query path (``catalog.table_selectors``),
which applies the access policy again and is the only road to ``lake``/``engine``. Results are not
cached, so no viewer can ever be served another viewer's rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from django.conf import settings
from django.db.models import QuerySet

from machidata.access.policy import Action, Actor, restrict_related, restrict_shared
from machidata.catalog.models import Table, TableVersion
from machidata.catalog.table_selectors import (
    Filter,
    TableQuery,
    table_fields,
    table_get,
    table_rows,
    version_get,
)
from machidata.charts import aggregate as agg
from machidata.charts.models import Chart
from machidata.charts.vegalite import (
    ROW_CHARTS,
    Column,
    SpecError,
    table_view,
    text_alternative,
    vegalite_spec,
)
from machidata.core.errors import InvalidInput, NotFound

SCOPES: Final = {"all": "見られるグラフすべて", "mine": "自分のグラフ", "department": "所属課のグラフ"}


def restrict_charts(queryset: QuerySet[Chart], actor: Actor) -> QuerySet[Chart]:
    """Charts ``actor`` may see: shared with them (or theirs, or 管理) AND whose table they may read now."""
    shared = restrict_shared(queryset, actor)
    return restrict_related(shared, actor, Action.READ, via="table__dataset")


def _base() -> QuerySet[Chart]:
    return Chart.objects.select_related("owner", "unit", "table", "table__dataset", "table__dataset__owner")


def chart_list(*, actor: Actor, scope: str = "all", table: Table | None = None) -> QuerySet[Chart]:
    """The charts ``actor`` may see, newest change first; ``mine`` / ``department`` narrow it."""
    rows = restrict_charts(_base(), actor)
    if scope == "mine":
        rows = rows.filter(owner_id=actor.user_id)
    elif scope == "department":
        rows = rows.filter(unit_id__in=actor.unit_ids)
    if table is not None:
        rows = rows.filter(table=table)
    return rows.order_by("-updated_at", "-id")


def chart_get(*, actor: Actor, uuid: Any) -> Chart:
    """One chart ``actor`` may see; missing, hidden and unreadable-table charts all raise NotFound."""
    try:
        found = restrict_charts(_base(), actor).filter(uuid=uuid).first()
    except (ValueError, TypeError):  # a malformed uuid is simply not found
        found = None
    if found is None:
        raise NotFound("グラフが見つかりません。")
    return found


def may_edit(actor: Actor, chart: Chart) -> bool:
    """Only the chart's owner (and 管理) change or delete it."""
    return actor.is_admin or chart.owner_id == actor.user_id


@dataclass
class ChartData:
    """A chart's answer: the rows (grouped when the chart groups), their columns, and the version used."""

    rows: list[dict[str, Any]]
    columns: list[Column]
    version: TableVersion | None
    truncated: bool = False
    notes: list[str] = field(default_factory=list)


def _kinds(table: Table, version: TableVersion | None) -> dict[str, str]:
    return {f.name: f.kind for f in table_fields(table, version)}


def _output_columns(query: dict[str, Any], kinds: dict[str, str], visual: dict[str, Any]) -> list[Column]:
    group_by = query.get("group_by") or []
    measures = query.get("measures") or []
    if not group_by and not measures:
        wanted = [visual.get(k) for k in ("x", "y", "color") if visual.get(k)]
        return [Column(str(n), kinds.get(str(n), "string")) for n in dict.fromkeys(wanted)]
    cols = []
    for g in group_by:
        grain = g.get("grain")
        kind = kinds.get(str(g["column"]), "string")
        if grain in {"year", "fiscal_year", "hour"}:
            kind = "integer"
        elif grain == "weekday":
            kind = "string"
        elif grain:
            kind = "date"
        cols.append(Column(agg.key_name(g), kind, grain))
    for m in measures or [{"op": "count"}]:
        op = m.get("op")
        kind = "integer" if op in {"count", "count_distinct"} else "number"
        if op in {"min", "max"}:
            kind = kinds.get(str(m.get("column")), "number")
        cols.append(Column(agg.measure_name(m), kind))
    return cols


def document_table(*, actor: Actor, document: dict[str, Any]) -> tuple[Table, TableVersion | None]:
    """The table (READ) and version a chart document names; NotFound/PermissionDenied as for the table's page."""
    ref = (document.get("query") or {}).get("table") or {}
    if not ref.get("dataset") or not ref.get("name"):
        raise InvalidInput("グラフにする表を選んでください。")
    table = table_get(actor=actor, slug=str(ref["dataset"]), name=str(ref["name"]), action=Action.READ)
    number = ref.get("version")
    version = version_get(actor=actor, table=table, number=int(number) if number else None)
    return table, version


def document_data(*, actor: Actor, document: dict[str, Any]) -> ChartData:
    """Run a chart document's query for ``actor`` (READ on its table, checked now) and group its rows."""
    table, version = document_table(actor=actor, document=document)
    query = document.get("query") or {}
    visual = document.get("visual") or {}
    kinds = _kinds(table, version)
    needed: list[str] = []
    for g in query.get("group_by") or []:
        needed.append(str(g.get("column")))
    for m in query.get("measures") or []:
        if m.get("column"):
            needed.append(str(m["column"]))
    if not query.get("group_by") and not query.get("measures"):
        needed += [str(visual[k]) for k in ("x", "y", "color") if visual.get(k)]
    missing = [n for n in dict.fromkeys(needed) if n not in kinds]
    if missing:
        raise InvalidInput(f"列「{missing[0]}」はこの表にありません。")
    try:
        filters = tuple(Filter(**f) for f in query.get("filters") or [])
    except (TypeError, ValueError) as exc:
        raise InvalidInput("絞り込みの条件の形式が正しくありません。") from exc
    max_rows = int(settings.MACHIDATA_ENGINE_MAX_ROWS)
    page = table_rows(
        actor=actor,
        table=table,
        version=version,
        query=TableQuery(fields=tuple(dict.fromkeys(needed)) or None, filters=filters, limit=max_rows),
    )
    notes = []
    if page.total > len(page.raw):
        notes.append(
            f"該当する{page.total:,}行のうち先頭の{len(page.raw):,}行だけで集計しています"
            "（行数の上限 MACHIDATA_ENGINE_MAX_ROWS）。"
        )
    grouped = bool(query.get("group_by") or query.get("measures")) and visual.get("type") not in ROW_CHARTS
    try:
        rows = (
            agg.aggregate(
                page.raw,
                group_by=query.get("group_by") or [],
                measures=query.get("measures") or [],
                top_n=query.get("top_n"),
                sort=query.get("sort") or [],
            )
            if grouped
            else [dict(r) for r in page.raw]
        )
    except agg.AggregateError as exc:
        raise InvalidInput(str(exc)) from None
    columns = _output_columns(query if grouped else {}, kinds, visual)
    return ChartData(
        rows=rows, columns=columns, version=page.version, truncated=page.total > len(page.raw), notes=notes
    )


@dataclass
class RenderedChart:
    """What a page shows: the spec, the text alternative and the data table."""

    spec: dict[str, Any]
    description: str
    headers: list[str]
    body: list[list[str]]
    data: ChartData


def document_render(*, actor: Actor, document: dict[str, Any]) -> RenderedChart:
    """The Vega-Lite spec, text alternative and table view of a chart document for ``actor``."""
    data = document_data(actor=actor, document=document)
    try:
        spec = vegalite_spec(document, data.rows, data.columns)
    except SpecError as exc:
        raise InvalidInput(str(exc)) from None
    options = (document.get("visual") or {}).get("options") or {}
    headers, body = table_view(data.rows, data.columns, options=options)
    return RenderedChart(
        spec=spec,
        description=text_alternative(document, [dict(zip(headers, line, strict=True)) for line in body]),
        headers=headers,
        body=body,
        data=data,
    )


def chart_render(*, actor: Actor, chart: Chart) -> RenderedChart:
    """A saved chart rendered for ``actor`` (its table read now, with ``actor``'s access)."""
    return document_render(actor=actor, document=chart.document)
