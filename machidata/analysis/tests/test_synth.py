"""Synthetic control on a panel whose treated unit is, before the intervention, a known mix of two donors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from machidata.analysis.synth import synthetic_control


def mixed_panel(effect: float = -5.0) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    years = np.arange(2005, 2025)
    donors = {
        f"区{i}": 50 + 10 * np.sin(years / (2 + i)) + i * 3 + rng.normal(0, 0.2, len(years))
        for i in range(1, 7)
    }
    treated = 0.6 * donors["区1"] + 0.4 * donors["区2"] + np.where(years >= 2018, effect, 0.0)
    rows = [
        {"区": name, "年": int(y), "件数": float(v)}
        for name, values in {"中央区": treated, **donors}.items()
        for y, v in zip(years, values, strict=True)
    ]
    return pd.DataFrame(rows)


def test_weights_effect_fit_and_placebo() -> None:
    result = synthetic_control(
        mixed_panel(), unit="区", time="年", outcome="件数", treated_unit="中央区", intervention=2018
    )
    weights = result.details["weights"]
    assert weights["区1"] == pytest.approx(0.6, abs=0.05)
    assert weights["区2"] == pytest.approx(0.4, abs=0.05)
    assert sum(weights.values()) == pytest.approx(1.0, abs=1e-6)
    assert result.estimate == pytest.approx(-5.0, abs=0.5)
    assert result.details["pre_rmspe"] < 0.5
    assert result.details["post_rmspe"] > 4
    assert {c.code: c.passed for c in result.checks}["pre_fit"]
    # The treated unit's post/pre RMSPE ratio is the most extreme of the 7 units: the exact permutation p-value
    # is its rank over all units, 1/7 (never below it, however large the effect).
    assert result.p_value == pytest.approx(1 / 7)
    assert "出せる最も小さい値です" in result.interpretation
    placebo_units = {row["unit"] for row in result.details["gaps"] if row["kind"] == "プラセボ"}
    assert placebo_units == {f"区{i}" for i in range(1, 7)}
    assert "低くなっています" in result.interpretation
    assert result.evidence_level == 4


def test_no_effect_gives_a_large_placebo_p_value() -> None:
    result = synthetic_control(
        mixed_panel(effect=0.0),
        unit="区",
        time="年",
        outcome="件数",
        treated_unit="中央区",
        intervention=2018,
    )
    assert result.estimate == pytest.approx(0.0, abs=0.5)
    assert result.p_value is not None
    assert result.p_value > 0.1
    assert "出せる最も小さい値" not in result.interpretation


def test_treated_unit_outside_the_donors_range_fails_the_fit_check() -> None:
    data = mixed_panel()
    data.loc[data["区"] == "中央区", "件数"] += 40  # no weighted average of the donors can reach it
    result = synthetic_control(
        data, unit="区", time="年", outcome="件数", treated_unit="中央区", intervention=2018, placebo=False
    )
    assert "pre_fit" in {c.code for c in result.warnings}
    assert result.evidence_level == 3
    assert result.p_value is None
