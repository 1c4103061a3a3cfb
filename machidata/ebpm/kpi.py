"""Achievement rates and statuses of indicators (pure functions; the rules are in docs/guide/ebpm.md).

* ``ratio`` — 上向き: 実績 ÷ 目標; 下向き: 目標 ÷ 実績.
* ``progress`` — (実績 − 基準値) ÷ (目標 − 基準値): the share of the planned change achieved (either direction).

Status in the latest year with an actual: 達成 when the actual reaches the target in the indicator's
direction; otherwise 順調 when the rate is at least :data:`ON_TRACK`, else 遅れ. Without a target for
that year it compares with the baseline (moved the right way: 順調, else 遅れ); with neither it is
未測定 (nothing to compare with). No actual at all: 未測定. A query that no longer fits its table: 要確認.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, DivisionByZero, InvalidOperation
from typing import Final

ON_TRACK: Final = Decimal("0.8")


def achievement_rate(
    *, rule: str, direction: str, actual: Decimal, target: Decimal | None, baseline: Decimal | None
) -> Decimal | None:
    """The achievement rate (1 = 100 %), or None when it cannot be computed (no target, division by zero)."""
    if target is None:
        return None
    try:
        if rule == "progress":
            if baseline is None or target == baseline:
                return None
            return (actual - baseline) / (target - baseline)
        if direction == "down":
            return None if actual == 0 else target / actual
        return None if target == 0 else actual / target
    except (DivisionByZero, InvalidOperation):  # pragma: no cover - guarded above
        return None


def reached(*, direction: str, actual: Decimal, target: Decimal) -> bool:
    """Whether ``actual`` reaches ``target`` in the indicator's direction."""
    return actual <= target if direction == "down" else actual >= target


@dataclass(frozen=True)
class Judgement:
    """A status with the rate and year it is based on, and why (for 未測定 with actuals)."""

    status: str
    year: int | None = None
    rate: Decimal | None = None
    reason: str = ""


def judge(
    *,
    rule: str,
    direction: str,
    baseline: Decimal | None,
    actuals: dict[int, Decimal],
    targets: dict[int, Decimal | None],
) -> Judgement:
    """The status of an indicator from its actuals and current targets by 年度."""
    if not actuals:
        return Judgement("unmeasured")
    year = max(actuals)
    actual = actuals[year]
    target = targets.get(year)
    if target is None:
        if baseline is None:
            return Judgement("unmeasured", year, None, "比べる目標値も基準値もありません。")
        better = actual >= baseline if direction != "down" else actual <= baseline
        return Judgement(
            "on_track" if better else "behind", year, None, "目標未設定のため基準値と比べています。"
        )
    rate = achievement_rate(rule=rule, direction=direction, actual=actual, target=target, baseline=baseline)
    if reached(direction=direction, actual=actual, target=target):
        return Judgement("achieved", year, rate)
    if rate is not None and rate >= ON_TRACK:
        return Judgement("on_track", year, rate)
    return Judgement("behind", year, rate)
