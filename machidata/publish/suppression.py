"""Suppression (秘匿処理) of aggregated tables, and its audit by linear programming.

A 統計表 is a grid: one dimension column (区分, e.g. 町丁) down the side, count columns across, and
totals — a row-total column (合計の列) and/or a column-totals row (合計の行). Totals stay published.

* **Primary suppression**: every cell with 1 ≤ value < threshold is hidden (0 is published: nobody
  to identify).
* **Secondary (complementary) suppression**: a row or column holding exactly one hidden cell would
  give it away by subtraction from the total, so a second cell is hidden there (the smallest
  positive one, preferring a cell whose other line already holds a hidden cell); then the audit
  runs and, for any cell still exposed, one more cell of its row is hidden, until nothing is exposed.
* **Audit**: for every hidden cell, the feasible interval of its value given the published cells and
  totals is found with two linear programmes (``scipy.optimize.linprog``: minimise and maximise the
  cell subject to every row/column total, cells ≥ 0). A cell is protected when the interval is at
  least the protection range wide (by default the threshold); otherwise it is *exposed*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from scipy.optimize import linprog

from machidata.core.errors import InvalidInput

Cell = tuple[int, int]
MAX_ROUNDS = 200
MARKER = "x"
_TOL = 1e-6


@dataclass
class Grid:
    """Interior cells (None = already hidden, value unknown), the totals, and the labels."""

    row_labels: list[str]
    col_labels: list[str]
    values: list[list[int | None]]
    row_totals: list[int] | None = None
    col_totals: list[int] | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of the interior."""
        return len(self.row_labels), len(self.col_labels)


@dataclass
class CellInterval:
    """The feasible interval of one hidden cell."""

    row: str
    column: str
    low: float
    high: float
    primary: bool

    @property
    def width(self) -> float:
        """high − low (inf when a cell is in no total)."""
        return self.high - self.low


@dataclass
class AuditReport:
    """Cells checked, cells exposed (must be 0), and each hidden cell's interval."""

    threshold: int
    protection: int
    intervals: list[CellInterval] = field(default_factory=list)

    @property
    def checked(self) -> int:
        """How many hidden cells were checked."""
        return len(self.intervals)

    @property
    def exposed(self) -> list[CellInterval]:
        """Hidden cells whose interval is narrower than the protection range."""
        return [c for c in self.intervals if c.width + _TOL < self.protection]

    def to_dict(self) -> dict[str, Any]:
        """JSON form kept with the suppression run."""
        return {
            "threshold": self.threshold,
            "protection": self.protection,
            "cells_checked": self.checked,
            "cells_exposed": len(self.exposed),
            "primary": sum(1 for c in self.intervals if c.primary),
            "secondary": sum(1 for c in self.intervals if not c.primary),
            "cells": [
                {"row": c.row, "column": c.column, "low": _num(c.low), "high": _num(c.high),
                 "width": _num(c.width), "primary": c.primary}
                for c in self.intervals
            ],
        }  # fmt: skip


def _num(v: float) -> float | str:
    return "∞" if np.isinf(v) else round(float(v), 6)


def _check_consistent(grid: Grid) -> None:
    """Totals must equal the sums of fully known lines, or the audit would prove nothing."""
    n, m = grid.shape
    for i in range(n):
        row = grid.values[i]
        if grid.row_totals is not None and all(v is not None for v in row):  # noqa: SIM102 - reads as the rule
            if sum(int(v) for v in row if v is not None) != grid.row_totals[i]:
                raise InvalidInput(
                    f"「{grid.row_labels[i]}」の行の合計が内訳の和と合いません。合計を確認してください。"
                )
    for j in range(m):
        col = [grid.values[i][j] for i in range(n)]
        if grid.col_totals is not None and all(v is not None for v in col):  # noqa: SIM102 - reads as the rule
            if sum(int(v) for v in col if v is not None) != grid.col_totals[j]:
                raise InvalidInput(
                    f"「{grid.col_labels[j]}」の列の合計が内訳の和と合いません。合計を確認してください。"
                )


def primary(grid: Grid, threshold: int) -> set[Cell]:
    """Cells with 1 ≤ value < threshold."""
    if threshold < 1:
        raise InvalidInput("秘匿の基準は1以上にしてください。")
    n, m = grid.shape
    return {
        (i, j)
        for i in range(n)
        for j in range(m)
        if (v := grid.values[i][j]) is not None and 1 <= v < threshold
    }


