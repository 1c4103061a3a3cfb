"""Find the table block in a messy sheet: title rows, multi-row merged headers, totals and notes.

Works on a grid of cell values (what an Excel reader returns, or the first rows of a CSV) and gives
back where the header and the data are, the flattened column names (大項目_小項目), and what was
removed from the data and kept as metadata (titles, notes, 合計 rows). Pure Python, no Django.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

Cell = Any
Grid = list[list[Cell]]
# (first_row, first_col, last_row, last_col), zero-based and inclusive, as python-calamine reports them.
MergedRange = tuple[int, int, int, int]

MAX_HEADER_ROWS = 4
TOTAL_WORDS = ("合計", "総計", "小計", "計", "総数", "全体", "市計", "区計", "全市")
NOTE_PREFIX = re.compile(r"^\s*[（(]?\s*(注|※|資料|出典|備考|出所|（注）|\*|＊)")
_NUMBERISH = re.compile(r"^[\s▲△\-－+＋]?[0-9０-９,，.．]+[%％]?\s*$")
_DATEISH = re.compile(
    r"^\s*((明治|大正|昭和|平成|令和|[MTSHR])\s*[0-9０-９元]+|[0-9０-９]{4})\s*[年./\-／]\s*[0-9０-９]{1,2}"
)


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _is_empty(value: Cell) -> bool:
    return _text(value) == ""


def _is_data_like(value: Cell) -> bool:
    """A number, a date, or text that reads as one (header cells are words, not values)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float | dt.date | dt.datetime | dt.time):
        return True
    text = _text(value)
    return bool(text) and bool(_NUMBERISH.match(text) or _DATEISH.match(text))


@dataclass
class TableBlock:
    """Where the table is in a grid and what was kept aside."""

    header_start: int  # first header row (index into the grid)
    header_rows: int  # how many rows the header spans
    data_start: int
    data_end: int  # exclusive
    columns: list[str]  # flattened, unique names
    column_indexes: list[int]  # grid column of each name (spacer columns dropped)
    title: list[str] = field(default_factory=list)  # rows above the header
    notes: list[str] = field(default_factory=list)  # 注/資料/出典 rows below (or inside) the table
    total_rows: list[int] = field(default_factory=list)  # grid rows of 合計/小計, removed from the data
    filled_down: list[str] = field(default_factory=list)  # columns whose merged cells were filled down
    skipped_rows: list[int] = field(default_factory=list)  # blank spacer rows inside the data

    def data_row_indexes(self) -> list[int]:
        """Grid rows that hold data."""
        skip = set(self.total_rows) | set(self.skipped_rows) | self._note_rows
        return [r for r in range(self.data_start, self.data_end) if r not in skip]

    _note_rows: set[int] = field(default_factory=set, repr=False)


def _row_width(row: Sequence[Cell]) -> int:
    return sum(1 for v in row if not _is_empty(v))


def _fill_merged(grid: Grid, merged: Sequence[MergedRange]) -> tuple[Grid, set[tuple[int, int]]]:
    """Copy each merged range's top-left value into the whole range; return the cells that were filled."""
    out = [list(r) for r in grid]
    filled: set[tuple[int, int]] = set()
    for r0, c0, r1, c1 in merged:
        if r0 >= len(out):
            continue
        value = out[r0][c0] if c0 < len(out[r0]) else None
        for r in range(r0, min(r1, len(out) - 1) + 1):
            for c in range(c0, c1 + 1):
                if c < len(out[r]) and (r, c) != (r0, c0):
                    out[r][c] = value
                    filled.add((r, c))
    return out, filled


def _is_note(row: Sequence[Cell]) -> bool:
    texts = [_text(v) for v in row if not _is_empty(v)]
    return bool(texts) and len(texts) <= 2 and bool(NOTE_PREFIX.match(texts[0]))


def _is_total(row: Sequence[Cell], cols: Sequence[int]) -> bool:
    # 合計 appears in one of the first (label) columns, not in the middle of the values.
    for c in cols[:3]:
        text = unicodedata.normalize("NFKC", _text(row[c]) if c < len(row) else "").replace(" ", "")
        if text in TOTAL_WORDS or (text.endswith(("合計", "総計", "小計")) and len(text) <= 8):
            return True
    return False


def _flatten(parts: list[str]) -> str:
    seen: list[str] = []
    for p in parts:
        p = re.sub(r"\s*\n\s*", "", p).strip()  # noqa: PLW2901 - a header cell with a line break is one name
        if p and (not seen or seen[-1] != p):
            seen.append(p)
    return "_".join(seen)


def _unique(names: list[str]) -> list[str]:
    counts: Counter[str] = Counter()
    out = []
    for i, name in enumerate(names):
        base = name or f"列{i + 1}"
        counts[base] += 1
        out.append(base if counts[base] == 1 else f"{base}_{counts[base]}")
    return out


