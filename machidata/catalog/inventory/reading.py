"""Reading an inventory file (棚卸表: xlsx/xls or CSV in UTF-8, UTF-8 with BOM or CP932) into rows of text."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from machidata.catalog.inventory.mapping import header_key, is_known_header
from machidata.core.errors import InvalidInput

EXCEL_EXTENSIONS = frozenset({".xlsx", ".xlsm", ".xls"})
CSV_EXTENSIONS = frozenset({".csv", ".txt"})
ALLOWED_EXTENSIONS = EXCEL_EXTENSIONS | CSV_EXTENSIONS
MAX_BYTES = 20 * 1024 * 1024
# A header row is searched for among the first rows only: title rows are a few lines at most.
HEADER_SEARCH_ROWS = 30
MIN_HEADER_MATCHES = 3


@dataclass
class Sheet:
    """One sheet of an inventory file: its header row and data rows as text, numbered as in the file."""

    name: str
    header_row: int
    headers: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)


def file_sha256(content: bytes) -> str:
    """The SHA-256 of the uploaded bytes, recorded in the audit trail."""
    return hashlib.sha256(content).hexdigest()


def check_file(name: str, size: int) -> str:
    """Refuse other extensions and files over 20 MB; returns the lower-case extension."""
    ext = Path(name).suffix.lower()
    if ext not in ALLOWED_EXTENSIONS:
        raise InvalidInput(
            "Excel（.xlsx / .xls）または CSV（.csv）のファイルを選んでください。", details={"file": name}
        )
    if size > MAX_BYTES:
        raise InvalidInput("ファイルが大きすぎます（20MBまで）。", details={"file": size})
    if size == 0:
        raise InvalidInput("ファイルが空です。", details={"file": 0})
    return ext


def _cell_text(value: object) -> str:  # noqa: PLR0911 - one return per cell type reads best
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def decode_csv(content: bytes) -> str:
    """Decode CSV bytes: UTF-8 (with or without BOM) strictly, then CP932, then a best guess."""
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(content).best()
    if best is None:
        raise InvalidInput(
            "CSVファイルの文字コードを判別できません。UTF-8 または Shift_JIS で保存してください。"
        )
    return str(best)


def _csv_rows(content: bytes) -> list[list[str]]:
    text = decode_csv(content)
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",\t")
    except csv.Error:
        dialect = csv.excel
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text), dialect)]


def _open_workbook(content: bytes) -> Any:
    from python_calamine import CalamineWorkbook

    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(content))
    except Exception as exc:  # noqa: BLE001 - calamine raises several unrelated types for broken files
        raise InvalidInput(
            "Excelファイルを開けません。壊れているか、パスワードが掛かっている可能性があります。",
            details={"file": str(exc)[:200]},
        ) from None


def sheet_names(content: bytes, ext: str, file_name: str) -> list[str]:
    """The sheets of a workbook (a CSV has one, named after the file)."""
    if ext in CSV_EXTENSIONS:
        return [Path(file_name).stem or "CSV"]
    return list(_open_workbook(content).sheet_names)


def _raw_rows(content: bytes, ext: str, sheet: str | None) -> tuple[str, list[list[str]]]:
    if ext in CSV_EXTENSIONS:
        return sheet or "CSV", _csv_rows(content)
    book = _open_workbook(content)
    names = list(book.sheet_names)
    if not names:
        raise InvalidInput("ブックにシートがありません。")
    name = sheet or names[0]
    if name not in names:
        raise InvalidInput(f"シート「{name}」がありません。", details={"sheet": names})
    data = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    return name, [[_cell_text(v) for v in row] for row in data]


def raw_rows(content: bytes, *, ext: str, sheet: str | None = None) -> tuple[str, list[list[str]]]:
    """Every row of a CSV or of one sheet as text (the sheet's name and its rows), before any header is chosen."""
    return _raw_rows(content, ext, sheet)


def find_header_row(rows: list[list[str]]) -> int | None:
    """The 1-based number of the first row with at least three cells that are known inventory headers."""
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if sum(1 for cell in row if cell and is_known_header(cell)) >= MIN_HEADER_MATCHES:
            return index + 1
    return None


def _column_letter(index: int) -> str:
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _unique_headers(cells: list[str]) -> list[str]:
    headers: list[str] = []
    seen: dict[str, int] = {}
    for index, cell in enumerate(cells):
        # Line breaks inside a header cell are layout, not meaning.
        base = " ".join(cell.split()) or f"列{_column_letter(index)}"
        count = seen.get(base, 0) + 1
        seen[base] = count
        headers.append(base if count == 1 else f"{base}_{count}")
    return headers


def read_sheet(
    content: bytes, *, ext: str, file_name: str = "", sheet: str | None = None, header_row: int | None = None
) -> Sheet:
    """Read one sheet: find the header row (or use ``header_row``) and return the rows below it."""
    name, rows = _raw_rows(content, ext, sheet or (Path(file_name).stem if ext in CSV_EXTENSIONS else None))
    if header_row is None:
        header_row = find_header_row(rows)
        if header_row is None:
            raise InvalidInput(
                "見出し行（データ名・所管課などの列名が並ぶ行）が見つかりません。見出し行の番号を指定してください。",
                details={"header_row": None},
            )
    if header_row < 1 or header_row > len(rows):
        raise InvalidInput(
            f"見出し行 {header_row} はファイルの範囲外です。", details={"header_row": header_row}
        )
    header_cells = rows[header_row - 1]
    below = rows[header_row:]
    width = max([len(header_cells)] + [len(r) for r in below])
    padded_header = header_cells + [""] * (width - len(header_cells))

    def used(i: int) -> bool:
        return bool(padded_header[i]) or any(len(r) > i and r[i] for r in below)

    # Trailing columns with neither a header nor any value are dropped.
    while width > 0 and not used(width - 1):
        width -= 1
    headers = _unique_headers(padded_header[:width])
    data: list[tuple[int, list[str]]] = []
    for offset, row in enumerate(rows[header_row:], start=header_row + 1):
        cells = (row + [""] * width)[:width]
        if any(cells):
            data.append((offset, cells))
    return Sheet(name=name, header_row=header_row, headers=headers, rows=data)


def headers_signature(headers: list[str]) -> list[str]:
    """Headers in a comparable form, to recognise a saved template's layout."""
    return [header_key(h) for h in headers]
