"""Reading charts: who sees a chart (its sharing AND READ on its table, at view time) and its data and spec.

A chart's rows are fetched through the catalog's table-query path (``catalog.table_selectors``),
which applies the access policy again and is the only road to ``lake``/``engine``. Results are not
cached, so no viewer can ever be served another viewer's rows.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from machidata.access.policy import (
    Action,
    Actor,
    Standing,
    Subject,
    decide,
    is_unit_member,
    restrict_related,
    restrict_shared,
)
from machidata.catalog.models import Table, TableVersion
from machidata.catalog.query_selectors import table_query
from machidata.catalog.table_selectors import table_fields, table_get
from machidata.charts.models import BoundarySet, BoundaryVersion, Chart, Dashboard
from machidata.charts.pivot import N_NAME, SUPPRESS_BELOW, Pivot, pivot_of, totals_name
from machidata.charts.suppression import (
    Answer,
    Hidden,
    SuppressionError,
    hide_rows,
    shown_rows,
    suppress_across,
    suppress_rows,
    with_row_count,
)
from machidata.charts.vegalite import (
    ROW_CHARTS,
    Column,
    SpecError,
    table_view,
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
    except (ValueError, TypeError, ValidationError):  # a malformed uuid is simply not found
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
    table: Table | None = None
    hidden: Hidden | None = None  # small-count suppression (秘匿) applied for this viewer
    query: dict[str, Any] = field(default_factory=dict)  # the TableQuery run (dashboard filters included)

    @property
    def shown(self) -> list[dict[str, Any]]:
        """The rows as the table view and files show them: hidden values as ＊."""
        return shown_rows(self.rows, self.hidden)


def _grains(query: dict[str, Any], names: list[str]) -> dict[str, str | None]:
    """The time grain of each output column: group keys come first, in the order of ``group_by``."""
    group_by = query.get("group_by") or []
    return {
        name: (g.get("grain") if isinstance(g, dict) else None)
        for name, g in zip(names, group_by, strict=False)
    }


def document_table(
    *, actor: Actor, document: dict[str, Any], seen: dict[tuple[str, str], Table] | None = None
) -> tuple[Table, int | None]:
    """The table (READ) a chart document names and its pinned version number (None: the latest).

    ``seen``: tables already checked for this ``actor`` in the same request (a dashboard's charts
    mostly share one table: its access check runs once per render, not once per chart).
    """
    ref = (document.get("query") or {}).get("table") or {}
    if not ref.get("dataset") or not ref.get("name"):
        raise InvalidInput("グラフにする表を選んでください。")
    key = (str(ref["dataset"]), str(ref["name"]))
    table = seen.get(key) if seen is not None else None
    if table is None:
        table = table_get(actor=actor, slug=key[0], name=key[1], action=Action.READ)
        if seen is not None:
            seen[key] = table
    number = ref.get("version")
    return table, int(number) if number else None


def document_query(document: dict[str, Any]) -> dict[str, Any]:
    """The TableQuery JSON of a chart document: its filters, grouping and measures (row charts: the plotted columns)."""
    query = {k: v for k, v in (document.get("query") or {}).items() if k != "table"}
    visual = document.get("visual") or {}
    if visual.get("type") in ROW_CHARTS:
        wanted = [str(visual[k]) for k in ("x", "y", "color") if visual.get(k)]
        return {"fields": list(dict.fromkeys(wanted)), "filters": query.get("filters") or [],
                "limit": int(settings.MACHIDATA_ENGINE_MAX_ROWS)}  # fmt: skip
    if not query.get("measures"):
        query["measures"] = [{"op": "count"}]
    return query


def document_data(
    *, actor: Actor, document: dict[str, Any], suppress_small: bool = False,
    seen: dict[tuple[str, str], Table] | None = None,
    checked: dict[tuple[int, int | None], TableVersion] | None = None,
) -> ChartData:  # fmt: skip
    """Run a chart document's query for ``actor`` (READ on its table, checked now) through the catalog's query path.

    With ``suppress_small`` (every page, panel and file of the charts room), an aggregated chart read
    outside the 課 that owns the table (or by the 課 asking for it) has its small groups suppressed
    (:mod:`machidata.charts.suppression`); pivots are suppressed when laid out. ``seen`` and ``checked``:
    the tables and versions already checked for ``actor`` in the same render (:func:`dashboard_render`).
    """
    table, number = document_table(actor=actor, document=document, seen=seen)
    visual = document.get("visual") or {}
    kind = visual.get("type")
    threshold = suppression_threshold(actor, table, visual.get("options") or {}) if suppress_small else None
    if threshold and kind == "histogram":
        raise InvalidInput(
            "ヒストグラムは行を数える図のため、課の外の人には表示できません（小さい数の秘匿）。"
            "棒グラフで件数を集計してください。"
        )
    protect = bool(threshold) and kind not in ROW_CHARTS and kind != "pivot"
    query = document_query(document)
    if protect:
        query = with_row_count(query)
    answer = table_query(actor=actor, table=table, query=query, version=number, checked=checked)
    names = list(answer.result.column_names)
    grains = _grains(query, names) if answer.aggregate else {}
    columns = [Column(c["name"], c["type"], grains.get(c["name"])) for c in answer.columns]
    rows = answer.result.to_pylist()
    notes = []
    if answer.truncated or answer.total > len(rows):
        what = "グループ" if answer.aggregate else "行"
        notes.append(
            f"該当する{answer.total:,}{what}のうち先頭の{len(rows):,}{what}だけを表示しています"
            "（上限 MACHIDATA_ENGINE_MAX_ROWS）。上位N件や絞り込みで減らしてください。"
        )
    hidden = None
    if protect and threshold:
        groups = len(query.get("group_by") or [])
        measures = dict(zip(names[groups:], query["measures"], strict=False))
        try:
            rows, hidden = suppress_rows(
                rows, group_names=names[:groups], measures=measures, threshold=threshold
            )
        except SuppressionError as exc:
            raise InvalidInput(str(exc)) from None
        columns = [c for c in columns if c.name != N_NAME]
        if hidden.cells:
            notes.append(hidden.note())
    return ChartData(
        rows=rows, columns=columns, version=answer.version, truncated=answer.truncated or answer.total > len(rows),
        notes=notes, table=table, hidden=hidden, query=query,
    )  # fmt: skip


@dataclass
class RenderedChart:
    """What a page shows: the spec, the text alternative and the data table."""

    spec: dict[str, Any]
    description: str
    headers: list[str]
    body: list[list[str]]
    data: ChartData
    pivot: Pivot | None = None


def suppression_threshold(actor: Actor, table: Table, options: dict[str, Any]) -> int | None:
    """The small-cell threshold of a pivot shown to ``actor``: always when it leaves the owner 課, else on request.

    The same rule as survey tables: a table read outside the 課 that owns the data (管理 included)
    hides cells under :data:`~machidata.charts.pivot.SUPPRESS_BELOW`; the 課 itself may ask for it
    (``options.suppress``) to see the table as it will leave. A table whose rows anyone may read (公開, no
    personal data) is not suppressed: its rows are open already, and an already-counted table (人口 by 区 ×
    年齢階級, one row per cell) would otherwise be hidden whole.
    """
    if options.get("suppress"):
        return SUPPRESS_BELOW
    dataset = table.dataset
    if decide(Standing.ANONYMOUS, Action.READ, Subject(dataset.classification, dataset.personal_data)):
        return None
    if not is_unit_member(actor, dataset.owner_id):
        return SUPPRESS_BELOW
    return None


def _pivot(actor: Actor, document: dict[str, Any], data: ChartData) -> tuple[dict[str, Any], Pivot]:
    """A pivot document with the viewer's suppression threshold written in (never the stored one), laid out."""
    visual = dict(document.get("visual") or {})
    options = dict(visual.get("options") or {})
    assert data.table is not None
    options["suppress_below"] = suppression_threshold(actor, data.table, options)
    if options["suppress_below"] and data.truncated:
        raise InvalidInput(
            "表が大きすぎて途中までしか集計できないため、課の外に出す表の秘匿処理ができません。絞り込むか項目を減らしてください。"
        )
    visual["options"] = options
    document = {**document, "visual": visual}
    columns = {c.name: c for c in data.columns}
    try:
        return document, pivot_of(data.rows, columns, visual, totals_name=totals_name(document))
    except SpecError as exc:
        raise InvalidInput(str(exc)) from None