def audit(
    grid: Grid,
    hidden: set[Cell],
    *,
    threshold: int,
    protection: int = 0,
    primary_cells: set[Cell] | None = None,
) -> AuditReport:
    """Solve min/max of every hidden cell subject to the published cells and totals (scipy linprog)."""
    protection = protection or threshold
    report = AuditReport(threshold=threshold, protection=protection)
    unknown = sorted(
        hidden | {(i, j) for i, r in enumerate(grid.values) for j, v in enumerate(r) if v is None}
    )
    if not unknown:
        return report
    index = {c: k for k, c in enumerate(unknown)}
    n, m = grid.shape
    a_eq: list[list[float]] = []
    b_eq: list[float] = []

    def line(cells: list[Cell], total: int) -> None:
        coeffs = [0.0] * len(unknown)
        known = 0
        any_unknown = False
        for c in cells:
            if c in index:
                coeffs[index[c]] = 1.0
                any_unknown = True
            else:
                known += int(grid.values[c[0]][c[1]] or 0)
        if any_unknown:
            a_eq.append(coeffs)
            b_eq.append(float(total - known))

    if grid.row_totals is not None:
        for i in range(n):
            line([(i, j) for j in range(m)], grid.row_totals[i])
    if grid.col_totals is not None:
        for j in range(m):
            line([(i, j) for i in range(n)], grid.col_totals[j])
    a = np.array(a_eq) if a_eq else None
    b = np.array(b_eq) if b_eq else None
    primaries = primary_cells if primary_cells is not None else set()
    for c, k in index.items():
        if c not in hidden:
            continue
        objective = np.zeros(len(unknown))
        objective[k] = 1.0
        low = linprog(objective, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
        high = linprog(-objective, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
        if low.status == 2 or high.status == 2:
            raise InvalidInput(
                "合計と内訳が矛盾しているため、秘匿の監査ができません。合計を確認してください。"
            )
        lo = float(low.fun) if low.status == 0 else 0.0
        hi = float(-high.fun) if high.status == 0 else float("inf")  # 3 = unbounded
        report.intervals.append(
            CellInterval(grid.row_labels[c[0]], grid.col_labels[c[1]], lo, hi, c in primaries)
        )
    return report


def _complement(grid: Grid, hidden: set[Cell], cells: list[Cell], other_axis: int) -> Cell | None:
    """The cell of ``cells`` to hide next to protect a line: smallest positive, preferring crossed lines."""
    options = [c for c in cells if c not in hidden and (grid.values[c[0]][c[1]] or 0) > 0]
    if not options:
        return None
    crossed = {c[other_axis] for c in hidden}
    return min(options, key=lambda c: (c[other_axis] not in crossed, grid.values[c[0]][c[1]] or 0, c))


def secondary(  # noqa: PLR0912 - rows, columns, then the audit, in one loop
    grid: Grid, hidden: set[Cell], *, threshold: int, protection: int = 0
) -> set[Cell]:
    """Add complementary cells until every hidden cell passes the audit (raises when impossible)."""
    result = set(hidden)
    n, m = grid.shape
    for _ in range(MAX_ROUNDS):
        changed = False
        if grid.row_totals is not None:
            for i in range(n):
                row = [(i, j) for j in range(m)]
                if sum(1 for c in row if c in result) == 1:
                    pick = _complement(grid, result, row, 1)
                    if pick is not None:
                        result.add(pick)
                        changed = True
        if grid.col_totals is not None:
            for j in range(m):
                col = [(i, j) for i in range(n)]
                if sum(1 for c in col if c in result) == 1:
                    pick = _complement(grid, result, col, 0)
                    if pick is not None:
                        result.add(pick)
                        changed = True
        if changed:
            continue
        exposed = audit(grid, result, threshold=threshold, protection=protection).exposed
        if not exposed:
            return result
        labels = {(grid.row_labels[i], grid.col_labels[j]): (i, j) for i in range(n) for j in range(m)}
        for cell in exposed:
            i, j = labels[(cell.row, cell.column)]
            pick = _complement(grid, result, [(i, jj) for jj in range(m)], 1) or _complement(
                grid, result, [(ii, j) for ii in range(n)], 0
            )
            if pick is not None:
                result.add(pick)
                changed = True
        if not changed:
            break
    raise InvalidInput(
        "秘匿しても合計から値が分かってしまうセルが残りました。表の区分をまとめるなどしてください。"
    )


def suppress(grid: Grid, *, threshold: int, protection: int = 0) -> tuple[set[Cell], AuditReport]:
    """Primary + secondary suppression and the audit of the result (``cells_exposed`` is 0)."""
    _check_consistent(grid)
    first = primary(grid, threshold)
    hidden = secondary(grid, first, threshold=threshold, protection=protection) if first else set()
    return hidden, audit(grid, hidden, threshold=threshold, protection=protection, primary_cells=first)


# ---- from and to Arrow tables ------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """Which columns are the dimension, the counts and the totals (from the table's AggregateSpec)."""

    dimension: str
    count_columns: tuple[str, ...]
    total_column: str = ""
    total_row_label: str = ""
    threshold: int = 10
    protection: int = 0


def check_spec(spec: Spec, columns: list[str]) -> None:
    """Refuse a declaration the table does not support, in Japanese."""
    if spec.threshold < 1:
        raise InvalidInput("秘匿の基準（小さい数の基準）は1以上にしてください。")
    if not spec.total_column and not spec.total_row_label:
        raise InvalidInput(
            "統計表として扱うには合計の列か合計の行を指定してください（合計がないと秘匿の監査ができません）。"
        )
    missing = [c for c in (spec.dimension, *spec.count_columns, spec.total_column) if c and c not in columns]
    if missing:
        raise InvalidInput(f"表にない列が指定されています: {'、'.join(missing)}")
    if not spec.count_columns:
        raise InvalidInput("件数の列を1つ以上指定してください。")
    if spec.total_column in spec.count_columns:
        raise InvalidInput("合計の列は件数の列とは別に指定してください。")


def _int(v: Any) -> int | None:
    if v is None:
        return None
    try:
        return int(v)
    except (TypeError, ValueError):
        raise InvalidInput(f"件数の列に数でない値「{v}」があります。") from None


def grid_from_table(table: pa.Table, spec: Spec) -> Grid:
    """Read the interior, the row totals (total column) and the column totals (total row)."""
    check_spec(spec, table.column_names)
    dims = [str(v) for v in table.column(spec.dimension).to_pylist()]
    if spec.total_row_label and spec.total_row_label not in dims:
        raise InvalidInput(
            f"合計の行「{spec.total_row_label}」が表にありません（統計表には合計が必要です）。"
        )
    cols = {c: table.column(c).to_pylist() for c in spec.count_columns}
    totals = table.column(spec.total_column).to_pylist() if spec.total_column else None
    body = [k for k, d in enumerate(dims) if d != spec.total_row_label]
    values = [[_int(cols[c][k]) for c in spec.count_columns] for k in body]
    row_totals = None
    if totals is not None:
        row_totals = []
        for k in body:
            t = _int(totals[k])
            if t is None:
                raise InvalidInput(f"「{dims[k]}」の行の合計が空です。合計は秘匿できません。")
            row_totals.append(t)
    col_totals = None
    if spec.total_row_label:
        k = dims.index(spec.total_row_label)
        col_totals = []
        for c in spec.count_columns:
            t = _int(cols[c][k])
            if t is None:
                raise InvalidInput(f"合計の行の「{c}」が空です。合計は秘匿できません。")
            col_totals.append(t)
    return Grid([dims[k] for k in body], list(spec.count_columns), values, row_totals, col_totals)


def small_cells(grid: Grid, threshold: int) -> list[tuple[str, str, int]]:
    """Published cells with 1 ≤ value < threshold (what the small-count gate reports)."""
    return [
        (grid.row_labels[i], grid.col_labels[j], int(grid.values[i][j] or 0))
        for i, j in sorted(primary(grid, threshold))
    ]


def to_csv_rows(table: pa.Table, spec: Spec, grid: Grid, hidden: set[Cell]) -> list[list[str]]:
    """The table as CSV rows (header first, the total row right after it) with hidden cells as ``x``."""
    columns = table.column_names
    header = [c for c in columns if c != "_id" and not c.endswith("__raw")]
    data = table.select(header).to_pylist()
    hidden_by_label = {(grid.row_labels[i], grid.col_labels[j]) for i, j in hidden}
    total_rows: list[list[str]] = []
    body_rows: list[list[str]] = []
    for row in data:
        label = str(row[spec.dimension])
        out = []
        for c in header:
            v = row[c]
            if (label, c) in hidden_by_label or (v is None and c in spec.count_columns):
                out.append(MARKER)
            else:
                out.append("" if v is None else str(v))
        (total_rows if label == spec.total_row_label else body_rows).append(out)
    # The total row goes first: the CSV reader drops 合計 rows found at the end of a file.
    return [header, *total_rows, *body_rows]
