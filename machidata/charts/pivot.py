"""The pivot table (ピボット表): rows × columns × one measure, with 小計 and 合計, and its small-cell suppression.

No Django, no I/O. The engine answers a pivot's query with every grouping set of ROLLUP(rows) ×
ROLLUP(columns) and a ``合計区分`` bitmask (``engine.query.Totals``); :func:`pivot_of` lays those rows
out as lines (a detail line per key combination, a 小計 line after each group of the first key when
there are two keys, a 合計 line last) on both axes, and :func:`pivot_spec` draws the grid as
Vega-Lite text marks for the PNG/SVG/PDF and dashboard exports (pages show an HTML table).

Suppression (秘匿) of a table that leaves the owner 課 follows the rules used for survey crosstabs and
統計表 (``surveys.tables``, ``publish.suppression``): a cell counting 1 ≤ n < the threshold (5) is
hidden (0 is shown: nobody to identify), and for counts and sums — which the 小計 and 合計 add up —
further cells are hidden until no hidden cell can be worked back from the published ones: for every
hidden cell the smallest and largest value consistent with every published line total (each 小計
and 合計 is the sum of the lines under it, on both axes) are found by linear programming
(``scipy.optimize.linprog``), and the interval must be at least the threshold wide for counts, or
at least the cell's own size for sums. Averages, medians, minimums, maximums and numbers of kinds
do not add up, so only their small cells (by the number of rows behind them) are hidden. Hidden
cells show ``＊``.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from scipy.optimize import linprog

from machidata.charts.vegalite import (
    LABEL_GRAINS,
    SCHEMA_URL,
    Column,
    SpecError,
    _fmt,
    _order_key,
    _plain,
    grain_label,
)

SUPPRESS_BELOW: Final = 5  # the threshold of tables that leave the 課 (surveys.tables.DEFAULT_THRESHOLD)
HIDDEN: Final = "＊"
SUBTOTAL: Final = "小計"
TOTAL: Final = "合計"
KIND_LABELS: Final = {"detail": "明細", "subtotal": "小計", "total": "合計"}
ADDITIVE_OPS: Final = frozenset({"count", "sum"})
MAX_SUPPRESSED_CELLS: Final = 5_000  # a larger table is refused rather than left half-protected
MAX_ROUNDS: Final = 200
N_NAME: Final = "行数（秘匿の判定用）"  # the row count the builder adds beside a measure that is not a count
TOTALS_AS: Final = "合計区分"  # the engine's default name of the grouping-set bitmask, written as ``as``

Cell = tuple[int, int]


@dataclass(frozen=True)
class Line:
    """One row or column of the pivot: the values of the leading keys it fixes, and its kind."""

    key: tuple[Any, ...]
    kind: str  # detail | subtotal | total
    labels: tuple[str, ...]


@dataclass
class Pivot:
    """The laid-out table: lines on both axes, a value (and row count) per cell, and the hidden cells."""

    row_names: list[str]
    col_names: list[str]
    value_name: str
    op: str
    rows: list[Line]
    cols: list[Line]
    values: dict[Cell, Any]
    counts: dict[Cell, int | None]
    hidden: set[Cell] = field(default_factory=set)
    threshold: int | None = None

    def col_label(self, j: int) -> str:
        """The header of column ``j``: 令和5年度／男, 令和5年度 小計, 合計 (the value's name without column keys)."""
        line = self.cols[j]
        if not self.col_names:
            return self.value_name
        if line.kind == "total":
            return TOTAL
        if line.kind == "subtotal":
            return "／".join(line.labels[: len(line.key)]) + f" {SUBTOTAL}"
        return "／".join(line.labels)

    def text(self, i: int, j: int) -> str:
        """What cell (i, j) shows: the value, ＊ when hidden, — when there is no such group."""
        if (i, j) in self.hidden:
            return HIDDEN
        if (i, j) not in self.values:
            return "—"
        return _fmt(_plain(self.values[(i, j)]))

    def raw(self, i: int, j: int) -> Any:
        """The cell for a file: a number, ＊ when hidden, blank when there is no such group."""
        if (i, j) in self.hidden:
            return HIDDEN
        return _plain(self.values.get((i, j)))

    @property
    def grand_total(self) -> Any:
        """The value of the 合計 × 合計 cell (None when hidden or absent)."""
        cell = (len(self.rows) - 1, len(self.cols) - 1)
        return None if cell in self.hidden else _plain(self.values.get(cell))

    def html(self) -> dict[str, Any]:
        """What the page's table needs: key headers, (label, kind) column headers, and (kind, labels, cells) lines."""
        return {
            "keys": self.row_names or ["（全体）"],
            "cols": [(self.col_label(j), c.kind) for j, c in enumerate(self.cols)],
            "lines": [
                (
                    line.kind,
                    list(line.labels) if self.row_names else [TOTAL],
                    [(self.text(i, j), c.kind) for j, c in enumerate(self.cols)],
                )
                for i, line in enumerate(self.rows)
            ],
        }

    def grid(self) -> tuple[list[str], list[tuple[str, list[str]]]]:
        """Headers and (kind, cells) lines as shown: the row keys' labels, then one cell per column."""
        header = [*(self.row_names or ["（全体）"]), *(self.col_label(j) for j in range(len(self.cols)))]
        body = []
        for i, line in enumerate(self.rows):
            labels = list(line.labels) if self.row_names else [TOTAL]
            body.append((line.kind, [*labels, *(self.text(i, j) for j in range(len(self.cols)))]))
        return header, body


def totals_name(document: Mapping[str, Any]) -> str:
    """The output name of the 合計区分 column of a pivot document's query."""
    totals = (document.get("query") or {}).get("totals") or {}
    return str(totals.get("as") or TOTALS_AS) if isinstance(totals, Mapping) else TOTALS_AS


def _label(value: Any, col: Column, *, wareki: bool) -> str:
    if col.grain in LABEL_GRAINS:
        return grain_label(value, col.grain, wareki=wareki)
    return _fmt(_plain(value))


def _sort_key(col: Column, week_start: str) -> Callable[[Any], Any]:
    if col.grain is not None:
        return lambda v: _order_key(v, col.grain or "", week_start)
    return lambda v: (v is None, str(type(v)), v if v is not None else 0)


def _lines(
    tuples: Sequence[tuple[Any, ...]], cols: Sequence[Column], *, wareki: bool, week_start: str
) -> list[Line]:
    """Detail lines in key order, a 小計 line closing each group of an upper key, a 合計 line last."""
    depth = len(cols)
    out: list[Line] = []

    def labels(key: tuple[Any, ...], closing: bool) -> tuple[str, ...]:
        shown = [_label(v, c, wareki=wareki) for v, c in zip(key, cols, strict=False)]
        if closing:
            shown.append(SUBTOTAL)
        return tuple(shown + [""] * (depth - len(shown)))

    def walk(prefix: tuple[Any, ...]) -> None:
        level = len(prefix)
        values = list(dict.fromkeys(t[level] for t in tuples if t[:level] == prefix))
        for v in sorted(values, key=_sort_key(cols[level], week_start)):
            key = (*prefix, v)
            if level + 1 == depth:
                out.append(Line(key, "detail", labels(key, closing=False)))
            else:
                walk(key)
                out.append(Line(key, "subtotal", labels(key, closing=True)))

    if depth:
        walk(())
    out.append(Line((), "total", (TOTAL, *[""] * max(depth - 1, 0))))
    return out


def _names(value: Any, role: str) -> list[str]:
    """The output names on one axis: a list of names (or nothing)."""
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise SpecError(f"ピボット表の「{role}」の項目は名前の一覧で指定してください。")
    return list(value)


def pivot_of(
    rows: Sequence[Mapping[str, Any]],
    columns: Mapping[str, Column],
    visual: Mapping[str, Any],
    *,
    totals_name: str,
) -> Pivot:
    """Lay the engine's grouping-set rows out as a pivot, suppressed when ``visual.options.suppress_below`` is set."""
    options = visual.get("options") or {}
    wareki = str(options.get("era") or "wareki") != "western"
    week_start = "sunday" if options.get("week_start") == "sunday" else "monday"
    row_names, col_names = _names(visual.get("rows"), "行"), _names(visual.get("columns"), "列")
    if not row_names and not col_names:
        raise SpecError("ピボット表には、行か列の項目を1つ以上選んでください。")
    value_name = str(visual.get("y") or "")
    for name, role in [*((n, "行") for n in row_names), *((n, "列") for n in col_names), (value_name, "値")]:
        if not name or name not in columns:
            raise SpecError(f"ピボット表の「{role}」の項目「{name}」が集計結果にありません。")
    if totals_name not in columns:
        raise SpecError("ピボット表の集計結果に小計・合計がありません。")
    keys = [*row_names, *col_names]
    r = len(row_names)
    n_name = str(visual.get("n") or "")
    by_line: dict[tuple[tuple[Any, ...], tuple[Any, ...]], tuple[Any, Any]] = {}
    row_tuples: list[tuple[Any, ...]] = []
    col_tuples: list[tuple[Any, ...]] = []
    for line in rows:
        mask = int(line.get(totals_name) or 0)
        fixed = [not mask & (1 << k) for k in range(len(keys))]
        rk = tuple(line.get(k) for k, f in zip(row_names, fixed[:r], strict=True) if f)
        ck = tuple(line.get(k) for k, f in zip(col_names, fixed[r:], strict=True) if f)
        by_line[(rk, ck)] = (line.get(value_name), line.get(n_name) if n_name else None)
        if mask == 0:
            row_tuples.append(rk)
            col_tuples.append(ck)
    row_lines = _lines(row_tuples, [columns[n] for n in row_names], wareki=wareki, week_start=week_start)
    col_lines = _lines(col_tuples, [columns[n] for n in col_names], wareki=wareki, week_start=week_start)
    values: dict[Cell, Any] = {}
    counts: dict[Cell, int | None] = {}
    for i, rl in enumerate(row_lines):
        for j, cl in enumerate(col_lines):
            found = by_line.get((rl.key, cl.key))
            if found is not None:
                values[(i, j)], n = found
                counts[(i, j)] = int(n) if isinstance(n, int | float) else None
    op = str(visual.get("op") or "count")
    pivot = Pivot(row_names, col_names, value_name, op, row_lines, col_lines, values, counts)
    threshold = options.get("suppress_below")
    if isinstance(threshold, int) and not isinstance(threshold, bool) and threshold >= 1:
        suppress(pivot, threshold=threshold)
    return pivot


# ---- suppression ----------------------------------------------------------------------------------


def _children(lines: Sequence[Line], index: int) -> list[int]:
    """The lines one level under line ``index`` (a 小計's details, the 合計's first-level lines)."""
    line = lines[index]
    if line.kind == "detail":
        return []
    k = len(line.key)
    return [
        i
        for i, other in enumerate(lines)
        if other.kind != "total" and len(other.key) == k + 1 and other.key[:k] == line.key
    ]


def relations(pivot: Pivot) -> list[tuple[Cell, list[Cell]]]:
    """Every published sum: (a 小計/合計 cell, the cells it adds up), along rows and along columns."""
    out: list[tuple[Cell, list[Cell]]] = []
    for i in range(len(pivot.rows)):
        kids = _children(pivot.rows, i)
        if kids:
            out += [((i, j), [(k, j) for k in kids]) for j in range(len(pivot.cols))]
    for j in range(len(pivot.cols)):
        kids = _children(pivot.cols, j)
        if kids:
            out += [((i, j), [(i, k) for k in kids]) for i in range(len(pivot.rows))]
    return out


def _number(pivot: Pivot, cell: Cell) -> float:
    value = _plain(pivot.values.get(cell))
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _small(pivot: Pivot, cell: Cell, threshold: int) -> bool:
    """A cell counting 1 ≤ n < threshold people or rows (the count itself, or the row count beside the measure)."""
    n = pivot.values.get(cell) if pivot.op == "count" else pivot.counts.get(cell)
    return isinstance(n, int | float) and 1 <= n < threshold


def exposed(pivot: Pivot, hidden: set[Cell], *, threshold: int, check: set[Cell] | None = None) -> list[Cell]:
    """Hidden cells (of ``check``, default all) whose feasible interval given the published cells and totals is too narrow.

    Only the small cells need protecting; the complementary ones are hidden for their sake.
    """
    sums = relations(pivot)
    unknown = sorted(hidden)
    index = {c: k for k, c in enumerate(unknown)}
    a_eq: list[list[float]] = []
    b_eq: list[float] = []
    for parent, kids in sums:
        members = [(parent, 1.0), *((k, -1.0) for k in kids)]
        if not any(c in index for c, _ in members):
            continue
        coeffs = [0.0] * len(unknown)
        known = 0.0
        for c, sign in members:
            if c in index:
                coeffs[index[c]] += sign
            else:
                known += sign * _number(pivot, c)
        a_eq.append(coeffs)
        b_eq.append(-known)
    negative = any(_number(pivot, c) < 0 for c in pivot.values)
    bounds = (None, None) if negative else (0, None)
    constraints: dict[str, Any] = {}
    if a_eq and pivot.op == "count":
        constraints = {"A_eq": np.array(a_eq), "b_eq": np.array(b_eq)}
    elif a_eq:  # sums of decimals: each published sum holds to its rounding, not exactly
        a, b = np.array(a_eq), np.array(b_eq)
        slack = 1e-6 * np.maximum(1.0, np.abs(b))
        constraints = {"A_ub": np.vstack([a, -a]), "b_ub": np.concatenate([b + slack, -b + slack])}
    out = []
    for c, k in index.items():
        if check is not None and c not in check:
            continue
        objective = np.zeros(len(unknown))
        objective[k] = 1.0
        low = linprog(objective, bounds=bounds, method="highs", **constraints)
        high = linprog(-objective, bounds=bounds, method="highs", **constraints)
        if low.status == 2 or high.status == 2:  # inconsistent totals prove nothing: treat as exposed
            out.append(c)
            continue
        lo = float(low.fun) if low.status == 0 else float("-inf")
        hi = float(-high.fun) if high.status == 0 else float("inf")
        need = float(threshold) if pivot.op == "count" else max(abs(_number(pivot, c)), 1e-9)
        if hi - lo < need - 1e-6:
            out.append(c)
    return out


def _pick(pivot: Pivot, hidden: set[Cell], members: Sequence[Cell]) -> Cell | None:
    """The next cell to hide among a sum's members: the smallest positive lower-level cell, else any."""
    options = [c for c in members if c not in hidden and c in pivot.values]
    if not options:
        return None
    return min(options, key=lambda c: (_number(pivot, c) <= 0, c == members[0], abs(_number(pivot, c)), c))


# The hidden cells depend only on the laid-out numbers and the threshold, never on who looks, so a
# table suppressed once (a few seconds of linear programming for a large one) is reused by this process.
_SUPPRESSED: OrderedDict[str, frozenset[Cell]] = OrderedDict()
SUPPRESSED_KEPT: Final = 128


def _suppression_key(pivot: Pivot, threshold: int) -> str:
    layout = (
        pivot.op,
        threshold,
        [(line.key, line.kind) for line in pivot.rows],
        [(line.key, line.kind) for line in pivot.cols],
        sorted(pivot.values.items()),
        sorted(pivot.counts.items()),
    )
    return hashlib.sha256(repr(layout).encode()).hexdigest()


def suppress(pivot: Pivot, *, threshold: int) -> None:
    """Hide small cells, and for counts and sums the complementary cells that keep them from being worked back."""
    pivot.threshold = threshold
    hidden = {c for c in pivot.values if _small(pivot, c, threshold)}
    if hidden and pivot.op in ADDITIVE_OPS:
        if len(pivot.values) > MAX_SUPPRESSED_CELLS:
            raise SpecError(
                "表が大きすぎるため、課の外に出す表の秘匿処理ができません。絞り込むか項目を減らしてください。"
            )
        key = _suppression_key(pivot, threshold)
        known = _SUPPRESSED.get(key)
        if known is None:
            known = frozenset(_complement(pivot, hidden, threshold))
            _SUPPRESSED[key] = known
            while len(_SUPPRESSED) > SUPPRESSED_KEPT:
                _SUPPRESSED.popitem(last=False)
        hidden = set(known)
    pivot.hidden = hidden


def complement(pivot: Pivot, hidden: set[Cell], threshold: int) -> set[Cell]:
    """``hidden`` and the complementary cells that keep its small cells from being worked back from the sums.

    Every cell when the table cannot be protected cell by cell (used for charts that publish totals
    through shares, :mod:`machidata.charts.suppression`).
    """
    if not hidden:
        return set()
    if len(pivot.values) > MAX_SUPPRESSED_CELLS:
        raise SpecError(
            "表が大きすぎるため、課の外に出す表の秘匿処理ができません。絞り込むか項目を減らしてください。"
        )
    return _complement(pivot, hidden, threshold)


def _complement(pivot: Pivot, hidden: set[Cell], threshold: int) -> set[Cell]:
    sums = [[parent, *kids] for parent, kids in relations(pivot)]
    result = set(hidden)
    for _ in range(MAX_ROUNDS):
        changed = False
        for members in sums:  # a sum with exactly one hidden member gives it away by subtraction
            if sum(1 for c in members if c in result) == 1:
                pick = _pick(pivot, result, members)
                if pick is not None:
                    result.add(pick)
                    changed = True
        if changed:
            continue
        still = exposed(pivot, result, threshold=threshold, check=hidden)
        if not still:
            return result
        for cell in still:
            for members in sums:
                if cell in members:
                    pick = _pick(pivot, result, members)
                    if pick is not None:
                        result.add(pick)
                        changed = True
                        break
        if not changed:
            break
    return set(pivot.values)  # cannot be protected cell by cell: show none of it


# ---- the drawn grid (exports) ---------------------------------------------------------------------

CELL_WIDTH: Final = 120
ROW_HEIGHT: Final = 22


def pivot_description(title: str, pivot: Pivot, source: str = "") -> str:
    """The text alternative: what is crossed with what, the grand total, and how many cells are hidden."""
    axes = "と".join(pivot.row_names) or "全体"
    name = title or "無題の表"
    kind = "" if "ピボット表" in name else "（ピボット表）"  # a title that says so already is not repeated
    parts = [f"{name}{kind}。{axes}を行に"]
    if pivot.col_names:
        parts.append(f"、{'と'.join(pivot.col_names)}を列に")
    parts.append(f"した{pivot.value_name}の表（小計・合計つき）。")
    total = pivot.grand_total
    if total is not None:
        parts.append(f"全体の{pivot.value_name}は{_fmt(total)}。")
    if pivot.hidden:
        parts.append(f"{len(pivot.hidden)}個のセルは小さい数を秘匿するため{HIDDEN}で表示。")
    if source:
        parts.append(f"出典: {source}。")
    return "".join(parts)


def pivot_spec(pivot: Pivot) -> dict[str, Any]:
    """The pivot as a grid of text marks (headers and 小計・合計 in bold) for server-side exports."""
    header, body = pivot.grid()
    keys = len(pivot.row_names) or 1
    cells = [{"r": 0, "c": c, "t": t, "b": True, "n": c >= keys} for c, t in enumerate(header)]
    for r, (kind, line) in enumerate(body, start=1):
        strong = kind != "detail"
        cells += [
            {
                "r": r,
                "c": c,
                "t": t,
                "b": strong or c < keys or pivot.cols[c - keys].kind != "detail",
                "n": c >= keys,
            }
            for c, t in enumerate(line)
        ]
    layers = []
    for bold in (False, True):
        for numeric in (False, True):
            layers.append(
                {
                    "transform": [
                        {"filter": f"{'' if bold else '!'}datum.b && {'' if numeric else '!'}datum.n"}
                    ],
                    "mark": {
                        "type": "text",
                        "align": "right" if numeric else "left",
                        "dx": CELL_WIDTH / 2 - 6 if numeric else -CELL_WIDTH / 2 + 6,
                        "fontWeight": "bold" if bold else "normal",
                        "limit": CELL_WIDTH - 8,
                    },
                    "encoding": {
                        "x": {"field": "c", "type": "ordinal", "axis": None},
                        "y": {"field": "r", "type": "ordinal", "axis": None},
                        "text": {"field": "t"},
                    },
                }
            )
    return {
        "$schema": SCHEMA_URL,
        "data": {"values": cells},
        "width": {"step": CELL_WIDTH},
        "height": {"step": ROW_HEIGHT},
        "layer": layers,
    }
