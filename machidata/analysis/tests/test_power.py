"""Sample size and power (statsmodels.stats.power), checked against the textbook normal-approximation formula."""

from __future__ import annotations

import math

import pytest
from scipy.stats import norm

from machidata.analysis.power import power_for_n, sample_size_means, sample_size_proportions
from machidata.analysis.results import DesignNotFit


def test_proportions_match_the_cohen_h_formula() -> None:
    p1, p2 = 0.30, 0.40
    h = abs(2 * math.asin(math.sqrt(p2)) - 2 * math.asin(math.sqrt(p1)))
    expected = (
        2 * ((norm.ppf(0.975) + norm.ppf(0.8)) / h) ** 2
    )  # per group; the arcsine difference has variance 2/n
    result = sample_size_proportions(p_control=p1, p_treated=p2)
    # statsmodels also counts the (negligible) other rejection tail, hence the small tolerance.
    assert result.estimate == pytest.approx(expected, rel=1e-5)
    assert result.details["n_treated"] == math.ceil(expected)
    assert f"{math.ceil(expected)} 件" in result.interpretation
    assert math.ceil(expected) == 356  # G*Power and Cohen's tables: 356 per group for 30 % vs 40 %


def test_unequal_groups_and_power_for_n() -> None:
    result = sample_size_means(effect_size=0.5, ratio=2.0)
    assert result.details["n_control"] == math.ceil(result.estimate * 2)
    assert result.details["n_treated"] < 64  # a bigger control group needs fewer treated
    # Cohen's tables: n = 64 per group gives power .80 for d = 0.5.
    assert power_for_n(effect_size=0.5, n_per_group=64) == pytest.approx(0.80, abs=0.01)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"effect_size": 0.5, "alpha": 0.0}, "alpha"),
        ({"effect_size": 0.5, "power": 1.5}, "power"),
        ({"effect_size": 0.0}, "effect"),
        ({"effect_size": 0.5, "ratio": -1.0}, "ratio"),
    ],
)
def test_bad_inputs_are_refused_in_japanese(kwargs: dict[str, float], code: str) -> None:
    with pytest.raises(DesignNotFit) as info:
        sample_size_means(**kwargs)
    assert code in info.value.details


def test_equal_rates_are_refused() -> None:
    with pytest.raises(DesignNotFit, match="異なる2つの値"):
        sample_size_proportions(p_control=0.3, p_treated=0.3)
