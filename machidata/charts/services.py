"""Writing charts: create, update (optimistic lock), delete, and the audited export."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any, Final

from django.db import transaction
from django.utils import timezone

from machidata.access.models import Membership
from machidata.access.policy import Action, Actor, restrict_related, unit_member
from machidata.audit.services import audit_record
from machidata.catalog.models import Table
from machidata.catalog.table_selectors import refuse_pseudonymised_export
from machidata.charts.boundaries import BoundaryError, read_boundaries
from machidata.charts.models import BoundarySet, BoundaryVersion, Chart, Dashboard, Sharing
from machidata.charts.render import FORMATS, render
from machidata.charts.reports import PPTX_TYPE, dashboard_pdf, dashboard_pptx
from machidata.charts.selectors import (
    DASHBOARD_FILTER_KINDS,
    chart_get,
    dashboard_render,
    document_render,
    document_table,
    may_edit,
    may_edit_dashboard,
    restrict_charts,
)
from machidata.charts.tables import data_file, pivot_file
from machidata.charts.vegalite import CHART_TYPES
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied

TITLE_MAX: Final = 200
EXPORT_FORMATS: Final = (*FORMATS, "csv", "xlsx")


def _check(*, actor: Actor, title: str, sharing: str, document: dict[str, Any]) -> dict[str, Any]:
    """Validate before writing: a title, a known sharing level and chart type, and a document that renders."""
    errors: dict[str, str] = {}
    if not title.strip():
        errors["title"] = "題名を入力してください。"
    elif len(title) > TITLE_MAX:
        errors["title"] = f"題名は{TITLE_MAX}文字以内にしてください。"
    if sharing not in Sharing.values:
        errors["sharing"] = "共有の範囲を選んでください（公開は公開申請の手続きで行います）。"
    if (document.get("visual") or {}).get("type") not in CHART_TYPES:
        errors["type"] = "グラフの種類を選んでください。"
    if errors:
        raise InvalidInput(next(iter(errors.values())), details=errors)
    document_render(actor=actor, document=document)  # the actor must be able to read it, and it must draw
    return document


def _unit_of(actor: Actor) -> int | None:
    """The actor's 課 today (the first membership), which "shared with the department" refers to."""
    return (
        Membership.objects.active_on(timezone.localdate())
        .filter(user_id=actor.user_id or 0)
        .order_by("id")
        .values_list("unit_id", flat=True)
        .first()
    )


def chart_create(
    *, actor: Actor, title: str, document: dict[str, Any], description: str = "", source: str = "",
    sharing: str = Sharing.PRIVATE,
) -> Chart:  # fmt: skip
    """Save a new chart owned by ``actor`` (who must be able to read its table)."""
    owner_id = actor.user_id
    if not actor.is_authenticated or owner_id is None:
        raise PermissionDenied("グラフを保存するにはログインしてください。")
    document = _check(actor=actor, title=title, sharing=sharing, document=document)
    table, _version = document_table(actor=actor, document=document)
    ref = document["query"]["table"]
    document["meta"] = {"title": title.strip(), "description": description, "source": source}
    with transaction.atomic():
        chart = Chart.objects.create(
            title=title.strip(), description=description, source=source, owner_id=owner_id,
            unit_id=_unit_of(actor), table=table, version_number=ref.get("version") or None,
            document=document, sharing=sharing,
        )  # fmt: skip
        chart.document["meta"]["uuid"] = str(chart.uuid)
        chart.save(update_fields=["document"])
        audit_record(
            actor=actor, action="chart.create", obj=chart, changes={"table": table.pk, "sharing": sharing}
        )
    return chart


