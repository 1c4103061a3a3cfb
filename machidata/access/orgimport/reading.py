"""Reading organisation and staff lists from Excel (xlsx/xls) or CSV (UTF-8, UTF-8 with BOM, CP932)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Canonical column → the headings staff actually write (first is the documented one).
ORG_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("所属コード", "組織コード", "課コード"),
    "name": ("所属名", "組織名", "名称"),
    "kind": ("種別", "組織種別", "区分"),
    "parent": ("上位所属コード", "上位コード", "親所属コード"),
    "mailbox": ("代表メール", "代表メールアドレス", "メールアドレス", "メール"),
    "phone": ("代表電話", "代表電話番号", "電話番号", "電話"),
    "old_codes": ("旧所属コード", "旧コード"),
}
STAFF_COLUMNS: dict[str, tuple[str, ...]] = {
    "username": ("職員ID", "ユーザー名", "職員番号", "ユーザーID"),
    "name": ("氏名", "名前"),
    "unit": ("所属コード",),
    "role": ("役割", "権限"),
    "rank": ("職位", "職位区分", "職階"),
    "email": ("メール", "メールアドレス"),
}
ORG_REQUIRED = ("code", "name", "kind")
STAFF_REQUIRED = ("username", "unit")
_HEADER_SEARCH_ROWS = 20  # title rows above the heading are common in Excel lists


class ReadError(Exception):
    """The file cannot be read as an organisation or staff list; ``message`` is Japanese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Sheet:
    """One list read from a file: its rows by canonical column, with the row number as in the file."""

    label: str
    columns: set[str] = field(default_factory=set)
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)


def normalise(value: Any) -> str:
    """A cell as text: NFKC (全角英数字→半角), trimmed; whole floats lose their ``.0``; dates ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        value = int(value) if value.is_integer() else value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return unicodedata.normalize("NFKC", str(value)).strip()


def _heading(value: Any) -> str:
    return "".join(normalise(value).split())


def decode_text(data: bytes) -> str:
    """Decode a CSV: UTF-16 with BOM, UTF-8 (with or without BOM), CP932, else charset-normalizer's guess."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise ReadError("文字コードを判別できません。UTF-8 または Shift_JIS（CP932）で保存してください。")
    return str(best)


def _grids(path: Path, display_name: str | None = None) -> list[tuple[str, list[list[Any]]]]:
    """Every sheet of the file as (label, rows of cells); a CSV is labelled with its (uploaded) name."""
    head = path.read_bytes()[:8]
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        from python_calamine import CalamineWorkbook

        try:
            workbook = CalamineWorkbook.from_path(str(path))
            return [(name, workbook.get_sheet_by_name(name).to_python()) for name in workbook.sheet_names]
        except Exception as exc:  # calamine raises its own error types for broken workbooks
            raise ReadError(f"Excelファイルを読み込めません（{exc}）。") from exc
    text = decode_text(path.read_bytes())
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t")
    except csv.Error:
        dialect = csv.excel
    return [(display_name or path.name, list(csv.reader(io.StringIO(text), dialect)))]


def _find_header(grid: list[list[Any]], columns: dict[str, tuple[str, ...]], key: str) -> int | None:
    for index, row in enumerate(grid[:_HEADER_SEARCH_ROWS]):
        headings = {_heading(cell) for cell in row}
        if headings & set(columns[key]):
            return index
    return None


def _to_sheet(label: str, grid: list[list[Any]], header: int, columns: dict[str, tuple[str, ...]]) -> Sheet:
    headings = [_heading(cell) for cell in grid[header]]
    position: dict[str, int] = {}
    for canonical, aliases in columns.items():
        for alias in aliases:
            if alias in headings:
                position[canonical] = headings.index(alias)
                break
    sheet = Sheet(label=label, columns=set(position))
    for offset, row in enumerate(grid[header + 1 :], start=header + 2):
        values = {name: normalise(row[i]) if i < len(row) else "" for name, i in position.items()}
        if any(values.values()):
            sheet.rows.append((offset, values))
    return sheet


def _check_required(sheet: Sheet, columns: dict[str, tuple[str, ...]], required: tuple[str, ...]) -> None:
    missing = [columns[name][0] for name in required if name not in sheet.columns]
    if missing:
        raise ReadError(f"{sheet.label}: 「{'」「'.join(missing)}」の列がありません。")


def read_lists(
    org_path: Path,
    staff_path: Path | None = None,
    *,
    org_name: str | None = None,
    staff_name: str | None = None,
) -> tuple[Sheet, Sheet | None]:
    """Read the organisation list and the staff list (a second sheet of the workbook, or its own file).

    ``org_name``/``staff_name`` are the names the user knows the files by (uploads are stored under random names).
    """
    org: Sheet | None = None
    staff: Sheet | None = None
    for label, grid in _grids(org_path, org_name):
        # The staff sheet also has 所属コード, so look for its own key column first.
        staff_header = _find_header(grid, STAFF_COLUMNS, "username")
        if staff_header is not None:
            staff = staff or _to_sheet(label, grid, staff_header, STAFF_COLUMNS)
            continue
        org_header = _find_header(grid, ORG_COLUMNS, "name")
        if org_header is not None and org is None:
            org = _to_sheet(label, grid, org_header, ORG_COLUMNS)
    if org is None:
        raise ReadError(
            f"{org_path.name}: 組織表が見つかりません（「所属コード」「所属名」「種別」の見出し行が必要です）。"
        )
    _check_required(org, ORG_COLUMNS, ORG_REQUIRED)
    if staff_path is not None:
        staff = None
        for label, grid in _grids(staff_path, staff_name):
            header = _find_header(grid, STAFF_COLUMNS, "username")
            if header is not None:
                staff = _to_sheet(label, grid, header, STAFF_COLUMNS)
                break
        if staff is None:
            raise ReadError(
                f"{staff_path.name}: 職員名簿が見つかりません（「職員ID」または「ユーザー名」の見出し行が必要です）。"
            )
    if staff is not None:
        _check_required(staff, STAFF_COLUMNS, STAFF_REQUIRED)
    return org, staff
