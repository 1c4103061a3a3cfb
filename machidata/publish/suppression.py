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
class Line:
    """One published equation over interior cells: Σ coeff·cell = total (a total or a 小計)."""

    cells: list[tuple[Cell, int]]
    total: int
    label: str


@dataclass
class Grid:
    """Interior cells (None = already hidden, value unknown), the totals, and the labels.

    ``row_subtotals`` maps a 小計 row to the rows it adds up (``col_subtotals`` the same for columns).
    A 小計 row is a line of the interior like any other (its small cells are hidden too) and adds one
    equation per column: 小計 − Σ members = 0. The totals add up the rows (or columns) that belong to no
    小計, so a 小計 and its members are never counted twice. 小計 nest (区 → 町 → 丁目): a member may be a
    小計 itself, each with its own equations, and only the outermost 小計 are in the totals.
    """

    row_labels: list[str]
    col_labels: list[str]
    values: list[list[int | None]]
    row_totals: list[int] | None = None
    col_totals: list[int] | None = None
    row_subtotals: dict[int, list[int]] = field(default_factory=dict)
    col_subtotals: dict[int, list[int]] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of the interior."""
        return len(self.row_labels), len(self.col_labels)

    def lines(self) -> list[Line]:
        """Every published equation: row totals, column totals, then 小計 rows and columns."""
        n, m = self.shape
        top_cols = [j for j in range(m) if not any(j in ms for ms in self.col_subtotals.values())]
        top_rows = [i for i in range(n) if not any(i in ms for ms in self.row_subtotals.values())]
        out: list[Line] = []
        if self.row_totals is not None:
            for i in range(n):
                out.append(
                    Line([((i, j), 1) for j in top_cols], self.row_totals[i], f"「{self.row_labels[i]}」の行")
                )
        if self.col_totals is not None:
            for j in range(m):
                out.append(
                    Line([((i, j), 1) for i in top_rows], self.col_totals[j], f"「{self.col_labels[j]}」の列")
                )
        for s, members in self.row_subtotals.items():
            for j in range(m):
                cells = [((s, j), 1)] + [((i, j), -1) for i in members]
                out.append(Line(cells, 0, f"小計「{self.row_labels[s]}」の「{self.col_labels[j]}」"))
        for s, members in self.col_subtotals.items():
            for i in range(n):
                cells = [((i, s), 1)] + [((i, j), -1) for j in members]
                out.append(Line(cells, 0, f"「{self.row_labels[i]}」の小計「{self.col_labels[s]}」"))
        return out


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
    """Totals and 小計 must equal the sums of fully known lines, or the audit would prove nothing."""
    for line in grid.lines():
        vals = [(grid.values[i][j], k) for (i, j), k in line.cells]
        if all(v is not None for v, _ in vals) and sum(int(v or 0) * k for v, k in vals) != line.total:
            raise InvalidInput(f"{line.label}の合計が内訳の和と合いません。合計を確認してください。")


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
    a_eq: list[list[float]] = []
    b_eq: list[float] = []
    for line in grid.lines():
        coeffs = [0.0] * len(unknown)
        known = 0
        any_unknown = False
        for c, k in line.cells:
            if c in index:
                coeffs[index[c]] += float(k)
                any_unknown = True
            else:
                known += k * int(grid.values[c[0]][c[1]] or 0)
        if any_unknown:
            a_eq.append(coeffs)
            b_eq.append(float(line.total - known))
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


def _complement(grid: Grid, hidden: set[Cell], cells: list[Cell]) -> Cell | None:
    """The cell of ``cells`` to hide next to protect a line: smallest positive, preferring a cell whose
    row or column already holds a hidden cell (so one extra cell protects two lines)."""
    options = [c for c in cells if c not in hidden and (grid.values[c[0]][c[1]] or 0) > 0]
    if not options:
        return None
    rows, cols = {c[0] for c in hidden}, {c[1] for c in hidden}
    return min(
        options,
        key=lambda c: (c[0] not in rows and c[1] not in cols, grid.values[c[0]][c[1]] or 0, c),
    )


def secondary(grid: Grid, hidden: set[Cell], *, threshold: int, protection: int = 0) -> set[Cell]:
    """Add complementary cells until every hidden cell passes the audit (raises when impossible)."""
    result = set(hidden)
    n, m = grid.shape
    lines = [[c for c, _ in line.cells] for line in grid.lines()]
    for _ in range(MAX_ROUNDS):
        changed = False
        for cells in lines:
            if sum(1 for c in cells if c in result) == 1:
                pick = _complement(grid, result, cells)
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
            target = labels[(cell.row, cell.column)]
            for cells in (c for c in lines if target in c):
                pick = _complement(grid, result, cells)
                if pick is not None:
                    result.add(pick)
                    changed = True
                    break
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
    """How a table is a 統計表 (from the table's AggregateSpec and the dataset's threshold).

    *Wide* (横長): one row per 区分 of ``dimension``, one column per count (``count_columns``), the row
    totals in ``total_column`` and the column totals in the row whose 区分 is ``total_row_label``.

    *Long* (縦長, when ``value_column`` is set): one row per cell — the 区分 of the rows in
    ``dimension``, the 区分 of the columns in ``column_dimension``, the count in ``value_column``; the
    totals are the rows whose ``column_dimension`` is ``total_column`` (row totals) and whose
    ``dimension`` is ``total_row_label`` (column totals). ``count_columns`` may list the column 区分 to
    read (all of them when empty).

    ``row_subtotals`` / ``column_subtotals``: 小計 → the 区分 (or count columns) it adds up.
    """

    dimension: str
    count_columns: tuple[str, ...] = ()
    total_column: str = ""
    total_row_label: str = ""
    threshold: int = 10
    protection: int = 0
    column_dimension: str = ""
    value_column: str = ""
    row_subtotals: tuple[tuple[str, tuple[str, ...]], ...] = ()
    column_subtotals: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def is_long(self) -> bool:
        """Long format (one row per cell)."""
        return bool(self.value_column)


def subtotals(value: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """A 小計 declaration as the Spec keeps it, from {小計: [内訳, ...]} (or pairs); refuses odd shapes."""
    if not value:
        return ()
    pairs = value.items() if isinstance(value, dict) else value
    out = []
    try:
        for label, members in pairs:
            names = tuple(str(m) for m in members)
            if not str(label).strip() or not names or isinstance(members, str):
                raise ValueError
            out.append((str(label), names))
    except (TypeError, ValueError):
        raise InvalidInput("小計は「小計の区分名: 内訳の区分名の一覧」の形で指定してください。") from None
    return tuple(out)


def check_spec(spec: Spec, columns: list[str]) -> None:
    """Refuse a declaration the table does not support, in Japanese."""
    if spec.threshold < 1:
        raise InvalidInput("秘匿の基準（小さい数の基準）は1以上にしてください。")
    if not spec.total_column and not spec.total_row_label:
        raise InvalidInput(
            "統計表として扱うには合計の列か合計の行を指定してください（合計がないと秘匿の監査ができません）。"
        )
    if spec.is_long:
        if not spec.column_dimension:
            raise InvalidInput("縦長の統計表では、列の区分を表す列を指定してください。")
        named = (spec.dimension, spec.column_dimension, spec.value_column)
        missing = [c for c in named if c not in columns]
        if missing:
            raise InvalidInput(f"表にない列が指定されています: {'、'.join(missing)}")
        if len(set(named)) != 3:
            raise InvalidInput("行の区分・列の区分・件数の列には、それぞれ別の列を指定してください。")
    else:
        missing = [
            c for c in (spec.dimension, *spec.count_columns, spec.total_column) if c and c not in columns
        ]
        if missing:
            raise InvalidInput(f"表にない列が指定されています: {'、'.join(missing)}")
        if not spec.count_columns:
            raise InvalidInput("件数の列を1つ以上指定してください。")
        if spec.total_column in spec.count_columns:
            raise InvalidInput("合計の列は件数の列とは別に指定してください。")
    _check_nesting(spec.row_subtotals)
    _check_nesting(spec.column_subtotals)


def _check_nesting(declared: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
    """小計 may nest (区 → 町 → 丁目: a 小計 adds up other 小計), but each 区分 belongs to at most one
    小計 (or the totals would count it twice), each 小計 is declared once, and no 小計 contains itself."""
    members_of: dict[str, tuple[str, ...]] = {}
    parent: dict[str, str] = {}
    for label, members in declared:
        if label in members:
            raise InvalidInput(f"小計「{label}」の内訳に小計自身が入っています。")
        if label in members_of:
            raise InvalidInput(f"小計「{label}」が2回指定されています。内訳は1か所にまとめてください。")
        members_of[label] = members
        for m in members:
            if m in parent:
                raise InvalidInput(
                    f"「{m}」が小計「{parent[m]}」と小計「{label}」の両方の内訳に入っています。"
                    "入れ子の小計では、内訳にはすぐ上の小計だけを書いてください（区 → 町 → 丁目）。"
                )
            parent[m] = label
    for label in members_of:
        seen, up = {label}, parent.get(label)
        while up is not None:
            if up in seen:
                raise InvalidInput(
                    f"小計「{label}」の入れ子が循環しています（小計が自分自身を含んでいます）。"
                )
            seen.add(up)
            up = parent.get(up)


def _int(v: Any) -> int | None:
    if v is None:
        return None
    try:
        return int(v)
    except (TypeError, ValueError):
        raise InvalidInput(f"件数の列に数でない値「{v}」があります。") from None


def _groups(
    labels: list[str], declared: tuple[tuple[str, tuple[str, ...]], ...], what: str
) -> dict[int, list[int]]:
    """小計 label → member labels, as interior indices; every label must be a 区分 of the table."""
    where = {lab: k for k, lab in enumerate(labels)}
    out: dict[int, list[int]] = {}
    for label, members in declared:
        absent = [x for x in (label, *members) if x not in where]
        if absent:
            raise InvalidInput(f"小計の指定にある{what}「{'」「'.join(absent)}」が表にありません。")
        out[where[label]] = [where[x] for x in members]
    return out


def grid_from_table(table: pa.Table, spec: Spec) -> Grid:
    """Read the interior, the row totals (total column) and the column totals (total row), and the 小計."""
    check_spec(spec, table.column_names)
    grid = _long_grid(table, spec) if spec.is_long else _wide_grid(table, spec)
    grid.row_subtotals = _groups(grid.row_labels, spec.row_subtotals, "行の区分")
    grid.col_subtotals = _groups(grid.col_labels, spec.column_subtotals, "列")
    return grid


def _wide_grid(table: pa.Table, spec: Spec) -> Grid:
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


def _long_grid(table: pa.Table, spec: Spec) -> Grid:
    dims = [str(v) for v in table.column(spec.dimension).to_pylist()]
    cdims = [str(v) for v in table.column(spec.column_dimension).to_pylist()]
    raw = table.column(spec.value_column).to_pylist()
    cells: dict[tuple[str, str], int | None] = {}
    for r, c, v in zip(dims, cdims, raw, strict=True):
        if (r, c) in cells:
            raise InvalidInput(f"「{r}」×「{c}」の行が2つあります。区分の組み合わせごとに1行にしてください。")
        cells[r, c] = _int(v)
    rows = list(dict.fromkeys(d for d in dims if d != spec.total_row_label))
    cols = list(spec.count_columns) or list(dict.fromkeys(c for c in cdims if c != spec.total_column))
    if spec.total_row_label and spec.total_row_label not in dims:
        raise InvalidInput(
            f"合計の行「{spec.total_row_label}」が表にありません（統計表には合計が必要です）。"
        )
    if spec.total_column and spec.total_column not in cdims:
        raise InvalidInput(f"合計の区分「{spec.total_column}」が表にありません（統計表には合計が必要です）。")

    def get(r: str, c: str, *, total: bool = False) -> int | None:
        if (r, c) not in cells:
            raise InvalidInput(f"「{r}」×「{c}」の行がありません。0 の組み合わせも1行にしてください。")
        v = cells[r, c]
        if total and v is None:
            raise InvalidInput(f"「{r}」×「{c}」の合計が空です。合計は秘匿できません。")
        return v

    values = [[get(r, c) for c in cols] for r in rows]
    row_totals = (
        [int(get(r, spec.total_column, total=True) or 0) for r in rows] if spec.total_column else None
    )
    col_totals = (
        [int(get(spec.total_row_label, c, total=True) or 0) for c in cols] if spec.total_row_label else None
    )
    return Grid(rows, cols, values, row_totals, col_totals)


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
    interior = set(grid.col_labels)
    total_rows: list[list[str]] = []
    body_rows: list[list[str]] = []
    for row in data:
        label = str(row[spec.dimension])
        out = []
        for c in header:
            v = row[c]
            if spec.is_long:
                col = str(row[spec.column_dimension])
                secret = c == spec.value_column and (
                    (label, col) in hidden_by_label
                    or (v is None and col in interior and label != spec.total_row_label)
                )
            else:
                secret = (label, c) in hidden_by_label or (v is None and c in spec.count_columns)
            out.append(MARKER if secret else ("" if v is None else str(v)))
        (total_rows if label == spec.total_row_label else body_rows).append(out)
    # The total row goes first: the CSV reader drops 合計 rows found at the end of a file.
    return [header, *total_rows, *body_rows]