def boundary_sets() -> QuerySet[BoundarySet]:
    """Every boundary set (reference data for every staff member's maps), by name."""
    return BoundarySet.objects.prefetch_related("versions").order_by("name")


def boundary_latest(uuid: Any) -> BoundaryVersion:
    """The latest version of a boundary set; NotFound when there is none."""
    try:
        found = (
            BoundaryVersion.objects.select_related("boundary_set")
            .filter(boundary_set__uuid=uuid)
            .order_by("-number")
            .first()
        )
    except (ValueError, TypeError, ValidationError):
        found = None
    if found is None:
        raise NotFound("境界データが見つかりません。")
    return found


def _areas(document: dict[str, Any]) -> tuple[list[dict[str, Any]] | None, str]:
    """The features and attribution of the boundary set a ``boundary`` map names (its latest version)."""
    visual = document.get("visual") or {}
    if visual.get("type") != "boundary":
        return None, ""
    ref = (visual.get("options") or {}).get("boundary")
    if not ref:
        raise InvalidInput("塗り分けに使う境界データを選んでください。")
    try:
        version = boundary_latest(ref)
    except NotFound:
        raise InvalidInput("境界データが見つかりません（削除されたか、まだ登録されていません）。") from None
    return list(version.features), version.attribution


def _note_hidden(spec: dict[str, Any], hidden: Hidden) -> None:
    """The suppression note under the chart's title (so PNG/SVG/PDF/PPTX carry it) and in its description."""
    title = spec.setdefault("title", {"text": ""})
    subtitle = title.get("subtitle") or []
    title["subtitle"] = [*([subtitle] if isinstance(subtitle, str) else subtitle), hidden.note()]
    groups = len(hidden.rows)
    spec["description"] = f"{spec.get('description') or ''}{groups}項目の値は小さい数を秘匿しています。"


