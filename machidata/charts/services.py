"""Writing charts: create, update (optimistic lock), delete, and the audited export."""

from __future__ import annotations

from typing import Any, Final

from django.db import transaction
from django.utils import timezone

from machidata.access.models import Membership
from machidata.access.policy import Actor
from machidata.audit.services import audit_record
from machidata.charts.models import Chart, Sharing
from machidata.charts.render import FORMATS, render
from machidata.charts.selectors import document_render, document_table, may_edit
from machidata.charts.tables import data_file
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
    if not actor.is_authenticated:
        raise PermissionDenied("グラフを保存するにはログインしてください。")
    document = _check(actor=actor, title=title, sharing=sharing, document=document)
    table, _version = document_table(actor=actor, document=document)
    ref = document["query"]["table"]
    document["meta"] = {"title": title.strip(), "description": description, "source": source}
    with transaction.atomic():
        chart = Chart.objects.create(
            title=title.strip(), description=description, source=source, owner_id=actor.user_id,
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
    if fmt in FORMATS:
        content = render(rendered.spec, fmt)
        content_type, ext = FORMATS[fmt]
    else:
        options = (chart.document.get("visual") or {}).get("options") or {}
        content, content_type, ext = data_file(
            rendered.data.rows,
            rendered.data.columns,
            fmt=fmt,
            title=chart.title,
            source=chart.source,
            wareki=options.get("era") != "western",
        )
    with transaction.atomic():
        audit_record(
            actor=actor, action="chart.export", obj=chart,
            changes={"format": fmt, "version": rendered.data.version.number if rendered.data.version else None},
        )  # fmt: skip
    return content, content_type, ext
