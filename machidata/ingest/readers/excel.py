"""Excel xlsx/xlsm/xls and ods through python-calamine: sheets, merged cells, the table block, text values.

* Before anything is opened, a zip-based file (xlsx/xlsm/ods) is checked from its central directory
  (``zipfile.ZipFile.infolist``): more than ``MAX_XLSX_UNCOMPRESSED`` (1 GB) uncompressed, or more than
  100 MB at a ratio above ``MAX_XLSX_RATIO`` (100), is refused as a zip bomb.
* Macros (``vbaProject.bin``) and external links (``externalLinks/``) are reported in
  ``detection["warnings"]``; calamine only reads stored cell values, so nothing is ever executed and
  no link is followed (a linked cell gives the value Excel cached when the file was saved).
* A sheet is read with ``to_python(skip_empty_area=True)``: formatting that runs down to row 65,535
  does not produce empty rows. Merged ranges are filled with their top-left value, then
  :func:`machidata.ingest.block.detect_block` finds title, header (大項目_小項目), totals and notes.
* Cell values become the text a user sees: integers without ``.0``, other numbers by ``repr``, dates
  ``YYYY-MM-DD``, date-times ``YYYY-MM-DD HH:MM:SS``, times ``HH:MM:SS``, booleans ``TRUE``/``FALSE``.
  Text is kept as is (not stripped). The cell types are lost in text, so ``detection["cell_types"]``
  counts per column the real ``date``/``number``/``text``/``boolean`` cells for inference.
* ``ReadOptions.sheets``: several sheets of the same columns are combined, with a first column
  ``シート名``; a sheet with different columns is refused naming it and the differing columns.
  ``detection["combinable_sheets"]`` lists the sheets whose header matches the first chosen sheet.
* ``ReadOptions.header_row`` is the Excel row number (1-based, as shown in Excel) where the header
  starts; ``skip_rows`` skips that many rows above the used area's first row.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from machidata.core.errors import InvalidInput
from machidata.ingest.block import TableBlock, detect_block
from machidata.ingest.readers.base import (
    MAX_XLSX_RATIO,
    MAX_XLSX_UNCOMPRESSED,
    SHEET_COLUMN,
    ReadOptions,
    Source,
    check_columns,
    rows_to_batches,
)

_BIG = 100 * 1024 * 1024


def check_zip(path: Path, size: int) -> list[str]:
    """Refuse zip bombs from the central directory; return warnings for macros and external links."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidInput(
            f"「{path.name}」は Excel ファイルとして読めません（壊れているか、別の形式です）。"
        ) from exc
    total = sum(i.file_size for i in infos)
    ratio = total / max(1, size)
    worst = max((i.file_size / max(1, i.compress_size) for i in infos if i.file_size > _BIG), default=0.0)
    if total > MAX_XLSX_UNCOMPRESSED or (total > _BIG and max(ratio, worst) > MAX_XLSX_RATIO):
        raise InvalidInput(
            f"「{path.name}」は展開すると {total / 1024 / 1024:,.0f} MB（圧縮率 {ratio:,.0f} 倍）になるため、"
            "安全のため読み込みません（ZIP 爆弾の疑い）。CSV で保存し直したファイルを使ってください。"
        )
    names = [i.filename for i in infos]
    warnings = []
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        warnings.append("マクロ（VBA）が含まれています。マクロは実行せず、セルの値だけを読み込みました。")
    if any("externallink" in n.lower() for n in names):
        warnings.append(
            "外部ファイルへのリンクが含まれています。リンク先は参照せず、保存時点の値だけを読み込みました。"
        )
    return warnings