def chart_update(
    *, actor: Actor, chart: Chart, lock_version: int, title: str, document: dict[str, Any],
    description: str = "", source: str = "", sharing: str = Sharing.PRIVATE,
) -> Chart:  # fmt: skip
    """Change a chart (its owner or 管理); a stale ``lock_version`` is refused with 409."""
    if not may_edit(actor, chart):
        raise PermissionDenied("グラフを変更できるのは作成者とデータ戦略課（管理）です。")
    document = _check(actor=actor, title=title, sharing=sharing, document=document)
    table, _ = document_table(actor=actor, document=document)
    document["meta"] = {
        "title": title.strip(),
        "description": description,
        "source": source,
        "uuid": str(chart.uuid),
    }
    with transaction.atomic():
        current = Chart.objects.select_for_update().get(pk=chart.pk)
        if current.lock_version != lock_version:
            raise Conflict("他の人がこのグラフを先に変更しました。画面を読み込み直してください。")
        before = {"title": current.title, "sharing": current.sharing}
        current.title, current.description, current.source = title.strip(), description, source
        current.table, current.document, current.sharing = table, document, sharing
        current.version_number = document["query"]["table"].get("version") or None
        current.lock_version += 1
        current.save()
        audit_record(
            actor=actor, action="chart.update", obj=current, changes={"before": before, "sharing": sharing}
        )
    return current


def chart_delete(*, actor: Actor, chart: Chart) -> None:
    """Delete a chart (its owner or 管理)."""
    if not may_edit(actor, chart):
        raise PermissionDenied("グラフを削除できるのは作成者とデータ戦略課（管理）です。")
    with transaction.atomic():
        audit_record(actor=actor, action="chart.delete", obj=chart)
        chart.delete()


def chart_export(*, actor: Actor, chart: Chart, fmt: str) -> tuple[bytes, str, str]:
    """A chart as PNG/SVG/PDF (drawn on the server) or its data as CSV (UTF-8 BOM)/XLSX; audited.

    Returns (content, content type, file extension).
    """
    if fmt not in EXPORT_FORMATS:
        raise NotFound("その形式では書き出せません。")
    rendered = document_render(actor=actor, document=chart.document)
    version = rendered.data.version or chart.table.current_version
    if version is not None:  # 仮名加工情報 never leaves as a file, not even drawn (audited, 403)
        refuse_pseudonymised_export(
            actor=actor, table=chart.table, version=version, fmt=fmt, action="chart.export"
        )
    if fmt in FORMATS:
        content = render(rendered.spec, fmt)
        content_type, ext = FORMATS[fmt]
    elif rendered.pivot is not None:  # as on screen: 小計・合計 marked, suppressed cells as ＊
        content, content_type, ext = pivot_file(
            rendered.pivot, fmt=fmt, title=chart.title, source=chart.source
        )
    else:
        visual = chart.document.get("visual") or {}
        options = visual.get("options") or {}
        # A chart split by colour (or a heatmap) is exported as the matrix it draws.
        series = visual.get("y") if visual.get("type") == "heatmap" else visual.get("color")
        value = visual.get("value") if visual.get("type") == "heatmap" else visual.get("y")
        pivot_by = (
            (str(visual["x"]), str(series), str(value)) if visual.get("x") and series and value else None
        )
        content, content_type, ext = data_file(
            rendered.data.shown,
            rendered.data.columns,
            fmt=fmt,
            title=chart.title,
            source=chart.source,
            wareki=options.get("era") != "western",
            pivot_by=pivot_by,
            note=rendered.data.hidden.note() if rendered.data.hidden and rendered.data.hidden.cells else "",
        )
    with transaction.atomic():
        audit_record(
            actor=actor, action="chart.export", obj=chart,
            changes={"format": fmt, "version": rendered.data.version.number if rendered.data.version else None},
        )  # fmt: skip
    return content, content_type, ext


# ---- dashboards ---------------------------------------------------------------------------------------

MAX_ITEMS: Final = 24
MAX_FILTERS: Final = 4