def _count_header_rows(
    rows: Grid, start: int, *, n: int, cols: list[int], widths: list[int], filled: set[tuple[int, int]]
) -> int:
    """Rows of words from ``start`` until one looks like data in the columns that are mostly data below.

    Merged cells filled from above count as words.
    """
    body_sample = rows[start + 1 : min(n, start + 200)]
    data_cols = [
        c
        for c in cols
        if body_sample and sum(_is_data_like(r[c]) for r in body_sample) >= max(1, len(body_sample) // 2)
    ]
    header_rows = 1
    while header_rows < MAX_HEADER_ROWS and start + header_rows < n:
        row = rows[start + header_rows]
        if _is_note(row) or widths[start + header_rows] == 0:
            break
        if data_cols:
            if any(_is_data_like(row[c]) for c in data_cols):
                break
        else:
            # An all-text table: a second header row exists only if it is made of merged-header leftovers,
            # i.e. the row above had cells merged across columns.
            above = start + header_rows - 1
            if not any((above, c) in filled and rows[above][c] == rows[above][c - 1] for c in cols if c > 0):
                break
        header_rows += 1
    return header_rows


def _header_names(rows: Grid, start: int, header_rows: int, cols: list[int]) -> list[str]:
    """Fill 大項目 to the right across blanks in the upper header rows, then join top to bottom."""
    header = [list(rows[r]) for r in range(start, start + header_rows)]
    for level in range(header_rows - 1):
        last = None
        for c in cols:
            if _is_empty(header[level][c]):
                header[level][c] = last
            else:
                last = header[level][c]
    return _unique([_flatten([_text(header[level][c]) for level in range(header_rows)]) for c in cols])


def detect_block(
    grid: Grid, merged: Sequence[MergedRange] = (), *, header_row: int | None = None
) -> TableBlock:
    """Locate title, header (possibly several merged rows), data, totals and notes in ``grid``.

    ``header_row`` (zero-based) overrides the detection of where the header starts; the number of
    header rows is still detected.
    """
    grid, filled = _fill_merged(grid, merged)
    width = max((len(r) for r in grid), default=0)
    rows = [list(r) + [None] * (width - len(r)) for r in grid]
    n = len(rows)
    while n and _row_width(rows[n - 1]) == 0:
        n -= 1
    if n == 0:
        return TableBlock(0, 0, 0, 0, [], [])
    widths = [_row_width(r) for r in rows[:n]]
    typical = Counter(w for w in widths if w > 1).most_common(1)
    table_width = typical[0][0] if typical else max(widths)

    # Title rows: above the header, each with far fewer cells than the table (a title, a date, a unit).
    start = 0
    if header_row is not None:
        start = header_row
    else:
        while (
            start < n - 1
            and (widths[start] == 0 or widths[start] * 2 <= table_width)
            and not _is_note(rows[start])
        ):
            start += 1
    title = [" ".join(_text(v) for v in rows[r] if not _is_empty(v)) for r in range(start) if widths[r]]

    # Columns that carry something anywhere from the header down (others are spacers).
    cols = [c for c in range(width) if any(not _is_empty(rows[r][c]) for r in range(start, n))]

    header_rows = _count_header_rows(rows, start, n=n, cols=cols, widths=widths, filled=filled)
    names = _header_names(rows, start, header_rows, cols)

    data_start = start + header_rows
    data_end = n
    notes: list[str] = []
    note_rows: set[int] = set()
    # Notes at the bottom (and any note line inside the data, e.g. a ※ row between blocks).
    for r in range(data_start, n):
        if _is_note(rows[r]):
            notes.append(" ".join(_text(v) for v in rows[r] if not _is_empty(v)))
            note_rows.add(r)
    while data_end > data_start and (data_end - 1 in note_rows or widths[data_end - 1] == 0):
        data_end -= 1
    totals = [r for r in range(data_start, data_end) if r not in note_rows and _is_total(rows[r], cols)]
    skipped = [r for r in range(data_start, data_end) if widths[r] == 0]

    # Category cells merged down (a ward name spanning its towns) were filled by _fill_merged.
    filled_down = sorted(
        {names[i] for i, c in enumerate(cols) if any((r, c) in filled for r in range(data_start, data_end))}
    )
    block = TableBlock(
        header_start=start,
        header_rows=header_rows,
        data_start=data_start,
        data_end=data_end,
        columns=names,
        column_indexes=cols,
        title=title,
        notes=notes,
        total_rows=totals,
        filled_down=filled_down,
        skipped_rows=skipped,
    )
    block._note_rows = note_rows
    return block


def block_rows(grid: Grid, block: TableBlock, merged: Sequence[MergedRange] = ()) -> list[list[str | None]]:
    """The data rows of ``block`` as text cells (None for empty), in block column order."""
    filled_grid, _ = _fill_merged(grid, merged)
    out: list[list[str | None]] = []
    for r in block.data_row_indexes():
        row = filled_grid[r]
        out.append([(_text(row[c]) or None) if c < len(row) else None for c in block.column_indexes])
    return out
