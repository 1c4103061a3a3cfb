"""Weights: post-stratification to known counts (one margin) and raking (several margins).

Hand-written on purpose, and short: the maintained survey packages were checked first (see
docs/architecture.md, 「アンケート集計」): samplics is archived by its author, its successor svy
brings polars and a Rust extension, weightipy brings pandas into the runtime. Raking here is the
textbook iterative proportional fitting (Deming & Stephan 1940), tested against a 2×2 table solved
by hand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np

from machidata.core.errors import InvalidInput

MAX_ITER: Final = 200
TOLERANCE: Final = 1e-9


def _check_margin(label: str, groups: Sequence[str | None], targets: Mapping[str, float]) -> None:
    if not targets:
        raise InvalidInput(f"「{label}」の目標（母集団の人数）がありません。")
    if any(v is None or float(v) <= 0 for v in targets.values()):
        raise InvalidInput(f"「{label}」の目標の人数は、すべて0より大きい数にしてください。")
    present = set(groups)
    missing_target = sorted(str(g) for g in present if g not in targets)
    if missing_target:
        shown = "、".join("無回答" if g == "None" else g for g in missing_target[:5])
        raise InvalidInput(
            f"「{label}」の回答に目標の人数がない区分があります: {shown}。すべての区分の人数を入れてください"
            "（無回答の人がいる質問では重み付けできません）。"
        )
    empty = sorted(k for k in targets if k not in present)
    if empty:
        raise InvalidInput(
            f"「{label}」の区分 {'、'.join(empty[:5])} には回答者がいないため、重みを決められません。"
            "区分をまとめてから重み付けしてください。"
        )


def poststratify(
    groups: Sequence[str | None], targets: Mapping[str, float], *, label: str = ""
) -> np.ndarray:
    """Weight = known count of the respondent's group ÷ respondents in that group (weights sum to the total)."""
    _check_margin(label, groups, targets)
    values = np.array([str(g) for g in groups], dtype=object)
    weights = np.zeros(len(groups), dtype=float)
    for key, total in targets.items():
        mask = values == key
        weights[mask] = float(total) / int(mask.sum())
    return weights


def rake(margins: Mapping[str, tuple[Sequence[str | None], Mapping[str, float]]]) -> np.ndarray:
    """Iterative proportional fitting: weights whose sums match every margin's targets.

    ``margins`` maps a label to (each respondent's group, target count per group). The margins must
    agree on the total; weights start at 1 and are scaled margin by margin until all match.
    """
    if not margins:
        raise InvalidInput("重み付けの目標がありません。")
    totals = {label: sum(float(v) for v in t.values()) for label, (_, t) in margins.items()}
    first = next(iter(totals.values()))
    if any(abs(t - first) > 1e-6 * max(1.0, first) for t in totals.values()):
        shown = "、".join(f"{k} {v:,.0f}" for k, v in totals.items())
        raise InvalidInput(f"目標の合計が質問ごとに違います（{shown}）。同じ母集団の人数にしてください。")
    prepared = []
    size = None
    for label, (groups, targets) in margins.items():
        _check_margin(label, groups, targets)
        size = len(groups) if size is None else size
        values = np.array([str(g) for g in groups], dtype=object)
        prepared.append([(values == k, float(v)) for k, v in targets.items()])
    weights = np.ones(size or 0, dtype=float)
    for _ in range(MAX_ITER):
        for margin in prepared:
            for mask, target in margin:
                weights[mask] *= target / weights[mask].sum()
        gap = max(abs(weights[mask].sum() - target) for margin in prepared for mask, target in margin)
        if gap <= TOLERANCE * max(1.0, first):
            return weights
    raise InvalidInput("重み付けが収束しませんでした。目標の人数か区分の組み合わせを見直してください。")
