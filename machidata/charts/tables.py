"""A chart's data as a file: CSV (UTF-8 with BOM, for Excel) or XLSX, with the labels shown on screen."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from openpyxl import Workbook
from openpyxl.styles import Font

from machidata.audit.exports import safe_cell
from machidata.charts.pivot import HIDDEN, KIND_LABELS, TOTAL, Pivot
from machidata.charts.vegalite import LABEL_GRAINS, Column, grain_label

XLSX_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def data_rows(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], *, wareki: bool = True
) -> list[list[Any]]:
    """Cells with time buckets labelled (令和5年度) and numbers kept as numbers."""
    out = []
    for r in rows:
        line: list[Any] = []
        for c in columns:
            v = r.get(c.name)
            if c.grain in LABEL_GRAINS:
                v = grain_label(v, c.grain, wareki=wareki)
            elif isinstance(v, Decimal):
                v = float(v)
            line.append(v)
        out.append(line)
    return out


def _text(value: Any) -> Any:
    """Strings guarded against formula injection; numbers and dates as they are."""
    if isinstance(value, str):
        return safe_cell(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def pivot(
    header: list[str], body: list[list[Any]], *, row_key: str, column_key: str, value: str
) -> tuple[list[str], list[list[Any]]]:
    """Long rows (x, series, value) as a matrix: one line per x, one column per series, as the chart shows them."""
    ri, ci, vi = header.index(row_key), header.index(column_key), header.index(value)
    row_keys: dict[Any, None] = {}
    col_keys: dict[Any, None] = {}
    cells: dict[tuple[Any, Any], Any] = {}
    for line in body:
        row_keys.setdefault(line[ri])
        col_keys.setdefault(line[ci])
        cells[(line[ri], line[ci])] = line[vi]
    out_header = [row_key, *(str(c) for c in col_keys)]
    return out_header, [[r, *(cells.get((r, c)) for c in col_keys)] for r in row_keys]


def data_file(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], *, fmt: str, title: str, source: str = "",
    wareki: bool = True, pivot_by: tuple[str, str, str] | None = None, note: str = "",
) -> tuple[bytes, str, str]:  # fmt: skip
    """CSV or XLSX bytes of the chart's data (``pivot_by`` = (x, series, value) pivots it); returns (content, type, ext)."""
    header = [c.name for c in columns]
    body = data_rows(rows, columns, wareki=wareki)
    if pivot_by is not None and all(k in header for k in pivot_by):
        header, body = pivot(header, body, row_key=pivot_by[0], column_key=pivot_by[1], value=pivot_by[2])
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow([safe_cell(h) for h in header])
        for line in body:
            writer.writerow([_text(v) for v in line])
        if note:
            writer.writerow([safe_cell(note)])
        return buf.getvalue().encode("utf-8-sig"), "text/csv; charset=utf-8", "csv"
    if fmt == "xlsx":
        wb = Workbook()
        ws = wb.active
        assert ws is not None  # a new workbook always has a sheet
        ws.title = "データ"
        ws.append([safe_cell(title)])
        if source:
            ws.append([safe_cell(f"出典: {source}")])
        ws.append([])
        ws.append([safe_cell(h) for h in header])
        for line in body:
            ws.append([_text(v) if isinstance(v, str) else v for v in line])
        if note:
            ws.append([])
            ws.append([safe_cell(note)])
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue(), XLSX_TYPE, "xlsx"
    raise ValueError(fmt)


KIND_HEADER: Final = "区分"


def pivot_note(pivot: Pivot) -> str:
    """The line under a pivot that says what ＊ means (empty when nothing is hidden)."""
    if not pivot.hidden:
        return ""
    return (
        f"{HIDDEN}: 課の外に出す表のため、{pivot.threshold}未満の小さい数と、"
        "小計・合計から計算できてしまうセルを秘匿しています。"
    )


def pivot_file(pivot: Pivot, *, fmt: str, title: str, source: str = "") -> tuple[bytes, str, str]:
    """A pivot as CSV or XLSX: a 区分 column (明細・小計・合計) first, numbers as numbers, ＊ where suppressed.

    In XLSX the 小計 and 合計 lines and columns are bold as well.
    """
    keys = pivot.row_names or ["（全体）"]
    header = [KIND_HEADER, *keys, *(pivot.col_label(j) for j in range(len(pivot.cols)))]
    body = []
    for i, row_line in enumerate(pivot.rows):
        labels = list(row_line.labels) if pivot.row_names else [TOTAL]
        body.append([KIND_LABELS[row_line.kind], *labels, *(pivot.raw(i, j) for j in range(len(pivot.cols)))])
    note = pivot_note(pivot)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow([safe_cell(h) for h in header])
        for line in body:
            writer.writerow([_text(v) for v in line])
        if note:
            writer.writerow([safe_cell(note)])
        return buf.getvalue().encode("utf-8-sig"), "text/csv; charset=utf-8", "csv"
    if fmt == "xlsx":
        wb = Workbook()
        ws = wb.active
        assert ws is not None  # a new workbook always has a sheet
        ws.title = "ピボット表"
        ws.append([safe_cell(title)])
        if source:
            ws.append([safe_cell(f"出典: {source}")])
        ws.append([])
        bold = Font(bold=True)
        ws.append([safe_cell(h) for h in header])
        for cell in ws[ws.max_row]:
            cell.font = bold
        first = len(keys) + 1
        for i, line in enumerate(body):
            ws.append([_text(v) if isinstance(v, str) else v for v in line])
            strong_line = pivot.rows[i].kind != "detail"
            for k, cell in enumerate(ws[ws.max_row]):
                if strong_line or k <= len(keys) or pivot.cols[k - first].kind != "detail":
                    cell.font = bold
        if note:
            ws.append([])
            ws.append([safe_cell(note)])
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue(), XLSX_TYPE, "xlsx"
    raise ValueError(fmt)
