"""Before/after and two-group comparisons recover a known difference and say when the design is weak."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from machidata.analysis.before_after import before_after, compare_groups


def step_series(*, jump: float, noise: float = 5.0, seed: int = 0, random_walk: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    shocks = rng.normal(0, noise, 48)
    base = np.cumsum(shocks) if random_walk else shocks
    values = 100 + base + np.where(np.arange(48) >= 24, jump, 0.0)
    return pd.DataFrame({"月": pd.date_range("2022-04-01", periods=48, freq="MS"), "来庁者数": values})


def test_before_after_recovers_the_jump() -> None:
    result = before_after(step_series(jump=20), time="月", outcome="来庁者数", intervention="2024-04-01")
    assert result.ci_low is not None
    assert result.ci_high is not None
    assert result.ci_low < 20 < result.ci_high
    assert result.p_value is not None
    assert result.p_value < 0.001
    assert result.n == 48
    assert result.details["intervention"] == "2024-04"
    assert result.evidence_level == 2
    assert "増えました" in result.interpretation
    assert {row["phase"] for row in result.chart} == {"介入前", "介入後"}


def test_before_after_matches_welch_on_the_two_halves() -> None:
    data = step_series(jump=-8, seed=5)
    result = before_after(data, time="月", outcome="来庁者数", intervention="2024-04-01")
    welch = stats.ttest_ind(data["来庁者数"][24:], data["来庁者数"][:24], equal_var=False)
    assert result.estimate == pytest.approx(data["来庁者数"][24:].mean() - data["来庁者数"][:24].mean())
    assert result.p_value == pytest.approx(welch.pvalue)
    assert "減りました" in result.interpretation


def test_autocorrelated_series_lowers_the_evidence_level() -> None:
    result = before_after(
        step_series(jump=0, random_walk=True, seed=2),
        time="月",
        outcome="来庁者数",
        intervention="2024-04-01",
    )
    warning = {c.code: c for c in result.warnings}
    assert "autocorrelation" in warning
    assert "中断時系列" in warning["autocorrelation"].reason
    assert result.evidence_level == 1


def test_compare_groups_non_randomised_is_level_one() -> None:
    rng = np.random.default_rng(4)
    data = pd.DataFrame(
        {
            "送付": ["あり"] * 200 + ["なし"] * 200,
            "回答日数": np.r_[rng.normal(10, 3, 200), rng.normal(12, 3, 200)],
        }
    )
    result = compare_groups(data, outcome="回答日数", group="送付", treated_value="あり")
    assert result.design == "compare_groups"
    assert result.evidence_level == 1
    assert result.ci_high is not None
    assert result.ci_low is not None
    assert result.ci_low < -2 < result.ci_high
    assert "無作為でない" in result.interpretation
