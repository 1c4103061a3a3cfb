"""The catalog as a spreadsheet: the データ一覧表 the strategy asks for, as Excel and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from openpyxl.utils import get_column_letter

from machidata.access.policy import Actor
from machidata.audit.exports import titled_sheet
from machidata.audit.services import audit_record
from machidata.catalog.models import Dataset

COLUMNS: list[tuple[str, str]] = [
    ("identifier", "識別子"),
    ("title", "データ名"),
    ("description", "概要"),
    ("owner", "データ所有者（所管課）"),
    ("contact", "問い合わせ先"),
    ("category", "分野"),
    ("keywords", "キーワード"),
    ("classification", "公開区分（機密性）"),
    ("personal_data", "個人情報の区分"),
    ("location", "データの所在"),
    ("location_detail", "所在の詳細"),
    ("formats", "形式"),
    ("frequency", "更新頻度"),
    ("source", "出典"),
    ("licence", "ライセンス"),
    ("temporal", "対象期間"),
    ("spatial", "対象地域"),
    ("lg_code", "全国地方公共団体コード"),
    ("updated_at", "更新日時"),
    ("status", "状態"),
]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _guard(value: str) -> str:
    # Cells beginning with these would be evaluated as formulas by Excel (CSV injection).
    return "'" + value if value.startswith(_FORMULA_START) else value


def _row(d: Dataset) -> dict[str, str]:
    period = ""
    if d.temporal_start or d.temporal_end:
        period = f"{d.temporal_start or ''}～{d.temporal_end or ''}"
    return {
        "identifier": d.identifier,
        "title": d.title,
        "description": d.description,
        "owner": d.owner.full_name,
        "contact": " ".join(x for x in (d.contact_email, d.contact_phone) if x),
        "category": d.category.name if d.category else "",
        "keywords": "、".join(d.keywords or []),
        "classification": d.get_classification_display(),
        "personal_data": d.get_personal_data_display(),
        "location": d.get_location_display(),
        "location_detail": d.location_detail,
        "formats": "、".join(f.name for f in d.formats.all()),
        "frequency": d.get_frequency_display(),
        "source": d.get_source_display(),
        "licence": d.licence.name if d.licence else "",
        "temporal": period,
        "spatial": d.spatial,
        "lg_code": d.lg_code,
        "updated_at": timezone.localtime(d.updated_at).strftime("%Y-%m-%d %H:%M"),
        "status": "廃止" if d.is_retired else "",
    }


def _rows(datasets: Iterable[Dataset]) -> Iterable[dict[str, str]]:
    for d in datasets:
        yield {k: _guard(v) for k, v in _row(d).items()}


def catalog_csv(*, actor: Actor, datasets: Iterable[Dataset], encoding: str = "utf-8-sig") -> bytes:
    """The list as CSV: UTF-8 with BOM (Excel shows Japanese) or CP932 on request; audited."""
    if encoding not in {"utf-8-sig", "cp932"}:
        encoding = "utf-8-sig"
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([label for _, label in COLUMNS])
    count = 0
    for row in _rows(datasets):
        writer.writerow([row[key] for key, _ in COLUMNS])
        count += 1
    _audit(actor, "csv", count)
    return buf.getvalue().encode(encoding, errors="replace")


def catalog_xlsx(*, actor: Actor, datasets: Iterable[Dataset], title: str) -> bytes:
    """The list as an Excel データ一覧表 with a title row, a styled header and filters; audited."""
    wb, ws, header_row = titled_sheet(
        sheet="データ一覧表", title=title, headers=[label for _, label in COLUMNS]
    )
    count = 0
    for row in _rows(datasets):
        ws.append([row[key] for key, _ in COLUMNS])
        count += 1
    widths = {"title": 40, "description": 60, "owner": 30, "location_detail": 30}
    for idx, (key, _) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(idx)].width = widths.get(key, 16)
    ws.freeze_panes = ws.cell(row=header_row + 1, column=3)
    ws.auto_filter.ref = f"A{header_row}:{get_column_letter(len(COLUMNS))}{header_row + count}"
    _audit(actor, "xlsx", count)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _audit(actor: Actor, fmt: str, count: int) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="catalog.export",
            object_type="catalog",
            object_repr="データ一覧表",
            changes={"format": fmt, "rows": count},
        )