def cell_text(value: Any) -> str | None:  # noqa: PLR0911 - one return per cell type
    """The text a user sees in the cell (None for an empty cell)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="microseconds" if value.microsecond else "seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


def _kind(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dt.date | dt.datetime | dt.time | dt.timedelta):
        return "date"
    return "text"


class _Sheet:
    """One sheet read and its table block located."""

    def __init__(self, sheet: Any, options: ReadOptions) -> None:
        self.name: str = sheet.name
        try:
            grid = sheet.to_python(skip_empty_area=True)
        except Exception as exc:
            raise InvalidInput(f"シート「{self.name}」を読めません（{exc}）。") from exc
        r0, c0 = sheet.start or (0, 0)
        merged = [
            (a[0] - r0, a[1] - c0, b[0] - r0, b[1] - c0)
            for a, b in (sheet.merged_cell_ranges or [])
            if a[0] >= r0 and a[1] >= c0
        ]
        self.first_row = r0
        self.grid = _fill(grid, merged)
        header_row = None
        if options.skip_rows is not None:
            header_row = options.skip_rows
        elif options.header_row is not None:
            header_row = options.header_row - 1 - r0
            if header_row < 0 or header_row >= len(grid):
                raise InvalidInput(f"シート「{self.name}」の {options.header_row} 行目には表がありません。")
        self.block: TableBlock = detect_block(self.grid, header_row=header_row)
        self.merged = bool(merged)

    @property
    def empty(self) -> bool:
        """No table in the sheet."""
        return not self.block.columns

    def rows(self) -> Iterator[list[Any]]:
        """The data rows as cell values in block column order."""
        cols = self.block.column_indexes
        for r in self.block.data_row_indexes():
            row = self.grid[r]
            yield [row[c] if c < len(row) else None for c in cols]


def _fill(grid: list[list[Any]], merged: list[tuple[int, int, int, int]]) -> list[list[Any]]:
    """Merged ranges take their top-left value everywhere (as detect_block does internally)."""
    if not merged:
        return grid
    out = [list(r) for r in grid]
    for r0, c0, r1, c1 in merged:
        if r0 >= len(out) or c0 >= len(out[r0]):
            continue
        value = out[r0][c0]
        for r in range(r0, min(r1, len(out) - 1) + 1):
            for c in range(c0, min(c1, len(out[r]) - 1) + 1):
                out[r][c] = value
    return out


def _open(path: Path) -> Any:
    from python_calamine import CalamineWorkbook

    try:
        return CalamineWorkbook.from_path(str(path))
    except Exception as exc:
        message = "パスワードで保護されています" if "assword" in str(exc) else "壊れているか、別の形式です"
        raise InvalidInput(f"「{path.name}」は Excel ファイルとして読めません（{message}）。") from exc


def read_excel(path: Path, options: ReadOptions, *, fmt: str, size: int) -> Source:  # noqa: PLR0912, PLR0915
    """Read the chosen sheets (default: the first with a table) as one all-text table."""
    warnings = check_zip(path, size) if fmt in ("xlsx", "xlsm", "ods") else []
    workbook = _open(path)
    try:
        names = list(workbook.sheet_names)
        kinds = {m.name: str(m.typ) for m in workbook.sheets_metadata}
        worksheets = [n for n in names if "Chart" not in kinds.get(n, "")]
        if options.sheets:
            missing = [s for s in options.sheets if s not in names]
            if missing:
                raise InvalidInput(
                    f"シート「{'」「'.join(missing)}」はありません。あるシート: {'、'.join(names)}"
                )
            sheets = [_Sheet(workbook.get_sheet_by_name(n), options) for n in options.sheets]
            empty = [s.name for s in sheets if s.empty]
            if empty:
                raise InvalidInput(f"シート「{'」「'.join(empty)}」に表が見つかりません。")
        else:
            sheets = []
            for n in worksheets:
                sheet = _Sheet(workbook.get_sheet_by_name(n), options)
                if not sheet.empty:
                    sheets = [sheet]
                    break
            if not sheets:
                raise InvalidInput("どのシートにも表が見つかりません（空のブックです）。")
        combinable = _combinable(workbook, worksheets, sheets[0], options)
    finally:
        workbook.close()
    first = sheets[0]
    columns = list(first.block.columns)
    for other in sheets[1:]:
        if other.block.columns != columns:
            extra = [c for c in other.block.columns if c not in columns]
            lacking = [c for c in columns if c not in other.block.columns]
            detail = []
            if lacking:
                detail.append(f"ない列: {'、'.join(lacking)}")
            if extra:
                detail.append(f"余分な列: {'、'.join(extra)}")
            if not detail:
                detail.append("列の順番が違います")
            raise InvalidInput(
                f"シート「{other.name}」の列がシート「{first.name}」と違うため、1 つの表にまとめられません"
                f"（{'／'.join(detail)}）。"
            )
    combined = len(sheets) > 1
    out_columns = [SHEET_COLUMN, *columns] if combined else columns
    if combined and SHEET_COLUMN in columns:
        raise InvalidInput(f"列名「{SHEET_COLUMN}」は、複数シートをまとめるときに使うため使えません。")
    check_columns(out_columns)
    cell_types: dict[str, dict[str, int]] = {
        c: {"date": 0, "number": 0, "text": 0, "boolean": 0} for c in columns
    }
    rows: list[list[str | None]] = []
    for sheet in sheets:
        for values in sheet.rows():
            for name, value in zip(columns, values, strict=True):
                kind = _kind(value)
                if kind:
                    cell_types[name][kind] += 1
            texts = [cell_text(v) for v in values]
            rows.append([sheet.name, *texts] if combined else texts)
    detection: dict[str, Any] = {
        "format": fmt,
        "sheets": [s.name for s in sheets],
        "sheet_names": names,
        "combinable_sheets": combinable,
        "header_row": first.first_row + first.block.header_start + 1,
        "header_rows": first.block.header_rows,
        # 1-based sheet row of the first data row (rows named in reports are the sheet's rows)
        "data_start_row": first.first_row + first.block.header_start + 1 + first.block.header_rows,
        "title": first.block.title,
        "notes": [n for s in sheets for n in s.block.notes],
        "totals": [
            " ".join(t for v in s.grid[r] if (t := cell_text(v))) for s in sheets for r in s.block.total_rows
        ],
        "total_rows_removed": sum(len(s.block.total_rows) for s in sheets),
        "filled_down": first.block.filled_down,
        "merged_cells": any(s.merged for s in sheets),
        "cell_types": cell_types,
        "warnings": warnings,
        "rows_total": len(rows),
        "rows_per_sheet": {s.name: len(s.block.data_row_indexes()) for s in sheets},
    }
    return Source(
        format=fmt,
        columns=out_columns,
        batches=rows_to_batches(rows, out_columns, options.batch_rows),
        detection=detection,
        sheet_names=names,
    )


def _combinable(workbook: Any, worksheets: list[str], first: _Sheet, options: ReadOptions) -> list[str]:
    """Sheets whose header (read from their first rows only) matches the first chosen sheet's."""
    out = []
    for name in worksheets:
        if name == first.name:
            out.append(name)
            continue
        try:
            sheet = workbook.get_sheet_by_name(name)
            grid = sheet.to_python(skip_empty_area=True, nrows=60)
        except Exception:  # noqa: BLE001, S112 - an unreadable sheet is simply not offered
            continue
        if grid and detect_block(grid).columns == first.block.columns:
            out.append(name)
    return out