def document_render(
    *, actor: Actor, document: dict[str, Any], data: ChartData | None = None
) -> RenderedChart:
    """The Vega-Lite spec, text alternative and table view of a chart document for ``actor``.

    ``data``: the document's answer already read (and suppressed) for ``actor`` — a dashboard reads
    every chart first to suppress them together (:func:`suppress_dashboard`).
    """
    if data is None:
        data = document_data(actor=actor, document=document, suppress_small=True)
    pivot = None
    if (document.get("visual") or {}).get("type") == "pivot":
        document, pivot = _pivot(actor, document, data)
    hidden = data.hidden is not None and bool(data.hidden.cells)
    if hidden:  # the number card shows ＊ rather than a blank
        visual = dict(document.get("visual") or {})
        visual["options"] = {**(visual.get("options") or {}), "suppressed": True}
        document = {**document, "visual": visual}
    areas, attribution = _areas(document)
    try:
        spec = vegalite_spec(
            document, data.rows, data.columns, pivot=pivot, areas=areas, area_attribution=attribution
        )
    except SpecError as exc:
        raise InvalidInput(str(exc)) from None
    if hidden and data.hidden is not None:
        _note_hidden(spec, data.hidden)
    options = (document.get("visual") or {}).get("options") or {}
    if pivot is not None:
        headers, lines = pivot.grid()
        body = [cells for _, cells in lines]
    else:
        headers, body = table_view(data.shown, data.columns, options=options)
    return RenderedChart(
        spec=spec,
        description=str(spec["description"]),
        headers=headers,
        body=body,
        data=data,
        pivot=pivot,
    )


def chart_render(*, actor: Actor, chart: Chart) -> RenderedChart:
    """A saved chart rendered for ``actor`` (its table read now, with ``actor``'s access)."""
    return document_render(actor=actor, document=chart.document)


# ---- dashboards ---------------------------------------------------------------------------------------

DASHBOARD_FILTER_KINDS: Final = {
    "value": "値で絞り込む（区・分類など）",
    "date_range": "期間で絞り込む（日付）",
    "fiscal_year": "年度で絞り込む（日付の列、または年度の数の列）",
}


def dashboard_list(*, actor: Actor) -> QuerySet[Dashboard]:
    """The dashboards shared with ``actor`` (theirs, their 課's, all staff's; 管理 all), newest change first."""
    return restrict_shared(Dashboard.objects.select_related("owner", "unit"), actor).order_by(
        "-updated_at", "-id"
    )


