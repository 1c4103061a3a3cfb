"""CSV export of audit events for Excel: UTF-8 with BOM by default, CP932 on request, injection-safe."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from machidata.audit.models import AuditEvent

ENCODINGS = ("utf-8", "cp932")
HEADER = (
    "ID", "日時", "実行者", "操作", "対象の種類", "対象ID", "対象", "内容", "リクエストID", "IPアドレス", "ハッシュ",
)  # fmt: skip

# A cell starting with one of these is run as a formula by Excel/LibreOffice (CSV injection, OWASP).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# Unicode characters that CP932 has under another code point (the "wave dash" problem): map them first
# so they survive instead of becoming "?".
_CP932_TWINS = str.maketrans(
    {
        "\u301c": "\uff5e",  # 〜 WAVE DASH → ～
        "\u2212": "\uff0d",  # − MINUS SIGN → －
        "\u2016": "\u2225",  # ‖ → ∥
        "\u00a2": "\uffe0",  # ¢ → ￠
        "\u00a3": "\uffe1",  # £ → ￡
        "\u00ac": "\uffe2",  # ¬ → ￢
        "\u2014": "\u2015",  # — EM DASH → ―
    }
)


def titled_sheet(*, sheet: str, title: str, headers: list[str]) -> tuple[Any, Any, int]:
    """A new workbook whose sheet starts as every list export of machidata does: a title row, the time of
    output, then a bold, shaded, wrapped header row. Returns the workbook, the sheet and the header's row
    number (the data follows it)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    ws: Any = wb.active
    ws.title = sheet
    ws.append([safe_cell(title)])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([f"出力日時: {timezone.localtime():%Y-%m-%d %H:%M}"])
    ws.append([safe_cell(h) for h in headers])
    header = 3
    for cell in ws[header]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE7F0")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    return wb, ws, header


def safe_cell(value: object) -> str:
    """A cell value as text, with a leading quote when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _row(event: AuditEvent) -> list[str]:
    local = timezone.localtime(event.created_at)
    cells: list[object] = [
        event.pk,
        local.strftime("%Y-%m-%d %H:%M:%S"),
        event.actor_label,
        event.action,
        event.object_type,
        event.object_id,
        event.object_repr,
        json.dumps(event.changes, ensure_ascii=False, sort_keys=True) if event.changes else "",
        event.request_id,
        event.ip or "",
        event.hash,
    ]
    return [safe_cell(c) for c in cells]


def events_to_csv(events: Iterable[AuditEvent], *, encoding: str = "utf-8") -> bytes:
    """Encode events as CSV bytes (CRLF lines); characters CP932 cannot hold become "?"."""
    if encoding not in ENCODINGS:
        raise ValueError(encoding)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(HEADER)
    for event in events:
        writer.writerow(_row(event))
    text = buf.getvalue()
    if encoding == "cp932":
        return text.translate(_CP932_TWINS).encode("cp932", errors="replace")
    # The BOM tells Excel the file is UTF-8; without it Japanese text opens garbled.
    return text.encode("utf-8-sig")
