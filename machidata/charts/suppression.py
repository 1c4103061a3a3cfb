"""Small-count suppression (秘匿) of every aggregated chart read outside the 課 that owns its data.

Pivots are suppressed in :mod:`machidata.charts.pivot`; this module applies the same rule to the other
aggregated charts (bar, line, area, pie, heatmap, table, number card, ward and mesh maps) and, through
:class:`ChartData`, to their table view and exports:

* The query gets a row count (:data:`~machidata.charts.pivot.N_NAME`) beside its measures. A group
  counting 1 ≤ n < the threshold is *small*: every measure of it is hidden (blank in the drawn
  chart, ＊ in the table view and in CSV/XLSX), whatever the measure (a median of 3 people is as
  telling as their count).
* Complementary suppression where the chart publishes a total: a 構成比 (share of the total, of the
  row or of the column) lets a reader work out each scope's total (count ÷ share), so a hidden group
  could be recovered by subtraction. The scopes are laid out as a pivot (groups under their
  subtotal) and protected by the pivot's own linear-programming check
  (:func:`machidata.charts.pivot.complement`), which hides more groups until every small one keeps an
  interval at least the threshold wide. Shares of a sum (not of the count), and 前期比 (a hidden
  period is the next period's base ÷ its ratio), are hidden in every group once any group is hidden.
* The chart carries a note that cells were hidden.
* Across the charts of one dashboard (:func:`suppress_across`): a chart grouped by fewer keys on the
  same table, version and filters publishes the margins of a finer one (件数 by 区 beside 件数 by
  区 × 事故種別, or a number card of the total), so a cell hidden in the finer chart would be the
  margin minus the shown cells. Each such margin becomes a scope of the finer chart's pivot check,
  and charts with the same keys hide the same groups, until nothing more is hidden.

Plain rows (scatter, histogram, point map) are not counts; the histogram, which counts rows into
bins in the browser, is refused outside the 課 (an aggregated bar chart gives the same picture).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from machidata.charts.pivot import HIDDEN, N_NAME, Line, Pivot, complement

SHARE_OPS: Final = frozenset({"share_of_total", "share_of_row", "share_of_column"})
MAX_CHART_GROUPS: Final = 5_000  # a larger answer is refused rather than left half-protected


class SuppressionError(ValueError):
    """The chart cannot be protected (too many groups); the message says what to do, in Japanese."""


@dataclass
class Hidden:
    """The cells hidden in a chart's answer: (row index, output name); and the threshold used."""

    threshold: int
    cells: set[tuple[int, str]] = field(default_factory=set)
    counts: list[int] = field(default_factory=list)  # each row's count (the basis; never shown)
    groups: set[int] = field(default_factory=set)  # rows hidden whole (small or complementary)

    @property
    def rows(self) -> set[int]:
        """Rows with at least one hidden value."""
        return {i for i, _ in self.cells}

    def note(self) -> str:
        """The line shown under the chart (and written into its files)."""
        return (
            f"{HIDDEN}: 課の外に出すグラフのため、{self.threshold}件未満の小さい数と、"
            "そこから計算できてしまう値を秘匿しています（グラフには描かれません）。"
        )


def with_row_count(query: dict[str, Any]) -> dict[str, Any]:
    """The query with the row count of each group added as :data:`N_NAME` (the basis of 秘匿)."""
    measures = list(query.get("measures") or [{"op": "count"}])
    if any(isinstance(m, Mapping) and m.get("as") == N_NAME for m in measures):
        return query
    return {**query, "measures": [*measures, {"op": "count", "as": N_NAME}]}


def _scope_pivot(
    rows: Sequence[Mapping[str, Any]], keys: list[str], counts: list[int]
) -> tuple[Pivot, list[int]]:
    """The groups as a one-column pivot: each group (detail) under its scope's 小計, all under the 合計.

    ``keys`` are the group keys defining a scope (none: the whole chart). Returns the pivot and, for
    each answer row, its line index.
    """
    lines: list[Line] = []
    values: dict[tuple[int, int], Any] = {}
    where: dict[int, int] = {}
    scopes: dict[tuple[Any, ...], list[int]] = {}
    for i, r in enumerate(rows):
        scopes.setdefault(tuple(r.get(k) for k in keys), []).append(i)
    for s, (scope, members) in enumerate(scopes.items()):
        for i in members:
            where[i] = len(lines)
            values[(len(lines), 0)] = counts[i]
            lines.append(Line((s, i), "detail", (str(scope), str(i))))
        values[(len(lines), 0)] = sum(counts[i] for i in members)
        lines.append(Line((s,), "subtotal", (str(scope), "")))
    values[(len(lines), 0)] = sum(counts)
    lines.append(Line((), "total", ("", "")))
    pivot = Pivot(
        ["範囲", "グループ"], [], "件数", "count", lines, [Line((), "total", ())], values, dict(values)
    )
    return pivot, [where[i] for i in range(len(rows))]


