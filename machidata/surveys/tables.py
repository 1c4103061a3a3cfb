"""Frequency tables, crosstabs and their heat map, from parsed answers (no Django, no I/O).

The denominator rule (fixed, and the same in every round, so rounds compare):

* ``respondents`` (default): a share is the number choosing an option ÷ the respondents *to the
  question* (those who chose at least one option, n). 無回答 is shown as its own count and is not in
  n. A multi-select question's shares may therefore add up to more than 100%.
* ``selections``: ÷ the number of options chosen in total (shares add up to 100%).

Weighted shares use the same rule with weights; n stays the unweighted count of respondents.
Tables that leave the division are suppressed with :mod:`machidata.publish.suppression` (cells
below the threshold, plus the cells a total would give away), shown as ＊.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from machidata.charts.vegalite import SCHEMA_URL, base_config
from machidata.core.errors import InvalidInput
from machidata.publish.suppression import Grid, suppress
from machidata.surveys.forms_excel import NO_ANSWER, OTHER, Cell, read_single, split_multi

SMALL_BASE: Final = 30  # n below this: shares are marked as unstable
DEFAULT_THRESHOLD: Final = 5  # cells below this are hidden in tables that leave the division
HIDDEN: Final = "＊"
DENOMINATORS: Final = {"respondents": "回答者数（n）で割る", "selections": "選ばれた数の合計で割る"}


@dataclass
class Parsed:
    """One choice question read against its options: each respondent's chosen options (empty = 無回答)."""

    kind: str
    options: list[str]  # the declared options, plus その他 when answers fell outside them
    chosen: list[list[str]]
    unknown: Counter[str] = field(default_factory=Counter)  # raw values read as その他


def parse_choices(kind: str, options: Sequence[str], cells: Sequence[Cell]) -> Parsed:
    """Read every cell of a single- or multi-select question; values outside the options become その他."""
    chosen: list[list[str]] = []
    unknown: Counter[str] = Counter()
    for cell in cells:
        if kind == "multi":
            picked, rest = split_multi(cell, options)
            if rest:
                unknown.update(rest)
                if OTHER not in picked:
                    picked.append(OTHER)
            chosen.append(picked)
        else:
            option, raw = read_single(cell, options)
            if raw is not None:
                unknown[raw] += 1
                option = OTHER
            chosen.append([option] if option else [])
    listed = list(options)
    if unknown and OTHER not in listed:
        listed.append(OTHER)
    return Parsed(kind, listed, chosen, unknown)


def _weights(weights: np.ndarray | None, size: int) -> np.ndarray:
    return np.ones(size) if weights is None else np.asarray(weights, dtype=float)


def _div(a: float, b: float) -> float | None:
    return None if b <= 0 else a / b


@dataclass
class FreqRow:
    """One option of a frequency table."""

    option: str
    count: int
    share: float | None
    weighted_share: float | None = None
    hidden: bool = False


@dataclass
class Frequency:
    """A single- or multi-select frequency table."""

    n: int  # respondents to the question
    total: int  # respondents of the round
    no_answer: int
    selections: int
    denominator: str
    rows: list[FreqRow]
    weighted: bool = False

    @property
    def small_base(self) -> bool:
        """n below :data:`SMALL_BASE`."""
        return self.n < SMALL_BASE

    @property
    def share_sum(self) -> float:
        """The sum of the shares (over 1 for multi-select questions divided by respondents)."""
        return sum(r.share or 0.0 for r in self.rows)


def frequency(
    parsed: Parsed, *, weights: np.ndarray | None = None, denominator: str = "respondents"
) -> Frequency:
    """Counts and shares of every option (n = respondents to the question; 無回答 apart)."""
    if denominator not in DENOMINATORS:
        raise InvalidInput("割合の分母は「回答者数」か「選ばれた数の合計」を選んでください。")
    w = _weights(weights, len(parsed.chosen))
    answered = [bool(c) for c in parsed.chosen]
    n = sum(answered)
    selections = sum(len(c) for c in parsed.chosen)
    w_answered = float(sum(wi for wi, a in zip(w, answered, strict=True) if a))
    w_selections = float(sum(wi * len(c) for wi, c in zip(w, parsed.chosen, strict=True)))
    counts: Counter[str] = Counter()
    wcounts: dict[str, float] = {}
    for wi, picked in zip(w, parsed.chosen, strict=True):
        for option in picked:
            counts[option] += 1
            wcounts[option] = wcounts.get(option, 0.0) + float(wi)
    base, wbase = (n, w_answered) if denominator == "respondents" else (selections, w_selections)
    rows = [
        FreqRow(
            option,
            counts[option],
            _div(counts[option], base),
            _div(wcounts.get(option, 0.0), wbase) if weights is not None else None,
        )
        for option in parsed.options
    ]
    return Frequency(
        n=n,
        total=len(parsed.chosen),
        no_answer=len(parsed.chosen) - n,
        selections=selections,
        denominator=denominator,
        rows=rows,
        weighted=weights is not None,
    )