def dashboard_get(*, actor: Actor, uuid: Any) -> Dashboard:
    """One dashboard ``actor`` may see; missing and hidden both raise NotFound."""
    try:
        found = dashboard_list(actor=actor).filter(uuid=uuid).first()
    except (ValueError, TypeError, ValidationError):
        found = None
    if found is None:
        raise NotFound("ダッシュボードが見つかりません。")
    return found


def may_edit_dashboard(actor: Actor, dashboard: Dashboard) -> bool:
    """Only the dashboard's owner (and 管理) change it."""
    return actor.is_admin or dashboard.owner_id == actor.user_id


@dataclass
class Panel:
    """One place on the grid: a drawn chart, a text block, or a chart the viewer may not see."""

    kind: str
    width: int
    index: int
    text: str = ""
    chart: Chart | None = None
    rendered: RenderedChart | None = None
    error: str = ""
    filtered: list[str] = field(default_factory=list)
    click_field: str = ""  # output name of the chart's first group key (no time grain)
    click_param: str = ""  # the dashboard filter a click on a mark sets (cross-filter)

    @property
    def spec_id(self) -> str:
        """The id of the panel's spec script element."""
        return f"spec-{self.index}"


def _next_day(day: str) -> str:
    """The day after an ISO date (a period's end is inclusive: a time on that day is still in it)."""
    return (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()


def filters_for(
    document: dict[str, Any],
    columns: set[str] | dict[str, str],
    chosen: dict[str, Any],
    kinds: dict[str, str],
) -> tuple[dict[str, Any], list[str]]:
    """The chart document with the dashboard's chosen filters added where its table has the column.

    ``columns`` maps the table's columns to their kinds (a set of names is taken as all text): a
    年度 filter is a range 4/1 ≤ t < next 4/1 on a date or time column, and equality on a number
    column (a table that already holds the fiscal year).
    """
    column_kinds = columns if isinstance(columns, dict) else dict.fromkeys(columns, "string")
    extra: list[dict[str, Any]] = []
    used: list[str] = []
    for column, value in chosen.items():
        if column not in column_kinds or value in (None, "", (None, None)):
            continue
        if kinds.get(column) == "date_range":
            start, end = value
            if start:
                extra.append({"column": column, "op": "ge", "value": start})
            if end:
                extra.append({"column": column, "op": "lt", "value": _next_day(end)})
        elif kinds.get(column) == "fiscal_year":
            year = int(value)
            if column_kinds[column] in {"date", "datetime"}:
                extra.append({"column": column, "op": "ge", "value": f"{year}-04-01"})
                extra.append({"column": column, "op": "lt", "value": f"{year + 1}-04-01"})
            else:
                extra.append({"column": column, "op": "eq", "value": year})
        else:
            extra.append({"column": column, "op": "eq", "value": value})
        used.append(column)
    if not extra:
        return document, used
    query = dict(document.get("query") or {})
    query["filters"] = [*(query.get("filters") or []), *extra]
    return {**document, "query": query}, used


def filter_kinds(filters: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Column → kind (value / date_range / fiscal_year) of a dashboard's filters, for :func:`filters_for`."""
    return {str(f.get("column")): str(f.get("kind") or "value") for f in filters}


def cross_filter(document: dict[str, Any], filters: Sequence[dict[str, Any]]) -> tuple[str, str]:
    """(output name, query parameter) a click on a bar or pie slice of the chart sets (cross-filter).

    The dashboard's value filter on the chart's first group key (``f2`` …); ("", "") when it has none.
    """
    field_name, column = click_target(document)
    param = next(
        (f"f{i}" for i, f in enumerate(filters) if f.get("kind") == "value" and f.get("column") == column), ""
    )
    return (field_name, param) if param and column else ("", "")


def dashboard_render(
    *, actor: Actor, dashboard: Dashboard, chosen: dict[str, Any] | None = None
) -> list[Panel]:
    """The dashboard's panels for ``actor``: each chart checked and read with ``actor``'s access, filters applied."""
    chosen = chosen or {}
    kinds = filter_kinds(dashboard.filters)
    uuids = [i.get("chart") for i in dashboard.items if i.get("kind") == "chart"]
    visible = {
        str(c.uuid): c for c in restrict_charts(_base(), actor).filter(uuid__in=[u for u in uuids if u])
    }
    panels: list[Panel] = []
    read: list[tuple[int, Chart, dict[str, Any], ChartData, list[str]]] = []
    seen: dict[tuple[str, str], Table] = {}  # tables already checked for this viewer in this render
    checked: dict[tuple[int, int | None], TableVersion] = {}  # and the versions READ was decided for
    for index, item in enumerate(dashboard.items):
        width = max(1, min(12, int(item.get("width") or 6)))
        if item.get("kind") == "text":
            panels.append(Panel("text", width, index, text=str(item.get("text") or "")))
            continue
        chart = visible.get(str(item.get("chart")))
        if chart is None:
            panels.append(
                Panel(
                    "hidden",
                    width,
                    index,
                    error="このグラフは表示できません（共有されていないか、元の表を見る権限がありません）。",
                )
            )
            continue
        columns = {f.name: f.kind for f in table_fields(chart.table)}
        document, used = filters_for(chart.document, columns, chosen, kinds)
        visual = dict(document.get("visual") or {})
        visual["options"] = {**(visual.get("options") or {}), "responsive": True}  # fill the panel's width
        document = {**document, "visual": visual}
        try:
            data = document_data(
                actor=actor, document=document, suppress_small=True, seen=seen, checked=checked
            )
        except InvalidInput as exc:
            panels.append(Panel("chart", width, index, chart=chart, error=exc.message))
            continue
        read.append((len(panels), chart, document, data, used))
        panels.append(Panel("chart", width, index, chart=chart))
    try:
        suppress_dashboard([data for _, _, _, data, _ in read])
    except InvalidInput as exc:
        for at, chart, _, _, _ in read:
            panels[at] = Panel("chart", panels[at].width, panels[at].index, chart=chart, error=exc.message)
        return panels
    for at, chart, document, data, used in read:
        width, index = panels[at].width, panels[at].index
        try:
            rendered = document_render(actor=actor, document=document, data=data)
        except InvalidInput as exc:
            panels[at] = Panel("chart", width, index, chart=chart, error=exc.message)
            continue
        field_name, param = cross_filter(chart.document, dashboard.filters)
        panels[at] = Panel("chart", width, index, chart=chart, rendered=rendered, filtered=used,
                           click_field=field_name, click_param=param)  # fmt: skip
    return panels


def _signature(group: Any) -> tuple[str, str | None]:
    if isinstance(group, dict):
        return str(group.get("column")), (str(group["grain"]) if group.get("grain") else None)
    return str(group), None


def suppress_dashboard(answers: Sequence[ChartData]) -> None:
    """Suppress a dashboard's charts together (:func:`machidata.charts.suppression.suppress_across`), in place.

    A chart grouped by fewer keys over the same table version and filters publishes the margins of
    a finer chart; each chart then hides what would give a cell of another away by subtraction.
    """
    compared, at = [], []
    for n, data in enumerate(answers):
        if data.hidden is None or data.version is None:
            continue
        query = data.query
        group_by = list(query.get("group_by") or [])
        names = [c.name for c in data.columns][: len(group_by)]
        key = (
            data.version.pk,
            json.dumps(query.get("filters") or [], sort_keys=True, ensure_ascii=False, default=str),
        )
        complete = not (
            data.truncated
            or query.get("top_n")
            or query.get("limit")
            or query.get("offset")
            or query.get("totals")
        )
        compared.append(
            Answer(key, [_signature(g) for g in group_by], names, data.rows, data.hidden, complete)
        )
        at.append(n)
    if len(compared) < 2:
        return
    try:
        extra = suppress_across(compared)
    except SpecError as exc:
        raise InvalidInput(str(exc)) from None
    for n, rows in zip(at, extra, strict=True):
        data = answers[n]
        if not rows or data.hidden is None:
            continue
        first = not data.hidden.cells
        groups = len(data.query.get("group_by") or [])
        hide_rows(data.rows, data.hidden, rows, [c.name for c in data.columns][groups:])
        if first:
            data.notes.append(data.hidden.note())


def click_target(document: dict[str, Any]) -> tuple[str, str]:
    """The (output name, table column) a click on a mark selects: the first group key without a time grain."""
    group_by = (document.get("query") or {}).get("group_by") or []
    if (document.get("visual") or {}).get("type") in {"bar", "pie"} and group_by:
        first = group_by[0]
        if isinstance(first, dict) and not first.get("grain") and first.get("column"):
            return str(first.get("as") or first["column"]), str(first["column"])
    return "", ""
