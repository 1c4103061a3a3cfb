"""The Excel template (様式) of a campaign, one per recipient, and the checks of a returned file's identity and header.

Written with openpyxl. The workbook has three sheets:

* ``回答`` — the header row (the table's columns, locked: the sheet is protected) and ``MAX_ROWS``
  unlocked data rows with data validation taken from the 項目定義: a list for ``enum`` and booleans,
  whole/decimal numbers within ``minimum``/``maximum``, dates; a comment on each header says what to write.
* ``説明`` — the campaign, the recipient, the deadline, the instructions and one line per column.
* ``_machidata`` — very hidden: the campaign id, the recipient id and a signature of both
  (``django.core.signing``), so a file made for another campaign or recipient is recognised.

Sheet protection here is a guard against slips, not a security boundary (Excel lets anyone remove
it); the header is therefore checked again on return (:func:`check_header`).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from django.core import signing
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from machidata.core.errors import InvalidInput

DATA_SHEET: Final = "回答"
HELP_SHEET: Final = "説明"
META_SHEET: Final = "_machidata"
CHOICES_SHEET: Final = "選択肢"
MAX_ROWS: Final = 1000  # data rows prepared (unlocked, validated) below the header
_SALT: Final = "machidata.collect.template"
_INLINE_LIST_MAX: Final = 250  # Excel refuses an inline list formula longer than 255 characters
TYPE_LABELS: Final = {
    "string": "文字",
    "integer": "整数",
    "number": "数値",
    "boolean": "はい/いいえ",
    "date": "日付",
    "datetime": "日時",
    "time": "時刻",
    "year": "西暦年",
    "yearmonth": "年月",
    "geojson": "GeoJSON",
}


@dataclass(frozen=True)
class TemplateIdentity:
    """What the hidden sheet of a returned file says it was made for."""

    campaign_id: int
    recipient_id: int


def sign_identity(campaign_id: int, recipient_id: int) -> str:
    """The signature stored in the hidden sheet."""
    return signing.Signer(salt=_SALT).sign(f"{campaign_id}:{recipient_id}")


def _constraint_text(col: dict[str, Any]) -> str:
    parts = []
    if col.get("required"):
        parts.append("必須")
    if col.get("enum"):
        parts.append("選択肢: " + "、".join(str(e) for e in col["enum"]))
    if col.get("minimum") is not None:
        parts.append(f"{col['minimum']}以上")
    if col.get("maximum") is not None:
        parts.append(f"{col['maximum']}以下")
    if col.get("unit"):
        parts.append(f"単位: {col['unit']}")
    return "、".join(parts)


def _validation(ws: Any, wb: Workbook, col: dict[str, Any], letter: str) -> DataValidation | None:
    """The data validation of one column from its 項目定義 (None when Excel has nothing to check)."""
    ftype = col.get("type", "string")
    enum = col.get("enum")
    if ftype == "boolean" and not enum:
        enum = [col.get("true_value") or "はい", col.get("false_value") or "いいえ"]
    dv: DataValidation | None = None
    if enum:
        inline = ",".join(str(e) for e in enum)
        if len(inline) <= _INLINE_LIST_MAX and "," not in "".join(str(e) for e in enum):
            dv = DataValidation(type="list", formula1=f'"{inline}"', allow_blank=True)
        else:
            sheet = wb[CHOICES_SHEET] if CHOICES_SHEET in wb.sheetnames else wb.create_sheet(CHOICES_SHEET)
            sheet.sheet_state = "hidden"
            c = sheet.max_column + 1 if sheet.max_row > 1 or sheet["A1"].value is not None else 1
            for i, value in enumerate(enum, start=1):
                sheet.cell(row=i, column=c, value=str(value))
            cl = get_column_letter(c)
            dv = DataValidation(
                type="list",
                formula1=f"{quote_sheetname(CHOICES_SHEET)}!${cl}$1:${cl}${len(enum)}",
                allow_blank=True,
            )
        dv.error = "選択肢から選んでください。"
    elif ftype in {"integer", "number", "year"}:
        lo, hi = col.get("minimum"), col.get("maximum")
        kind = "decimal" if ftype == "number" else "whole"
        lo = -(10**12) if lo is None else lo
        hi = 10**12 if hi is None else hi
        dv = DataValidation(
            type=kind, operator="between", formula1=str(lo), formula2=str(hi), allow_blank=True
        )
        what = "整数" if kind == "whole" else "数値"
        dv.error = f"{what}を入力してください" + (
            f"（{col.get('minimum')}〜{col.get('maximum')}）。"
            if col.get("minimum") is not None or col.get("maximum") is not None
            else "。"
        )
    elif ftype in {"date", "datetime"}:
        dv = DataValidation(
            type="date",
            operator="between",
            formula1="DATE(1900,1,1)",
            formula2="DATE(2200,12,31)",
            allow_blank=True,
        )
        dv.error = "日付を入力してください（例: 2025/4/1）。"
    if dv is None:
        return None
    dv.errorTitle = f"「{col['header']}」に入力できない値です"
    dv.showErrorMessage = True
    dv.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
    ws.add_data_validation(dv)
    return dv


def build_template(
    *,
    campaign_id: int,
    recipient_id: int,
    title: str,
    recipient: str,
    deadline: dt.date,
    instructions: str,
    columns: Sequence[dict[str, Any]],
    owner: str,
) -> bytes:
    """The .xlsx bytes of one recipient's template."""
    wb = Workbook()
    _data_sheet(wb, columns)
    lines: list[tuple[str, str]] = [
        ("照会", title),
        ("照会番号", str(campaign_id)),
        ("回答先", recipient),
        ("締切日", f"{deadline:%Y年%m月%d日}"),
        ("照会した課", owner),
        ("記入のお願い", instructions or "（特記事項なし）"),
        (
            "記入のしかた",
            f"「{DATA_SHEET}」シートの2行目から、1行に1件ずつ入力してください。1行目（見出し）は変えないでください。"
            "入力したら、このファイルのまま まちデータの照会のページから提出してください。",
        ),
    ]
    _help_sheet(wb, lines, columns)
    meta = wb.create_sheet(META_SHEET)
    meta["A1"], meta["B1"] = "campaign", campaign_id
    meta["A2"], meta["B2"] = "recipient", recipient_id
    meta["A3"], meta["B3"] = "signature", sign_identity(campaign_id, recipient_id)
    meta.sheet_state = "veryHidden"
    meta.protection.sheet = True
    wb.active = wb.sheetnames.index(DATA_SHEET)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


