"""Achievement rates and statuses."""

from __future__ import annotations

from decimal import Decimal

from machidata.ebpm import kpi

D = Decimal


def test_ratio_rates_both_directions() -> None:
    assert kpi.achievement_rate(rule="ratio", direction="up", actual=D(45), target=D(50), baseline=None) == D(
        "0.9"
    )
    assert kpi.achievement_rate(
        rule="ratio", direction="down", actual=D(10), target=D(8), baseline=None
    ) == D("0.8")
    assert kpi.achievement_rate(rule="ratio", direction="up", actual=D(5), target=D(0), baseline=None) is None
    assert kpi.achievement_rate(rule="ratio", direction="up", actual=D(5), target=None, baseline=None) is None


def test_progress_rate() -> None:
    # baseline 40 → target 50; actual 45 is half way
    assert kpi.achievement_rate(
        rule="progress", direction="up", actual=D(45), target=D(50), baseline=D(40)
    ) == D("0.5")
    # down: 30 → 20; actual 25 is half way
    assert kpi.achievement_rate(
        rule="progress", direction="down", actual=D(25), target=D(20), baseline=D(30)
    ) == D("0.5")
    assert (
        kpi.achievement_rate(rule="progress", direction="up", actual=D(45), target=D(40), baseline=D(40))
        is None
    )


def test_statuses() -> None:
    def judge(
        actuals: dict[int, D], targets: dict[int, D | None], baseline: D | None = None, direction: str = "up"
    ) -> str:
        return kpi.judge(
            rule="ratio", direction=direction, baseline=baseline, actuals=actuals, targets=targets
        ).status

    assert judge({}, {2024: D(50)}) == "unmeasured"
    assert judge({2024: D(50)}, {2024: D(50)}) == "achieved"
    assert judge({2024: D(45)}, {2024: D(50)}) == "on_track"
    assert judge({2024: D(30)}, {2024: D(50)}) == "behind"
    assert judge({2024: D(7)}, {2024: D(8)}, direction="down") == "achieved"
    # the latest year counts
    assert judge({2023: D(60), 2024: D(10)}, {2023: D(50), 2024: D(50)}) == "behind"
    # 目標未設定: compared with the baseline, else nothing to compare with
    assert judge({2024: D(45)}, {2024: None}, baseline=D(40)) == "on_track"
    assert judge({2024: D(35)}, {}, baseline=D(40)) == "behind"
    assert judge({2024: D(35)}, {}) == "unmeasured"