def suppress_rows(
    rows: list[dict[str, Any]],
    *,
    group_names: Sequence[str],
    measures: Mapping[str, Mapping[str, Any]],
    threshold: int,
) -> tuple[list[dict[str, Any]], Hidden]:
    """Hide small groups (and what would reveal them) in ``rows``; the row count column is dropped.

    ``measures`` maps each measure's output name to its spec (``op``, ``column``). Hidden values
    become None in the returned rows; :class:`Hidden` says which, for the table view and files.
    """
    counts = [int(r.get(N_NAME) or 0) for r in rows]
    out = [{k: v for k, v in r.items() if k != N_NAME} for r in rows]
    hidden = Hidden(threshold, counts=counts)
    small = {i for i, n in enumerate(counts) if 1 <= n < threshold}
    if not small:
        return out, hidden
    if len(rows) > MAX_CHART_GROUPS:
        raise SuppressionError(
            "グループが多すぎるため、課の外に出すグラフの秘匿処理ができません。絞り込むか項目を減らしてください。"
        )
    names = [n for n in measures if n != N_NAME]
    ops = {n: str(measures[n].get("op") or "count") for n in names}
    scopes: list[list[str]] = []
    for n in names:
        if ops[n] in SHARE_OPS and not measures[n].get("column"):
            keys = {"share_of_total": [], "share_of_row": list(group_names[:1]),
                    "share_of_column": list(group_names[1:2])}[ops[n]]  # fmt: skip
            if keys not in scopes:
                scopes.append(keys)
    rows_hidden = set(small)
    for _ in range(len(rows) + 1):  # each round can only add rows; stop when no scope adds one
        before = len(rows_hidden)
        for keys in scopes:
            pivot, line_of = _scope_pivot(rows, keys, counts)
            row_of = {line: i for i, line in enumerate(line_of)}
            cells = complement(pivot, {(line_of[i], 0) for i in rows_hidden}, threshold)
            rows_hidden |= {row_of[c[0]] for c in cells if c[0] in row_of}
        if len(rows_hidden) == before:
            break
    hidden.groups = set(rows_hidden)
    for i in rows_hidden:
        hidden.cells |= {(i, n) for n in names}
    everywhere = [
        n
        for n in names
        if ops[n] == "change_from_previous" or (ops[n] in SHARE_OPS and measures[n].get("column"))
    ]
    hidden.cells |= {(i, n) for i in range(len(rows)) for n in everywhere}
    for i, n in hidden.cells:
        out[i][n] = None
    return out, hidden


def shown_rows(rows: Sequence[Mapping[str, Any]], hidden: Hidden | None) -> list[dict[str, Any]]:
    """Rows for the table view and files: hidden values as ＊."""
    out = [dict(r) for r in rows]
    if hidden is not None:
        for i, n in hidden.cells:
            out[i][n] = HIDDEN
    return out


@dataclass
class Answer:
    """One suppressed chart answer of a dashboard, as :func:`suppress_across` compares them.

    ``key`` is equal for answers over the same rows (table, version, filters); ``groups`` are the
    group keys' signatures (column, time grain) in output order and ``names`` their output names;
    ``complete`` is False when the answer was cut (top N, a limit, the row cap): its groups do not
    add up to the margins, and it is left as it is.
    """

    key: Any
    groups: list[tuple[str, str | None]]
    names: list[str]
    rows: list[dict[str, Any]]
    hidden: Hidden
    complete: bool = True


def _group_rows(answer: Answer) -> dict[tuple[Any, ...], int]:
    return {tuple(r.get(n) for n in answer.names): i for i, r in enumerate(answer.rows)}


def suppress_across(answers: Sequence[Answer]) -> list[set[int]]:
    """The rows each answer must hide besides its own so no two answers of one dashboard give a cell away.

    For every pair over the same rows where one answer's group keys are a proper subset of the
    other's, the finer answer's groups are laid out under the coarser one's groups (published
    margins) and protected by :func:`machidata.charts.pivot.complement`; answers with the same keys
    hide the union of their hidden groups. Repeated until no answer hides another group.
    """
    hidden = [set(a.hidden.groups) for a in answers]
    indexes = [_group_rows(a) for a in answers]
    for _ in range(sum(len(a.rows) for a in answers) + 1):
        before = sum(len(h) for h in hidden)
        for f, fine in enumerate(answers):
            if not fine.complete:
                continue
            for c, coarse in enumerate(answers):
                if c == f or coarse.key != fine.key or not set(coarse.groups) <= set(fine.groups):
                    continue
                if set(coarse.groups) == set(fine.groups):  # the same groups: hide what the other hides
                    at = [coarse.groups.index(g) for g in fine.groups]
                    for i in hidden[c]:
                        key = tuple(tuple(coarse.rows[i].get(n) for n in coarse.names)[k] for k in at)
                        if key in indexes[f]:
                            hidden[f].add(indexes[f][key])
                    continue
                if not hidden[f]:
                    continue
                keys = [fine.names[fine.groups.index(g)] for g in coarse.groups]
                pivot, line_of = _scope_pivot(fine.rows, keys, fine.hidden.counts)
                row_of = {line: i for i, line in enumerate(line_of)}
                cells = complement(pivot, {(line_of[i], 0) for i in hidden[f]}, fine.hidden.threshold)
                hidden[f] |= {row_of[cell[0]] for cell in cells if cell[0] in row_of}
        if sum(len(h) for h in hidden) == before:
            break
    return [h - a.hidden.groups for h, a in zip(hidden, answers, strict=True)]


def hide_rows(rows: list[dict[str, Any]], hidden: Hidden, extra: set[int], names: Sequence[str]) -> None:
    """Hide whole rows ``extra`` (every measure in ``names``) in ``rows`` and record them in ``hidden``."""
    for i in extra:
        hidden.groups.add(i)
        for n in names:
            rows[i][n] = None
            hidden.cells.add((i, n))