_HEAD_FONT: Final = Font(bold=True)


def _data_sheet(wb: Workbook, columns: Sequence[dict[str, Any]]) -> None:
    """The 回答 sheet: locked header with a note per column, unlocked validated data rows, sheet protected."""
    ws = wb.active
    assert ws is not None
    ws.title = DATA_SHEET
    head_fill = PatternFill("solid", fgColor="DDEBF7")
    for i, col in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=i, value=col["header"])
        cell.font = _HEAD_FONT
        cell.fill = head_fill
        cell.protection = Protection(locked=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        note = _constraint_text(col)
        text = f"{TYPE_LABELS.get(col.get('type', 'string'), '文字')}" + (f"（{note}）" if note else "")
        if col.get("description"):
            text += f"\n{col['description']}"
        cell.comment = Comment(text, "まちデータ")
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = max(12, min(40, len(str(col["header"])) * 2 + 4))
        unlocked = Protection(locked=False)
        number_format = "yyyy-mm-dd" if col.get("type") == "date" else None
        for r in range(2, MAX_ROWS + 2):
            c = ws.cell(row=r, column=i)
            c.protection = unlocked
            if number_format:
                c.number_format = number_format
        _validation(ws, wb, col, letter)
    ws.freeze_panes = "A2"
    ws.protection.sheet = True
    # In Excel's terms these flags *lock* an action: column widths may be changed, data rows deleted
    # (a row holding a locked header cell cannot be), rows inserted only where Excel allows.
    ws.protection.formatColumns = False
    ws.protection.deleteRows = False


def _help_sheet(wb: Workbook, lines: list[tuple[str, str]], columns: Sequence[dict[str, Any]]) -> None:
    """The 説明 sheet, first in the workbook: the campaign and one line per column."""
    info = wb.create_sheet(HELP_SHEET, 0)
    for r, (k, v) in enumerate(lines, start=1):
        info.cell(row=r, column=1, value=k).font = _HEAD_FONT
        info.cell(row=r, column=2, value=v).alignment = Alignment(wrap_text=True, vertical="top")
    start = len(lines) + 2
    for c, h in enumerate(("項目", "型", "入力のきまり", "説明"), start=1):
        info.cell(row=start, column=c, value=h).font = _HEAD_FONT
    for r, col in enumerate(columns, start=start + 1):
        info.cell(row=r, column=1, value=col["header"])
        info.cell(row=r, column=2, value=TYPE_LABELS.get(col.get("type", "string"), "文字"))
        info.cell(row=r, column=3, value=_constraint_text(col))
        info.cell(row=r, column=4, value=col.get("description", ""))
    for letter, width in (("A", 18), ("B", 60), ("C", 30), ("D", 40)):
        info.column_dimensions[letter].width = width


def read_identity(path: Path) -> TemplateIdentity:
    """The campaign and recipient a returned workbook was made for; a Japanese refusal if it is not one of ours."""
    not_ours = InvalidInput(
        "このファイルは照会の様式ではありません。まちデータからダウンロードした様式に入力して提出してください"
        "（別のファイルに写した場合は、様式の「回答」シートに貼り付けてください）。"
    )
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise InvalidInput(
            "ファイルを Excel（.xlsx）として読めません。ダウンロードした様式を Excel で保存して提出してください。"
        ) from exc
    try:
        if META_SHEET not in wb.sheetnames or DATA_SHEET not in wb.sheetnames:
            raise not_ours
        values = {
            row[0]: row[1]
            for row in wb[META_SHEET].iter_rows(min_row=1, max_row=3, max_col=2, values_only=True)
        }
    finally:
        wb.close()
    try:
        campaign_id, recipient_id = int(values.get("campaign")), int(values.get("recipient"))  # type: ignore[arg-type]
        expected = signing.Signer(salt=_SALT).unsign(str(values.get("signature") or ""))
    except (TypeError, ValueError, signing.BadSignature):
        raise not_ours from None
    if expected != f"{campaign_id}:{recipient_id}":
        raise not_ours
    return TemplateIdentity(campaign_id=campaign_id, recipient_id=recipient_id)


def check_header(found: Sequence[str], expected: Sequence[str]) -> None:
    """Refuse a return whose header row was altered, naming the first columns that differ (Japanese)."""
    problems = []
    for i, want in enumerate(expected):
        got = found[i] if i < len(found) else None
        if got != want:
            where = f"{get_column_letter(i + 1)}列"
            if got is None or got == "":
                problems.append(f"{where}の見出し「{want}」がありません")
            else:
                problems.append(f"{where}の見出しが「{want}」から「{got}」に変わっています")
    for i in range(len(expected), len(found)):
        if found[i]:
            problems.append(f"{get_column_letter(i + 1)}列に様式にない列「{found[i]}」があります")
    if problems:
        raise InvalidInput(
            "様式の見出し（1行目）が変えられているため受け付けられません: "
            + "。".join(problems[:5])
            + "。見出しを元に戻すか、様式をダウンロードし直して入力してください。",
            details={"header": problems},
        )
