"""The 査定 view as a file for the finance division: XLSX (a styled sheet) or CSV (UTF-8 with BOM, opens in Excel).

The rows are those the reader sees on the page (``selectors_evaluations.review_rows``), so withheld
figures stay withheld in the file; a cost that cannot be computed carries its reason in place of the
number. Each export is audited.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from django.db import transaction
from openpyxl.utils import get_column_letter

from machidata.access.policy import Actor
from machidata.audit.exports import titled_sheet
from machidata.audit.services import audit_record
from machidata.ebpm.selectors_evaluations import ReviewRow, UnitCost


def _cost(c: UnitCost) -> Any:
    return int(c.value) if c.value is not None else c.reason


def _rate(value: Decimal | None) -> Any:
    return float(round(value * 100, 1)) if value is not None else ""


def _ev(attr: str) -> Callable[[ReviewRow], Any]:
    def get(r: ReviewRow) -> Any:
        value = getattr(r.evaluation, attr) if r.evaluation is not None else None
        return "" if value is None else value

    return get


COLUMNS: Final[list[tuple[str, Callable[[ReviewRow], Any]]]] = [
    ("番号", lambda r: r.item.code),
    ("事業名", lambda r: r.item.name),
    ("所管課", lambda r: r.item.unit.name),
    ("段階", lambda r: r.item.get_stage_display()),
    ("ロジックモデル（版）", lambda r: r.model_version or "なし"),
    ("ロジックモデルの警告", lambda r: r.warnings),
    ("達成状況", lambda r: r.figures.summary),
    ("平均達成率（%）", lambda r: _rate(r.figures.mean_rate)),
    (
        "決算額（円）",
        lambda r: r.figures.settlement_yen if r.figures.settlement_yen is not None else "未入力",
    ),
    (
        "アウトプット指標",
        lambda r: r.figures.cost_per_output.indicator.name if r.figures.cost_per_output.indicator else "",
    ),
    ("アウトプット単位コスト（円）", lambda r: _cost(r.figures.cost_per_output)),
    (
        "成果指標",
        lambda r: r.figures.cost_per_outcome.indicator.name if r.figures.cost_per_outcome.indicator else "",
    ),
    ("成果単位コスト（円）", lambda r: _cost(r.figures.cost_per_outcome)),
    ("根拠の強さ", lambda r: r.evidence_label),
    ("今後の方向性", lambda r: r.direction_label),
    ("次の予算要求額（円）", _ev("next_request_amount_yen")),
    ("次の予算要求への反映", _ev("next_request_note")),
    ("自己評価", _ev("self_assessment")),
]
HEADERS: Final = [name for name, _ in COLUMNS]


def row_values(row: ReviewRow) -> list[Any]:
    """One 事業 as the cells of the export, in :data:`HEADERS` order."""
    return [get(row) for _, get in COLUMNS]


def _guard(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is kept as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _audit(actor: Actor, fmt: str, fiscal_year: int, count: int) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="ebpm.review.export",
            object_type="ebpm.review",
            object_id=str(fiscal_year),
            changes={"format": fmt, "fiscal_year": fiscal_year, "rows": count},
        )


def review_csv(*, actor: Actor, rows: list[ReviewRow], fiscal_year: int) -> bytes:
    """The 査定 view as CSV in UTF-8 with BOM (Excel reads the Japanese); audited."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow([_guard(v) for v in row_values(row)])
    _audit(actor, "csv", fiscal_year, len(rows))
    return buf.getvalue().encode("utf-8-sig")


def review_xlsx(*, actor: Actor, rows: list[ReviewRow], fiscal_year: int, title: str) -> bytes:
    """The 査定 view as an Excel sheet: title, date, a styled header with filters, one row per 事業; audited."""
    wb, ws, header = titled_sheet(sheet="査定一覧", title=title, headers=list(HEADERS))
    for row in rows:
        ws.append([_guard(v) for v in row_values(row)])
    widths = {"事業名": 36, "所管課": 20, "達成状況": 24, "次の予算要求への反映": 40, "自己評価": 60}
    for idx, name in enumerate(HEADERS, start=1):
        ws.column_dimensions[get_column_letter(idx)].width = widths.get(name, 16)
    ws.freeze_panes = ws.cell(row=header + 1, column=3)
    ws.auto_filter.ref = f"A{header}:{get_column_letter(len(HEADERS))}{header + len(rows)}"
    out = io.BytesIO()
    wb.save(out)
    _audit(actor, "xlsx", fiscal_year, len(rows))
    return out.getvalue()
