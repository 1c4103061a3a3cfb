"""Interrupted time series: a level change net of trend and season, with Newey–West errors."""

from __future__ import annotations

import numpy as np
import pandas as pd

from machidata.analysis.its import interrupted_time_series, newey_west_lags


def seasonal_series(*, shift: float, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 72
    months = pd.date_range("2019-04-01", periods=n, freq="MS")
    season = 12 * np.sin(2 * np.pi * months.month.to_numpy() / 12)
    noise = np.zeros(n)
    for i in range(1, n):  # AR(1) errors
        noise[i] = 0.3 * noise[i - 1] + rng.normal(0, 2)
    values = 200 + 0.3 * np.arange(n) + season + noise + np.where(np.arange(n) >= 48, shift, 0.0)
    return pd.DataFrame({"月": months, "救急出動": values})


def test_level_change_recovered_with_season_and_trend() -> None:
    result = interrupted_time_series(
        seasonal_series(shift=-15), time="月", outcome="救急出動", intervention="2023-04-01"
    )
    assert result.ci_low is not None
    assert result.ci_high is not None
    assert result.ci_low < -15 < result.ci_high
    assert result.ci_high < 0
    assert result.details["season"] == 12
    assert result.details["hac_maxlags"] == newey_west_lags(72)
    assert "ニューイ" in result.test
    assert "下がりました" in result.interpretation
    assert result.evidence_level == 3
    post = [row for row in result.chart if row["phase"] == "介入後"]
    assert len(post) == 24
    assert all(row["counterfactual"] is not None for row in post)


def test_without_seasonal_terms_the_season_is_missed() -> None:
    with_season = interrupted_time_series(
        seasonal_series(shift=0, seed=3), time="月", outcome="救急出動", intervention="2023-04-01"
    )
    without = interrupted_time_series(
        seasonal_series(shift=0, seed=3),
        time="月",
        outcome="救急出動",
        intervention="2023-04-01",
        seasonal=False,
    )
    assert without.details["season"] is None
    assert with_season.ci_high is not None
    assert with_season.ci_low is not None
    assert without.ci_high is not None
    assert without.ci_low is not None
    assert (with_season.ci_high - with_season.ci_low) < (without.ci_high - without.ci_low)


def test_newey_west_rule_of_thumb() -> None:
    assert newey_west_lags(100) == 4
    assert newey_west_lags(10) == 2


def test_row_order_does_not_matter_and_covariates_stay_with_their_rows() -> None:
    data = seasonal_series(shift=-15)
    rng = np.random.default_rng(1)
    data["気温"] = rng.normal(20, 5, len(data))
    data["救急出動"] += 2.0 * data["気温"]
    ordered = interrupted_time_series(
        data, time="月", outcome="救急出動", intervention="2023-04-01", covariates=["気温"]
    )
    shuffled = interrupted_time_series(
        data.sample(frac=1, random_state=3).reset_index(drop=True),
        time="月",
        outcome="救急出動",
        intervention="2023-04-01",
        covariates=["気温"],
    )
    assert shuffled.estimate == ordered.estimate
    assert abs(ordered.details["coefficients"]["気温"] - 2.0) < 0.2
    assert ordered.ci_low is not None
    assert ordered.ci_high is not None
    assert ordered.ci_low < -15 < ordered.ci_high