@dataclass
class CrossCell:
    """One cell: count, share of the row's n, weighted share; ``hidden`` when suppressed."""

    count: int
    share: float | None
    weighted_share: float | None = None
    hidden: bool = False


@dataclass
class CrossRow:
    """One group of the attribute question (or 全体)."""

    label: str
    n: int
    cells: list[CrossCell]
    hidden: bool = False  # n itself is hidden (a group smaller than the suppression threshold)

    @property
    def small_base(self) -> bool:
        """n below :data:`SMALL_BASE`."""
        return self.n < SMALL_BASE


@dataclass
class Crosstab:
    """Attribute (rows) × question (columns), shares within each row."""

    columns: list[str]
    rows: list[CrossRow]
    total: CrossRow
    denominator: str
    weighted: bool = False
    suppressed: bool = False
    threshold: int = DEFAULT_THRESHOLD
    hidden_cells: int = 0


def crosstab(
    by: Parsed,
    of: Parsed,
    *,
    weights: np.ndarray | None = None,
    denominator: str = "respondents",
    suppress_below: int | None = None,
) -> Crosstab:
    """Cross ``of`` (single or multi) by the single-select attribute ``by``; 無回答 of ``by`` is its own row.

    ``suppress_below``: hide cells with 1 ≤ count < it, and the complementary cells a total would
    reveal (the table leaves the division).
    """
    if by.kind != "single":
        raise InvalidInput("表側（行）に使えるのは単一選択の質問（所属局・職位など）です。")
    if len(by.chosen) != len(of.chosen):
        raise InvalidInput(
            "二つの質問の回答数が合いません。"
        )  # pragma: no cover - same round by construction
    w = _weights(weights, len(of.chosen))
    labels = list(by.options) + ([NO_ANSWER] if any(not c for c in by.chosen) else [])
    groups = [c[0] if c else NO_ANSWER for c in by.chosen]

    def row(label: str, members: list[int]) -> CrossRow:
        answered = [i for i in members if of.chosen[i]]
        n = len(answered)
        sel = sum(len(of.chosen[i]) for i in answered)
        w_n = float(sum(w[i] for i in answered))
        w_sel = float(sum(w[i] * len(of.chosen[i]) for i in answered))
        base, wbase = (n, w_n) if denominator == "respondents" else (sel, w_sel)
        cells = []
        for option in of.options:
            chose = [i for i in answered if option in of.chosen[i]]
            count = len(chose)
            wshare = _div(float(sum(w[i] for i in chose)), wbase) if weights is not None else None
            cells.append(CrossCell(count, _div(count, base), wshare))
        return CrossRow(label, n, cells)

    rows = [row(label, [i for i, g in enumerate(groups) if g == label]) for label in labels]
    total = row("全体", list(range(len(groups))))
    table = Crosstab(of.options, rows, total, denominator, weighted=weights is not None)
    if suppress_below is not None:
        _suppress(table, single=of.kind == "single", threshold=suppress_below)
    return table


def _suppress(table: Crosstab, *, single: bool, threshold: int) -> None:
    """Hide small cells and their complements (publish.suppression; its audit leaves none exposed).

    Lines too small to protect are hidden whole first: a group with n below the threshold (its n
    too), then an option whose total below the threshold (its 全体 cell too). They are left out of
    the grid handed to the suppression, with the published totals lowered by their values, which
    is stricter than the truth (an intruder does not know them), so protection errs on the safe side.
    """
    rows = [r for r in table.rows if r.n >= threshold]
    for r in table.rows:
        if r.n < threshold:
            r.hidden = True
            for c in r.cells:
                c.hidden = True
    kept_cols = []
    for j, total in enumerate(table.total.cells):
        visible_total = sum(r.cells[j].count for r in rows)
        if 1 <= total.count < threshold or 1 <= visible_total < threshold:
            total.hidden = total.count < threshold
            for r in table.rows:
                r.cells[j].hidden = True
        else:
            kept_cols.append(j)
    hidden: set[tuple[int, int]] = set()
    if rows and kept_cols:
        values = [[r.cells[j].count for j in kept_cols] for r in rows]
        grid = Grid(
            row_labels=[r.label for r in rows],
            col_labels=[table.columns[j] for j in kept_cols],
            values=values,  # type: ignore[arg-type]
            # A single-select row's cells add up to its n, so n is a row total an intruder could subtract
            # from; a multi-select row's cells do not (one person counts in several), so only columns are.
            row_totals=[sum(v) for v in values] if single else None,
            col_totals=[sum(v[k] for v in values) for k in range(len(kept_cols))],
        )
        hidden, _ = suppress(grid, threshold=threshold)
        for i, k in hidden:
            rows[i].cells[kept_cols[k]].hidden = True
    table.suppressed = True
    table.threshold = threshold
    table.hidden_cells = sum(c.hidden for r in table.rows for c in r.cells) + sum(
        c.hidden for c in table.total.cells
    )