def _clean_filters(filters: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [
        {"column": str(f["column"]).strip(), "kind": f.get("kind")}
        for f in (filters or [])
        if str(f.get("column") or "").strip()
    ]


def _dashboard_check(*, title: str, sharing: str, filters: list[dict[str, Any]]) -> None:
    errors: dict[str, str] = {}
    if not title.strip():
        errors["title"] = "題名を入力してください。"
    elif len(title) > TITLE_MAX:
        errors["title"] = f"題名は{TITLE_MAX}文字以内にしてください。"
    if sharing not in Sharing.values:
        errors["sharing"] = "共有の範囲を選んでください（公開は公開申請の手続きで行います）。"
    if len(filters) > MAX_FILTERS:
        errors["filters"] = f"絞り込みは{MAX_FILTERS}つまでです。"
    for f in filters:
        if not str(f.get("column") or "").strip() or f.get("kind") not in DASHBOARD_FILTER_KINDS:
            errors["filters"] = "絞り込みには列の名前と種類（値・期間・年度）を指定してください。"
    if len({(f.get("column"), f.get("kind")) for f in filters}) != len(filters):
        errors["filters"] = "同じ列の同じ種類の絞り込みが2つあります。"
    if errors:
        raise InvalidInput(next(iter(errors.values())), details=errors)


def dashboard_view_record(*, actor: Actor, dashboard: Dashboard) -> None:
    """Record that a member of staff opened a dashboard (``dashboard.view``): the usage figures count it."""
    if actor.is_authenticated and actor.user_id is not None:
        with transaction.atomic():
            audit_record(actor=actor, action="dashboard.view", obj=dashboard)


def dashboard_create(
    *, actor: Actor, title: str, description: str = "", sharing: str = Sharing.PRIVATE,
    filters: list[dict[str, Any]] | None = None,
) -> Dashboard:  # fmt: skip
    """Make an empty dashboard owned by ``actor``."""
    owner_id = actor.user_id
    if not actor.is_authenticated or owner_id is None:
        raise PermissionDenied("ダッシュボードを作るにはログインしてください。")
    filters = _clean_filters(filters)
    _dashboard_check(title=title, sharing=sharing, filters=filters)
    with transaction.atomic():
        dashboard = Dashboard.objects.create(
            title=title.strip(), description=description, owner_id=owner_id, unit_id=_unit_of(actor),
            sharing=sharing, filters=filters,
        )  # fmt: skip
        audit_record(actor=actor, action="dashboard.create", obj=dashboard, changes={"sharing": sharing})
    return dashboard


def dashboard_update(
    *, actor: Actor, dashboard: Dashboard, lock_version: int, title: str, description: str = "",
    sharing: str = Sharing.PRIVATE, filters: list[dict[str, Any]] | None = None,
) -> Dashboard:  # fmt: skip
    """Change a dashboard's title, description, sharing and filters (its owner or 管理; optimistic lock)."""
    if not may_edit_dashboard(actor, dashboard):
        raise PermissionDenied("ダッシュボードを変更できるのは作成者とデータ戦略課（管理）です。")
    filters = _clean_filters(filters)
    _dashboard_check(title=title, sharing=sharing, filters=filters)
    with transaction.atomic():
        current = Dashboard.objects.select_for_update().get(pk=dashboard.pk)
        if current.lock_version != lock_version:
            raise Conflict("他の人がこのダッシュボードを先に変更しました。画面を読み込み直してください。")
        before = {"title": current.title, "sharing": current.sharing, "filters": current.filters}
        current.title, current.description, current.sharing = title.strip(), description, sharing
        current.filters = filters
        current.lock_version += 1
        current.save()
        audit_record(
            actor=actor, action="dashboard.update", obj=current,
            changes={"before": before, "sharing": sharing, "filters": filters},
        )  # fmt: skip
    return current


def _edit_items(actor: Actor, dashboard: Dashboard, lock_version: int, change: Any, what: str) -> Dashboard:
    if not may_edit_dashboard(actor, dashboard):
        raise PermissionDenied("ダッシュボードを変更できるのは作成者とデータ戦略課（管理）です。")
    with transaction.atomic():
        current = Dashboard.objects.select_for_update().get(pk=dashboard.pk)
        if current.lock_version != lock_version:
            raise Conflict("他の人がこのダッシュボードを先に変更しました。画面を読み込み直してください。")
        items = change(list(current.items))
        if len(items) > MAX_ITEMS:
            raise InvalidInput(f"ダッシュボードに並べられるのは{MAX_ITEMS}個までです。")
        current.items = items
        current.lock_version += 1
        current.save(update_fields=["items", "lock_version", "updated_at"])
        audit_record(actor=actor, action=f"dashboard.{what}", obj=current, changes={"items": len(items)})
    return current


def dashboard_add_chart(
    *, actor: Actor, dashboard: Dashboard, lock_version: int, chart_uuid: str, width: int = 6
) -> Dashboard:
    """Add a chart the actor may see to the end of the grid (each viewer still needs access to show it)."""
    chart = chart_get(actor=actor, uuid=chart_uuid)
    item = {"kind": "chart", "chart": str(chart.uuid), "width": max(1, min(12, int(width)))}
    return _edit_items(actor, dashboard, lock_version, lambda items: [*items, item], "add_chart")


def dashboard_add_text(
    *, actor: Actor, dashboard: Dashboard, lock_version: int, text: str, width: int = 12
) -> Dashboard:
    """Add a text block (plain text, shown as written) to the end of the grid."""
    if not text.strip() or len(text) > 2000:
        raise InvalidInput("文章は1〜2,000文字で入力してください。")
    item = {"kind": "text", "text": text.strip(), "width": max(1, min(12, int(width)))}
    return _edit_items(actor, dashboard, lock_version, lambda items: [*items, item], "add_text")


def dashboard_remove_item(*, actor: Actor, dashboard: Dashboard, lock_version: int, index: int) -> Dashboard:
    """Remove the item at ``index`` from the grid."""

    def change(items: list[Any]) -> list[Any]:
        if not 0 <= index < len(items):
            raise InvalidInput("外す項目が見つかりません。")
        return items[:index] + items[index + 1 :]

    return _edit_items(actor, dashboard, lock_version, change, "remove_item")


WIDTHS: Final = (3, 4, 6, 8, 12)  # a quarter, a third, half, two thirds, the whole row (of 12 columns)
ITEM_MOVES: Final = {
    "up": "前へ移動",
    "down": "後ろへ移動",
    "wider": "幅を広く",
    "narrower": "幅を狭く",
}


def _rearranged(items: list[Any], index: int, move: str) -> list[Any]:
    """The grid after one move: swap with the neighbour, or step the width along :data:`WIDTHS`."""
    if not 0 <= index < len(items):
        raise InvalidInput("動かす項目が見つかりません。画面を読み込み直してください。")
    out = list(items)
    if move in {"up", "down"}:
        other = index - 1 if move == "up" else index + 1
        if 0 <= other < len(out):  # the first cannot go up, the last cannot go down: nothing changes
            out[index], out[other] = out[other], out[index]
        return out
    width = max(1, min(12, int(out[index].get("width") or 6)))
    if move == "wider":
        width = next((w for w in WIDTHS if w > width), WIDTHS[-1])
    else:
        width = next((w for w in reversed(WIDTHS) if w < width), WIDTHS[0])
    out[index] = {**out[index], "width": width}
    return out


def dashboard_move_item(
    *, actor: Actor, dashboard: Dashboard, lock_version: int, index: int, move: str
) -> Dashboard:
    """Move the item at ``index`` one place earlier or later, or make it wider or narrower (owner or 管理)."""
    if move not in ITEM_MOVES:
        raise NotFound("その操作はできません。")
    return _edit_items(
        actor, dashboard, lock_version, lambda items: _rearranged(items, index, move), f"item_{move}"
    )


DASHBOARD_EXPORTS: Final = {"pdf": ("application/pdf", "pdf"), "pptx": (PPTX_TYPE, "pptx")}


def _exportable(actor: Actor, panel: Any, fmt: str) -> Any:
    """A drawn panel, or in its place a note saying why it may not leave as a file: 仮名加工情報 and data
    whose contract forbids it are checked as for a chart export (the same check, audited as refused)."""
    if panel.rendered is None or panel.chart is None:
        return panel
    version = panel.rendered.data.version or panel.chart.table.current_version
    if version is None:
        return panel
    try:
        refuse_pseudonymised_export(
            actor=actor, table=panel.chart.table, version=version, fmt=fmt, action="dashboard.export"
        )
    except PermissionDenied as refused:
        return replace(panel, kind="text", text=f"「{panel.chart.title}」は書き出せません。{refused.message}",
                       chart=None, rendered=None)  # fmt: skip
    return panel


def dashboard_export(
    *, actor: Actor, dashboard: Dashboard, fmt: str, chosen: dict[str, Any] | None = None
) -> tuple[bytes, str, str]:
    """The dashboard as A4 PDF or PPTX with the viewer's filters and access (hidden charts left out); audited."""
    if fmt not in DASHBOARD_EXPORTS:
        raise NotFound("その形式では書き出せません。")
    panels = [
        _exportable(actor, p, fmt) for p in dashboard_render(actor=actor, dashboard=dashboard, chosen=chosen)
    ]
    if fmt == "pdf":
        content = dashboard_pdf(dashboard.title, dashboard.description, panels)
    else:
        content = dashboard_pptx(dashboard.title, panels)
    with transaction.atomic():
        audit_record(
            actor=actor, action="dashboard.export", obj=dashboard,
            changes={"format": fmt, "charts": [str(p.chart.uuid) for p in panels if p.rendered and p.chart],
                     "filters": {k: v for k, v in (chosen or {}).items() if v not in (None, (None, None))}},
        )  # fmt: skip
    content_type, ext = DASHBOARD_EXPORTS[fmt]
    return content, content_type, ext


# ---- boundary sets (町丁・校区) ------------------------------------------------------------------------

ATTRIBUTION_MAX: Final = 500


def boundary_upload(
    *, actor: Actor, name: str, data: bytes, attribution: str, code_property: str = "", name_property: str = "",
    source_name: str = "", description: str = "",
) -> BoundaryVersion:  # fmt: skip
    """Add a version of a boundary set (made on first upload); データ戦略課（管理）only; audited.

    The file is checked and simplified first (:func:`machidata.charts.boundaries.read_boundaries`: GeoJSON or a zipped Shapefile): any
    problem raises InvalidInput with the reason and nothing is stored.
    """
    if not actor.is_admin or actor.user_id is None:
        raise PermissionDenied("境界データを登録できるのはデータ戦略課（管理）です。")
    errors: dict[str, str] = {}
    if not name.strip() or len(name) > 100:
        errors["name"] = "境界データの名前を100文字以内で入力してください（例: 町丁・字、小学校区）。"
    if not attribution.strip() or len(attribution) > ATTRIBUTION_MAX:
        errors["attribution"] = "出典・著作権表示を入力してください（地図の下にいつも表示します）。"
    if errors:
        raise InvalidInput(next(iter(errors.values())), details=errors)
    try:
        read = read_boundaries(data, code_property=code_property.strip(), name_property=name_property.strip())
    except BoundaryError as exc:
        raise InvalidInput(str(exc), details={"file": str(exc)}) from None
    with transaction.atomic():
        boundary_set, _ = BoundarySet.objects.get_or_create(
            name=name.strip(), defaults={"description": description}
        )
        last = boundary_set.versions.select_for_update().order_by("-number").first()
        version = BoundaryVersion.objects.create(
            boundary_set=boundary_set, number=(last.number + 1) if last else 1, features=read.features,
            code_property=code_property.strip(), name_property=name_property.strip(),
            attribution=attribution.strip(), source_name=source_name[:255], points_before=read.points_before,
            points_after=read.points_after, created_by_id=actor.user_id,
        )  # fmt: skip
        audit_record(
            actor=actor, action="boundary.upload", obj=version,
            changes={"set": boundary_set.name, "number": version.number, "areas": len(read.features),
                     "points": [read.points_before, read.points_after]},
        )  # fmt: skip
    return version


# ---- copying a dashboard to another 課 (横展開 of a case) ---------------------------------------------


@dataclass
class DashboardCopy:
    """A copied dashboard, the charts copied with it, and the charts left to re-point (with the reason)."""

    dashboard: Dashboard
    charts: list[Chart] = field(default_factory=list)
    to_repoint: list[str] = field(default_factory=list)


def dashboard_copy(*, actor: Actor, dashboard: Dashboard, unit_id: int, title: str = "") -> DashboardCopy:
    """Copy a dashboard the actor may see, with its charts, as the actor's own, shared with 課 ``unit_id``.

    A chart is copied only when both the actor and an ordinary member of the 課 may read its table
    (:func:`machidata.access.policy.unit_member`); in its place otherwise a text block says which chart
    needs a table of the 課's own, and so does ``to_repoint``. A chart the actor may not see is left out
    without its title. Text blocks and the dashboard's filters are copied as they are.
    """
    if not actor.is_authenticated or actor.user_id is None:
        raise PermissionDenied("ダッシュボードをコピーするにはログインしてください。")
    member = unit_member(unit_id)
    wanted = [str(i.get("chart")) for i in dashboard.items if i.get("kind") == "chart"]
    visible = {
        str(c.uuid): c
        for c in restrict_charts(Chart.objects.select_related("table"), actor).filter(uuid__in=wanted)
    }
    tables = Table.objects.filter(pk__in={c.table_id for c in visible.values()})
    readable = set(restrict_related(tables, member, Action.READ, via="dataset").values_list("pk", flat=True))
    discoverable = set(
        restrict_related(tables, member, Action.DISCOVER, via="dataset").values_list("pk", flat=True)
    )
    result = DashboardCopy(dashboard=dashboard)
    items: list[dict[str, Any]] = []
    hidden = 0
    with transaction.atomic():
        for item in dashboard.items:
            if item.get("kind") != "chart":
                items.append(dict(item))
                continue
            chart = visible.get(str(item.get("chart")))
            if chart is None:
                hidden += 1
                continue
            if chart.table_id not in readable:
                what = (
                    f"表「{chart.table.title}」"
                    if chart.table_id in discoverable
                    else "この課からは見えない表"
                )
                note = (
                    f"グラフ「{chart.title}」は、この課の職員が読めない{what}を使うため写していません。"
                    "この課で読める同じ形の表を選んで、グラフを作り直してください。"
                )
                result.to_repoint.append(note)
                items.append({"kind": "text", "text": note, "width": item.get("width", 6)})
                continue
            document = copy.deepcopy(chart.document)
            made = Chart.objects.create(
                title=chart.title, description=chart.description, source=chart.source, owner_id=actor.user_id,
                unit_id=unit_id, table_id=chart.table_id, version_number=chart.version_number,
                document=document, sharing=Sharing.DEPARTMENT,
            )  # fmt: skip
            made.document.setdefault("meta", {})["uuid"] = str(made.uuid)
            made.save(update_fields=["document"])
            audit_record(
                actor=actor, action="chart.create", obj=made,
                changes={"table": chart.table_id, "sharing": Sharing.DEPARTMENT, "copied_from": chart.pk},
            )  # fmt: skip
            result.charts.append(made)
            items.append({**item, "chart": str(made.uuid)})
        if hidden:
            result.to_repoint.append(f"見る権限のないグラフ{hidden}件は写していません。")
        result.dashboard = Dashboard.objects.create(
            title=(title or dashboard.title).strip()[:TITLE_MAX], description=dashboard.description,
            owner_id=actor.user_id, unit_id=unit_id, sharing=Sharing.DEPARTMENT,
            filters=copy.deepcopy(dashboard.filters), items=items,
        )  # fmt: skip
        audit_record(
            actor=actor, action="dashboard.create", obj=result.dashboard,
            changes={"sharing": Sharing.DEPARTMENT, "copied_from": dashboard.pk, "charts": len(result.charts),
                     "to_repoint": len(result.to_repoint)},
        )  # fmt: skip
    return result
