"""Reading public charts and dashboards (公開): what a 公開申請 would publish, its gates, and the public pages.

A chart or dashboard becomes public only through its own 公開申請 (:mod:`machidata.charts.services_public`)
walking the publication's 決裁 route; the approved content is frozen (:class:`~machidata.charts.models.PublicShare`).
Its data, though, is read at view time, as the anonymous public (``policy.ANONYMOUS``), from the **published**
version of each source table (:func:`machidata.publish.selectors.public_version_for`; a chart pinned to a
version shows it only while that very version is published). When any source table has no such version
(its publication withdrawn, its dataset no longer 公開), the public page is 404 and the chart leaves the
list, with no request needed; a newer published version shows up by itself.

The result cache (``catalog.query_selectors``) keys every answer by the access context (the user, or
``anonymous``), the table version and the query: the public pages read as ``anonymous`` at the public
version and so never meet a member of staff's cached rows, nor staff the public's.

A public dashboard keeps its filters (frozen in the snapshot, covered by the fingerprint): the public page
offers the staff page's filter form and cross-filter (the same query parameters, the same
:func:`~machidata.charts.dashboard_filters.chosen_filters` and :func:`~machidata.charts.selectors.filters_for`).
A chosen filter is added to each chart's own filters where the published version has the column, so it
only ever narrows what the anonymous public already sees.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from django.db.models import Q, QuerySet

from machidata.access import route_requests, routes
from machidata.access.policy import ANONYMOUS, Action, Actor, Standing, Subject, can, decide
from machidata.catalog.models import Dataset, Table, TableVersion
from machidata.catalog.table_selectors import table_fields
from machidata.charts.dashboard_filters import chosen_filters
from machidata.charts.models import (
    Chart,
    Dashboard,
    PublicShare,
    ShareRequest,
    ShareRequestKind,
    ShareRequestStatus,
)
from machidata.charts.selectors import (
    DASHBOARD_FILTER_KINDS,
    ChartData,
    RenderedChart,
    cross_filter,
    document_data,
    document_render,
    filter_kinds,
    filters_for,
    restrict_charts,
    suppress_dashboard,
)
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied
from machidata.publish.models import PublishedVersion
from machidata.publish.selectors import public_attribution, public_history, public_version_for

STATE_NONE: Final = "非公開"
STATE_PENDING: Final = "公開申請中"
STATE_PUBLIC: Final = "公開中"
STATE_STOPPED: Final = "公開停止中（元の表が公開されていません）"


# ---- what is published ------------------------------------------------------------------------------


def _chart_part(chart: Chart) -> dict[str, Any]:
    return {
        "uuid": str(chart.uuid),
        "title": chart.title,
        "description": chart.description,
        "source": chart.source,
        "document": copy.deepcopy(chart.document),
    }


def chart_snapshot(chart: Chart) -> dict[str, Any]:
    """What a 公開申請 of ``chart`` publishes: its title, description, source and document, as they are now."""
    return {"kind": ShareRequestKind.CHART, **_chart_part(chart)}


def dashboard_snapshot(*, actor: Actor, dashboard: Dashboard) -> dict[str, Any]:
    """What a 公開申請 of ``dashboard`` publishes: its title, description, grid and every chart on it.

    A chart ``actor`` may not see is refused (they could not have checked it).
    """
    wanted = [str(i.get("chart")) for i in dashboard.items if i.get("kind") == "chart"]
    visible = {
        str(c.uuid): c
        for c in restrict_charts(Chart.objects.select_related("table"), actor).filter(uuid__in=wanted)
    }
    missing = [u for u in wanted if u not in visible]
    if missing:
        raise InvalidInput(
            f"このダッシュボードには、あなたが見られないグラフが{len(missing)}件あります。"
            "外すか、作成者に共有してもらってから申請してください。"
        )
    items = []
    for item in dashboard.items:
        width = max(1, min(12, int(item.get("width") or 6)))
        if item.get("kind") == "chart":
            items.append({"kind": "chart", "chart": str(item.get("chart")), "width": width})
        else:
            items.append({"kind": "text", "text": str(item.get("text") or ""), "width": width})
    snapshot = {
        "kind": ShareRequestKind.DASHBOARD, "uuid": str(dashboard.uuid), "title": dashboard.title,
        "description": dashboard.description, "items": items,
        "charts": {u: _chart_part(c) for u, c in visible.items()},
    }  # fmt: skip
    filters = snapshot_filters({"filters": dashboard.filters})
    if filters:  # only when there are some: a request filed before they were published keeps its fingerprint
        snapshot["filters"] = filters
    return snapshot


def snapshot_filters(snapshot: dict[str, Any]) -> list[dict[str, str]]:
    """The filters a public dashboard offers the public (the dashboard's, frozen with the rest): column and kind."""
    out = []
    for f in snapshot.get("filters") or []:
        if isinstance(f, dict) and str(f.get("column") or ""):
            kind = str(f.get("kind") or "value")
            kind = kind if kind in DASHBOARD_FILTER_KINDS else "value"
            out.append({"column": str(f["column"]), "kind": kind})
    return out


def fingerprint(snapshot: dict[str, Any]) -> str:
    """The SHA-256 of a snapshot (what the approvers saw)."""
    body = json.dumps(snapshot, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def snapshot_charts(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    """The chart parts of a snapshot, in grid order (one for a chart)."""
    if snapshot.get("kind") == ShareRequestKind.CHART:
        return [snapshot]
    charts = snapshot.get("charts") or {}
    return [charts[str(i["chart"])] for i in snapshot.get("items") or [] if i.get("kind") == "chart"
            and str(i.get("chart")) in charts]  # fmt: skip


# ---- the shown version of each source table -------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A source table of a public chart and the version the public is shown (None: not published)."""

    ref: dict[str, Any]
    table: Table | None
    version: TableVersion | None
    reason: str = ""


def _table_of(ref: dict[str, Any]) -> Table | None:
    return (
        Table.objects.select_related("dataset", "dataset__owner")
        .filter(dataset__slug=str(ref.get("dataset") or ""), name=str(ref.get("name") or ""))
        .first()
    )


def shown_source(document: dict[str, Any], title: str = "") -> Source:
    """The published version the public sees for a chart document, or the Japanese reason there is none.

    A chart following the latest version shows the newest published one; a chart pinned to a version
    shows it only while that very version is published (never a newer internal head, never an
    unpublished pinned version).
    """
    ref = (document.get("query") or {}).get("table") or {}
    name = f"グラフ「{title}」" if title else "グラフ"
    table = _table_of(ref)
    if table is None:
        return Source(ref, None, None, f"{name}の元の表が見つかりません。")
    dataset = table.dataset
    if not can(ANONYMOUS, Action.READ, dataset):
        return Source(ref, table, None,
                      f"{name}の元のデータセット「{dataset.title}」は公開区分ではありません"
                      "（公開の決裁が済んだ、個人情報を含まないデータだけをグラフで公開できます）。")  # fmt: skip
    pinned = ref.get("version")
    if pinned:
        live = {pv.version.number: pv.version for pv in public_history(table)}
        version = live.get(int(pinned))
        if version is None:
            return Source(ref, table, None,
                          f"{name}は表「{table.title}」の第{int(pinned)}版に固定されていますが、その版は公開されていません。"
                          "公開中の版に固定し直すか、「最新の版」にしてください。")  # fmt: skip
        return Source(ref, table, version)
    version = public_version_for(table)
    if version is None:
        return Source(ref, table, None,
                      f"{name}の元の表「{dataset.title}／{table.title}」には公開中の版がありません。"
                      "先にデータセットの公開申請をして、決裁を受けてください。")  # fmt: skip
    return Source(ref, table, version)


def public_document(document: dict[str, Any], version: TableVersion) -> dict[str, Any]:
    """The chart document pointed at ``version`` (the published one)."""
    doc = copy.deepcopy(document)
    query = doc.setdefault("query", {})
    query["table"] = {**(query.get("table") or {}), "version": version.number}
    return doc


def _render(part: dict[str, Any], source: Source) -> RenderedChart:
    assert source.version is not None
    doc = public_document(part["document"], source.version)
    return document_render(actor=ANONYMOUS, document=doc)


def refusals(snapshot: dict[str, Any]) -> list[str]:
    """The gates of a 公開申請, in Japanese (empty: it may be published).

    Every source table has a published version (a pinned chart: its pinned version is published),
    its dataset is 公開 (the anonymous public may READ it), and every chart draws for the anonymous
    public at that version (the query is allowed and answers).
    """
    parts = snapshot_charts(snapshot)
    if not parts:
        return ["公開するグラフがありません。ダッシュボードにグラフを1つ以上並べてください。"]
    out: list[str] = []
    for part in parts:
        source = shown_source(part.get("document") or {}, str(part.get("title") or ""))
        if source.version is None:
            out.append(source.reason)
            continue
        try:
            _render(part, source)
        except (InvalidInput, NotFound, PermissionDenied) as exc:
            out.append(f"グラフ「{part.get('title')}」は公開の条件で描けません: {exc.message}")
    return list(dict.fromkeys(out))


# ---- the public pages -------------------------------------------------------------------------------


def live_shares() -> QuerySet[PublicShare]:
    """Approved public charts and dashboards neither withdrawn nor superseded, newest first."""
    return (
        PublicShare.objects.select_related("chart", "dashboard")
        .filter(withdrawn_at__isnull=True, superseded_at__isnull=True)
        .order_by("-published_at", "-id")
    )


def _visible(share: PublicShare) -> bool:
    return all(
        shown_source(p.get("document") or {}).version is not None for p in snapshot_charts(share.snapshot)
    )


def _ref(part: dict[str, Any]) -> tuple[str, str, int | None]:
    """(dataset slug, table name, pinned version number or None) a chart part of a snapshot reads."""
    ref = ((part.get("document") or {}).get("query") or {}).get("table") or {}
    pinned = ref.get("version")
    try:
        number = int(pinned) if pinned else None
    except (TypeError, ValueError):
        number = -1  # no version has that number: never shown
    return str(ref.get("dataset") or ""), str(ref.get("name") or ""), number


def _shown_now(shares: list[PublicShare]) -> tuple[list[PublicShare], dt.datetime | None]:
    """The shares whose every source table shows a published version now, checked in one query for all,
    and when that last changed (a version published or withdrawn, a source dataset edited).

    The batch form of :func:`shown_source` (same rule): the dataset is one the anonymous public may READ
    and not retired, and the table has a live published version (a pinned chart: that very version).
    """
    refs = {_ref(p) for share in shares for p in snapshot_charts(share.snapshot)}
    if not refs:
        return [], None
    live: dict[tuple[str, str], set[int]] = {}
    changed: list[dt.datetime] = []
    rows = PublishedVersion.objects.filter(
        table__dataset__slug__in={slug for slug, _, _ in refs}, table__name__in={name for _, name, _ in refs}
    ).values_list("table__dataset__slug", "table__name", "version__number", "table__dataset__classification",
                  "table__dataset__personal_data", "table__dataset__retired_at", "withdrawn_at", "published_at",
                  "table__dataset__updated_at")  # fmt: skip
    for slug, name, number, classification, personal, retired, withdrawn, published, updated in rows:
        changed.extend(t for t in (retired, withdrawn, published, updated) if t is not None)
        anyone = decide(Standing.ANONYMOUS, Action.READ, Subject(classification, personal))
        if anyone and retired is None and withdrawn is None:
            live.setdefault((slug, name), set()).add(number)

    def shown(share: PublicShare) -> bool:
        parts = [_ref(p) for p in snapshot_charts(share.snapshot)]
        return bool(parts) and all(
            bool(live.get(ref[:2])) if ref[2] is None else ref[2] in live.get(ref[:2], set()) for ref in parts
        )

    return [s for s in shares if shown(s)], max(changed, default=None)


def public_list() -> list[PublicShare]:
    """公開グラフ・ダッシュボード: every live public share whose every source table shows a published version."""
    return _shown_now(list(live_shares()))[0]


@dataclass(frozen=True)
class DatasetCharts:
    """The public charts and dashboards drawn from a dataset, and when that list last changed."""

    shares: list[PublicShare]
    changed_at: dt.datetime | None


def public_shares_from(dataset: Dataset) -> DatasetCharts:
    """The public charts and dashboards drawn (in part) from ``dataset``'s tables, for its portal page.

    Only live shares whose every source table shows a published version now (as :func:`public_list`),
    newest first; two queries whatever their number: the shares whose snapshot names the dataset's slug
    (withdrawn and superseded ones too, for ``changed_at``), then the published versions of every table the
    live ones read. ``changed_at`` (for the page's ``Last-Modified``): the newest publication, withdrawal or
    supersession of such a share, or change of a source table's publication.
    """
    named = list(
        PublicShare.objects.select_related("chart", "dashboard")
        .filter(snapshot__icontains=json.dumps(dataset.slug))
        .order_by("-published_at", "-id")
    )
    mine = [s for s in named if any(_ref(p)[0] == dataset.slug for p in snapshot_charts(s.snapshot))]
    changed = [t for s in mine for t in (s.published_at, s.withdrawn_at, s.superseded_at) if t is not None]
    live = [s for s in mine if s.withdrawn_at is None and s.superseded_at is None]
    shown, sources_changed = _shown_now(live)
    if sources_changed is not None:
        changed.append(sources_changed)
    return DatasetCharts(shown, max(changed, default=None))


@dataclass
class PublicChart:
    """One chart as the public sees it: drawn from the published version, with its source and licence."""

    title: str
    description: str
    source: str
    rendered: RenderedChart | None
    dataset: Dataset
    table: Table
    version: TableVersion
    licence: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    index: int = 0
    filtered: list[str] = field(default_factory=list)  # the dashboard filters applied to this chart
    click_field: str = ""  # output name a click on a bar or slice selects (cross-filter)
    click_param: str = ""  # the query parameter that click sets

    @property
    def spec_id(self) -> str:
        """The id of the chart's spec script element."""
        return f"spec-{self.index}"


@dataclass
class PublicPanel:
    """A place on a public dashboard's grid: a chart or a text block."""

    kind: str
    width: int
    text: str = ""
    chart: PublicChart | None = None


def _sources(snapshot: dict[str, Any]) -> list[tuple[dict[str, Any], Source]]:
    """Each chart part with its shown source; NotFound (the page is 404) when any is not published."""
    out = []
    for part in snapshot_charts(snapshot):
        source = shown_source(part.get("document") or {})
        if source.version is None or source.table is None:
            raise NotFound("公開されているグラフが見つかりません。")
        out.append((part, source))
    return out


def _public_chart(part: dict[str, Any], source: Source, rendered: RenderedChart | None, error: str,
                  index: int, **extra: Any) -> PublicChart:  # fmt: skip
    assert source.table is not None
    assert source.version is not None
    dataset = source.table.dataset
    return PublicChart(
        title=str(part.get("title") or ""), description=str(part.get("description") or ""),
        source=str(part.get("source") or ""), rendered=rendered, dataset=dataset, table=source.table,
        version=source.version, licence=public_attribution(dataset) or {}, error=error, index=index, **extra,
    )  # fmt: skip


def _share(kind: str, uuid: Any) -> PublicShare:
    subject = Q(chart__uuid=uuid) if kind == ShareRequestKind.CHART else Q(dashboard__uuid=uuid)
    try:
        found = live_shares().filter(subject, kind=kind).first()
    except (ValueError, TypeError):
        found = None
    if found is None:
        raise NotFound("公開されているグラフが見つかりません。")
    return found


def public_chart(uuid: Any) -> tuple[PublicShare, PublicChart]:
    """A public chart drawn for the anonymous public from its published version; NotFound otherwise."""
    share = _share(ShareRequestKind.CHART, uuid)
    [(part, source)] = _sources(share.snapshot)
    try:
        rendered, error = _render(part, source), ""
    except InvalidInput as exc:
        rendered, error = None, exc.message
    return share, _public_chart(part, source, rendered, error, 0)


@dataclass
class PublicBoard:
    """A public dashboard as the public sees it: the share, its panels, and the filter form's fields."""

    share: PublicShare
    panels: list[PublicPanel]
    filter_fields: list[dict[str, Any]] = field(default_factory=list)
    chosen: dict[str, Any] = field(default_factory=dict)

    @property
    def filtering(self) -> bool:
        """Whether the viewer chose any filter (the page says so and offers 絞り込みを外す)."""
        return any(v not in (None, "", (None, None)) for v in self.chosen.values())


# a chart of a public dashboard read before suppression: its place, panel, part, source, document, answer, extras
_Read = tuple[int, PublicPanel, dict[str, Any], Source, dict[str, Any], ChartData, dict[str, Any]]


def public_dashboard(uuid: Any, params: Mapping[str, str] | None = None) -> PublicBoard:
    """A public dashboard's panels for the anonymous public (charts suppressed together); NotFound otherwise.

    ``params``: the page's query parameters (``f0``, ``f0_from``/``f0_to`` …, as on the staff page) choosing
    the dashboard's filters frozen in the snapshot. Each applies to the charts whose published version has
    the column, and only narrows what the public sees already: it is added to the chart's own filters and
    read as the anonymous public from the published version; small counts are suppressed across the
    filtered answers together.
    """
    share = _share(ShareRequestKind.DASHBOARD, uuid)
    sources = {str(p.get("uuid")): (p, s) for p, s in _sources(share.snapshot)}
    filters = snapshot_filters(share.snapshot)
    chosen, fields = chosen_filters(params or {}, filters)
    kinds = filter_kinds(filters)
    panels: list[PublicPanel] = []
    read: list[_Read] = []
    seen: dict[tuple[str, str], Table] = {}
    for index, item in enumerate(share.snapshot.get("items") or []):
        width = max(1, min(12, int(item.get("width") or 6)))
        if item.get("kind") != "chart":
            panels.append(PublicPanel("text", width, text=str(item.get("text") or "")))
            continue
        part, source = sources[str(item.get("chart"))]
        assert source.version is not None
        assert source.table is not None
        columns = {f.name: f.kind for f in table_fields(source.table, source.version)}
        doc, used = filters_for(public_document(part["document"], source.version), columns, chosen, kinds)
        visual = dict(doc.get("visual") or {})
        visual["options"] = {**(visual.get("options") or {}), "responsive": True}
        doc = {**doc, "visual": visual}
        click_field, click_param = cross_filter(part["document"], filters)
        extra = {"filtered": used, "click_field": click_field, "click_param": click_param}
        panel = PublicPanel("chart", width)
        panels.append(panel)
        try:
            data = document_data(actor=ANONYMOUS, document=doc, suppress_small=True, seen=seen)
        except InvalidInput as exc:
            panel.chart = _public_chart(part, source, None, exc.message, index, filtered=used)
            continue
        read.append((index, panel, part, source, doc, data, extra))
    board = PublicBoard(share, panels, fields, chosen)
    try:
        suppress_dashboard([data for *_, data, _ in read])
    except InvalidInput as exc:
        for index, panel, part, source, *_ in read:
            panel.chart = _public_chart(part, source, None, exc.message, index)
        return board
    for index, panel, part, source, doc, data, extra in read:
        try:
            rendered = document_render(actor=ANONYMOUS, document=doc, data=data)
        except InvalidInput as exc:
            panel.chart = _public_chart(part, source, None, exc.message, index, filtered=extra["filtered"])
            continue
        panel.chart = _public_chart(part, source, rendered, "", index, **extra)
    return board


# ---- state and requests, for staff -----------------------------------------------------------------


def _subject(obj: Chart | Dashboard) -> Q:
    return Q(chart=obj) if isinstance(obj, Chart) else Q(dashboard=obj)


def live_share_of(obj: Chart | Dashboard) -> PublicShare | None:
    """The live public share of a chart or dashboard, if any."""
    return live_shares().filter(_subject(obj)).first()


def pending_request_of(obj: Chart | Dashboard) -> ShareRequest | None:
    """The 公開申請 of a chart or dashboard under decision, if any."""
    return ShareRequest.objects.filter(_subject(obj), status=ShareRequestStatus.PENDING).first()


def public_state(obj: Chart | Dashboard) -> str:
    """非公開 / 公開申請中 / 公開中 / 公開停止中 of a chart or dashboard (公開中 wins over a pending update)."""
    share = live_share_of(obj)
    if share is not None:
        return STATE_PUBLIC if _visible(share) else STATE_STOPPED
    if pending_request_of(obj) is not None:
        return STATE_PENDING
    return STATE_NONE


REQUEST_SCOPES: Final = {"awaiting": "わたしの決裁待ち", "mine": "わたしの申請", "all": "すべて"}


def _may_see_request(actor: Actor, req: ShareRequest) -> bool:
    """The requester, the owner, 管理, and whoever may decide one of its steps (課長・代決者)."""
    if not actor.is_authenticated or actor.user_id is None or actor.is_partner:
        return False
    if actor.is_admin or actor.user_id == req.requested_by_id:
        return True
    subject = req.chart if req.chart_id else req.dashboard
    if subject is not None and subject.owner_id == actor.user_id:
        return True
    if req.actions.filter(actor_id=actor.user_id).exists():
        return True
    return any(routes.may_act(actor, step)[0] for step in req.steps)


def share_request_list(*, actor: Actor, scope: str = "all") -> list[ShareRequest]:
    """公開申請 of charts and dashboards ``actor`` may see; ``awaiting``: those whose current step is theirs."""
    if not actor.is_authenticated or actor.is_partner:
        return []
    rows = ShareRequest.objects.select_related("chart", "dashboard", "requested_by").order_by(
        "-created_at", "-id"
    )
    if scope == "mine":
        rows = rows.filter(requested_by_id=actor.user_id)
    elif scope == "awaiting":
        rows = rows.filter(status=ShareRequestStatus.PENDING).exclude(requested_by_id=actor.user_id)
    out = [r for r in rows[:500] if _may_see_request(actor, r)]
    if scope == "awaiting":
        out = [r for r in out if route_requests.is_my_turn(actor, r)]
    return out


def share_request_get(*, actor: Actor, pk: int) -> ShareRequest:
    """One 公開申請 ``actor`` may see (404 otherwise)."""
    req = (
        ShareRequest.objects.select_related("chart", "dashboard", "requested_by", "unit")
        .filter(pk=pk)
        .first()
    )
    if req is None or not _may_see_request(actor, req):
        raise NotFound("公開申請が見つかりません。")
    return req


def share_request_steps(req: ShareRequest) -> list[dict[str, Any]]:
    """Each step with its state, who approved it (代決 shown) and who may act now."""
    return route_requests.step_rows(req)


def is_my_turn(actor: Actor, req: ShareRequest) -> bool:
    """Whether ``actor`` may decide the request's current step now."""
    return route_requests.is_my_turn(actor, req)