def percent(value: float | None) -> str:
    """0.356 → "35.6%" (None → "—")."""
    return "—" if value is None else f"{value * 100:.1f}%"


def heatmap_spec(table: Crosstab, *, title: str, row_title: str) -> dict[str, Any]:
    """A Vega-Lite heat map of the crosstab's shares (hidden cells drawn blank and labelled ＊)."""
    values = []
    for r in table.rows:
        for option, cell in zip(table.columns, r.cells, strict=True):
            share = cell.weighted_share if table.weighted else cell.share
            values.append(
                {
                    "row": f"{r.label}（n={HIDDEN if r.hidden else r.n}）" + ("※" if r.small_base else ""),
                    "column": option,
                    "share": None if cell.hidden or share is None else round(share * 100, 1),
                    "label": HIDDEN if cell.hidden else percent(share),
                }
            )
    y_sort = [v["row"] for v in values[:: max(1, len(table.columns))]]
    encoding_x = {"field": "column", "type": "nominal", "title": None, "sort": list(table.columns)}
    encoding_y = {"field": "row", "type": "nominal", "title": row_title, "sort": y_sort}
    return {
        "$schema": SCHEMA_URL,
        "title": {"text": title, "subtitle": "割合（%）。※は回答者30人未満、＊は秘匿したセル"},
        "data": {"values": values},
        "config": base_config(),
        "width": {"step": 56},
        "height": {"step": 28},
        "encoding": {"x": {**encoding_x, "axis": {"labelAngle": -40, "labelLimit": 160}}, "y": encoding_y},
        "layer": [
            {
                "mark": {"type": "rect"},
                "encoding": {
                    "color": {
                        "field": "share",
                        "type": "quantitative",
                        "title": "割合（%）",
                        "scale": {"scheme": "blues", "domainMin": 0},
                    },
                    "tooltip": [
                        {"field": "row", "title": row_title},
                        {"field": "column", "title": "選択肢"},
                        {"field": "label", "title": "割合"},
                    ],
                },
            },
            {"mark": {"type": "text", "fontSize": 11}, "encoding": {"text": {"field": "label"}}},
        ],
    }


def suppress_frequency(table: Frequency, *, single: bool, threshold: int = DEFAULT_THRESHOLD) -> int:
    """Hide small counts of a frequency table that leaves the division; returns how many were hidden.

    A single-select table's counts add up to n, so a second cell is hidden when one would be given
    away by subtraction (publish.suppression does both); multi-select counts do not add up.
    """
    if table.n < threshold:
        for r in table.rows:
            r.hidden = True
        return len(table.rows)
    grid = Grid(
        row_labels=["全体"],
        col_labels=[r.option for r in table.rows],
        values=[[r.count for r in table.rows]],
        row_totals=[table.n] if single else None,
    )
    hidden, _ = suppress(grid, threshold=threshold)
    for _, j in hidden:
        table.rows[j].hidden = True
    return len(hidden)


@dataclass
class NumberSummary:
    """A numeric question: respondents, 無回答, mean, median, min and max (weighted mean when asked)."""

    n: int
    no_answer: int
    mean: float | None
    median: float | None
    minimum: float | None
    maximum: float | None
    weighted_mean: float | None = None


def number_summary(values: Sequence[float | None], *, weights: np.ndarray | None = None) -> NumberSummary:
    """Summarise the numeric answers (blank answers are 無回答, outside n)."""
    present = np.array([v for v in values if v is not None], dtype=float)
    n = int(present.size)
    if not n:
        return NumberSummary(0, len(values), None, None, None, None)
    weighted = None
    if weights is not None:
        w = np.array([wi for wi, v in zip(weights, values, strict=True) if v is not None], dtype=float)
        weighted = float(np.average(present, weights=w)) if w.sum() > 0 else None
    return NumberSummary(
        n=n,
        no_answer=len(values) - n,
        mean=float(present.mean()),
        median=float(np.median(present)),
        minimum=float(present.min()),
        maximum=float(present.max()),
        weighted_mean=weighted,
    )
