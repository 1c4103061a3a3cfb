"""Difference-in-differences recovers a planted effect; pre-trend and placebo checks catch broken designs."""

from __future__ import annotations

import pandas as pd
import pytest

from machidata.analysis.did import did_2x2, did_twfe
from machidata.analysis.tests.conftest import panel

TREATED = [f"区{u:02d}" for u in range(5)]


def test_twfe_recovers_the_effect_with_clustered_errors() -> None:
    result = did_twfe(
        panel(effect=3.0), unit="区", time="年度", outcome="件数", treated_units=TREATED, intervention=2020
    )
    assert result.ci_low is not None
    assert result.ci_high is not None
    assert result.ci_low < 3.0 < result.ci_high
    assert result.p_value is not None
    assert result.p_value < 0.01
    assert "クラスター" in result.test
    assert result.n == 200
    assert {c.code: c.passed for c in result.checks}["pretrend"]
    assert {c.code: c.passed for c in result.checks}["placebo"]
    assert result.evidence_level == 4
    groups = {(row["group"], row["phase"]) for row in result.chart}
    assert groups == {("介入群", "介入前"), ("介入群", "介入後"), ("比較群", "介入前"), ("比較群", "介入後")}


def test_twfe_equals_the_2x2_of_means_in_a_balanced_panel() -> None:
    data = panel(effect=2.0, seed=9)
    twfe = did_twfe(data, unit="区", time="年度", outcome="件数", treated_units=TREATED, intervention=2020)
    means = data.assign(t=data["区"].isin(TREATED), p=data["年度"] >= 2020).groupby(["t", "p"])["件数"].mean()
    by_hand = (means[True, True] - means[True, False]) - (means[False, True] - means[False, False])
    assert twfe.estimate == pytest.approx(by_hand, abs=1e-9)
    two_by_two = did_2x2(
        data, unit="区", time="年度", outcome="件数", treated_units=TREATED, intervention=2020
    )
    assert two_by_two.estimate == pytest.approx(by_hand, abs=1e-9)
    assert two_by_two.ci_low is not None


def test_diverging_pre_trends_fail_the_pretrend_check() -> None:
    data = panel(effect=0.0)
    data.loc[data["区"].isin(TREATED), "件数"] += 1.5 * (data["年度"] - 2015)
    result = did_twfe(data, unit="区", time="年度", outcome="件数", treated_units=TREATED, intervention=2020)
    failed = {c.code: c.reason for c in result.warnings}
    assert "pretrend" in failed
    assert "平行トレンド" in failed["pretrend"]
    assert result.evidence_level is not None
    assert result.evidence_level < 4


def test_an_earlier_shift_fails_the_placebo() -> None:
    data = panel(effect=0.0, seed=4)
    data.loc[data["区"].isin(TREATED) & (data["年度"] >= 2017), "件数"] += 6
    result = did_twfe(data, unit="区", time="年度", outcome="件数", treated_units=TREATED, intervention=2020)
    failed = {c.code: c.reason for c in result.warnings}
    assert "placebo" in failed
    assert result.details["placebo_time"] == "2017"


def test_twfe_with_a_covariate_and_dates() -> None:
    data = panel(effect=3.0)
    data["年度"] = pd.to_datetime(data["年度"].astype(str) + "-04-01")
    data["気温"] = (data.index % 7).astype(float)
    result = did_twfe(
        data,
        unit="区",
        time="年度",
        outcome="件数",
        treated_units=TREATED,
        intervention="2020-04-01",
        covariates=["気温"],
    )
    assert result.ci_low is not None
    assert result.ci_high is not None
    assert result.ci_low < 3.0 < result.ci_high
    assert "気温" in result.details["covariates"]


def test_few_units_warns_about_clustering() -> None:
    data = panel(units=4, treated=2)
    result = did_2x2(
        data, unit="区", time="年度", outcome="件数", treated_units=["区00", "区01"], intervention=2020
    )
    assert "few_clusters" in {c.code for c in result.warnings}
    assert "HC1" in result.test
