"""Bad input (issue: "never a traceback"): each case is refused with a plain Japanese reason naming the problem."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from machidata.analysis import checks as ck
from machidata.analysis.before_after import before_after, compare_groups
from machidata.analysis.did import did_2x2, did_twfe
from machidata.analysis.forecast import forecast_counts
from machidata.analysis.its import interrupted_time_series
from machidata.analysis.results import DesignNotFit
from machidata.analysis.synth import synthetic_control
from machidata.analysis.tests.conftest import panel
from machidata.core.errors import InvalidInput


def monthly(n: int = 36, start: str = "2021-04-01") -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {"月": pd.date_range(start, periods=n, freq="MS"), "件数": rng.poisson(100, n).astype(float)}
    )


def refused(call, *codes: str) -> DesignNotFit:  # type: ignore[no-untyped-def]
    with pytest.raises(DesignNotFit) as info:
        call()
    assert isinstance(info.value, InvalidInput)  # views and the API answer 400 with the message
    assert set(codes) <= set(info.value.details), info.value.details
    assert info.value.message.startswith("この分析はこのデータでは実行できません")
    return info.value


def test_too_few_periods() -> None:
    data = monthly(10)
    error = refused(
        lambda: interrupted_time_series(data, time="月", outcome="件数", intervention="2021-07-01"), "periods"
    )
    assert "介入前が 3 月" in error.details["periods"]


def test_no_variation_in_treatment() -> None:
    data = pd.DataFrame({"群": ["A"] * 6, "値": [1.0, 2, 3, 4, 5, 6]})
    error = refused(
        lambda: compare_groups(data, outcome="値", group="群", treated_value="A"), "treatment_variation"
    )
    assert "すべての行" in error.details["treatment_variation"]


def test_treated_group_without_comparison_units() -> None:
    data = panel(units=4, treated=4)
    wards = sorted(data["区"].unique())
    error = refused(
        lambda: did_twfe(
            data, unit="区", time="年度", outcome="件数", treated_units=wards, intervention=2020
        ),
        "comparison",
    )
    assert "比較対象" in error.details["comparison"]


def test_all_missing_outcome() -> None:
    data = monthly().assign(件数=np.nan)
    error = refused(
        lambda: before_after(data, time="月", outcome="件数", intervention="2022-04-01"), "outcome_missing"
    )
    assert "すべて空欄" in error.details["outcome_missing"]


def test_text_outcome_is_all_missing_numbers() -> None:
    data = monthly().assign(件数="多い")
    refused(
        lambda: before_after(data, time="月", outcome="件数", intervention="2022-04-01"), "outcome_missing"
    )


def test_collinear_regressors() -> None:
    data = panel()
    data["人口"] = data["年度"] * 2.0 + 1  # a function of the year effects: cannot be told apart
    error = refused(
        lambda: did_twfe(
            data,
            unit="区",
            time="年度",
            outcome="件数",
            treated_units=["区00"],
            intervention=2020,
            covariates=["人口"],
        ),
        "collinear",
    )
    assert "人口" in error.details["collinear"]


def test_collinear_covariate_in_its() -> None:
    data = monthly().assign(もう一つ=lambda d: d["件数"] * 0 + np.arange(36.0))  # equals the time trend
    error = refused(
        lambda: interrupted_time_series(
            data, time="月", outcome="件数", intervention="2022-10-01", covariates=["もう一つ"]
        ),
        "collinear",
    )
    assert "多重共線性" in error.details["collinear"]


def test_gaps_in_the_series() -> None:
    data = monthly().drop(index=[5, 6])
    error = refused(
        lambda: interrupted_time_series(data, time="月", outcome="件数", intervention="2022-10-01"),
        "time_gaps",
    )
    assert "2 個の月が抜けています" in error.details["time_gaps"]
    assert "2021-09" in error.details["time_gaps"]


def test_duplicate_timestamps() -> None:
    data = pd.concat([monthly(), monthly().iloc[[3]]])
    error = refused(lambda: forecast_counts(data, time="月", outcome="件数", horizon=3), "time_duplicates")
    assert "2021-07" in error.details["time_duplicates"]


def test_duplicate_unit_periods_in_a_panel() -> None:
    data = pd.concat([panel(), panel().iloc[[0]]])
    error = refused(
        lambda: did_2x2(
            data, unit="区", time="年度", outcome="件数", treated_units=["区00"], intervention=2020
        ),
        "time_duplicates",
    )
    assert "区00" in error.details["time_duplicates"]


def test_missing_columns_and_unreadable_dates() -> None:
    refused(
        lambda: before_after(monthly(), time="日付", outcome="件数", intervention="2022-04-01"), "columns"
    )
    bad = monthly().astype({"月": str})
    bad.loc[2, "月"] = "そのうち"
    error = refused(
        lambda: before_after(bad, time="月", outcome="件数", intervention="2022-04-01"), "time_parse"
    )
    assert "そのうち" in error.details["time_parse"]


def test_intervention_outside_the_data() -> None:
    error = refused(
        lambda: before_after(monthly(), time="月", outcome="件数", intervention="2030-04-01"), "intervention"
    )
    assert "期間" in error.details["intervention"]


def test_synthetic_control_needs_donors_and_complete_outcomes() -> None:
    data = panel(units=2, treated=1)
    refused(
        lambda: synthetic_control(
            data, unit="区", time="年度", outcome="件数", treated_unit="区00", intervention=2020
        ),
        "donors",
    )
    holes = panel(units=6, treated=1)
    holes.loc[holes.index[3], "件数"] = np.nan
    refused(
        lambda: synthetic_control(
            holes, unit="区", time="年度", outcome="件数", treated_unit="区00", intervention=2020
        ),
        "balanced",
    )


def test_grain_inference_and_season_length() -> None:
    for freq, grain, season in (
        ("h", "h", 24),
        ("D", "D", 7),
        ("MS", "M", 12),
        ("QS", "Q", 4),
        ("YS", "Y", None),
    ):
        frame = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=30, freq=freq)})
        axis, check = ck.parse_time(frame, "t")
        assert check.passed
        assert axis is not None
        assert (axis.grain, axis.season_length) == (grain, season)


def test_not_collinear_names_the_dependent_column() -> None:
    design = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [0.0, 1, 0, 1], "c": [2.0, 4, 6, 8]})
    check = ck.not_collinear(design)
    assert not check.passed
    assert "「c」" in check.reason
    assert "「a」" not in check.reason
    assert ck.not_collinear(design[["a", "b"]]).passed


def test_small_counts_warn_and_other_values_do_not() -> None:
    small = ck.counts_not_too_small(pd.Series([0.0, 1, 2, 0, 1]))
    assert small is not None
    assert not small.passed
    assert not small.blocking
    assert "少ない" in small.reason
    big = ck.counts_not_too_small(pd.Series([40.0, 51, 62]))
    assert big is not None
    assert big.passed
    assert ck.counts_not_too_small(pd.Series([0.5, 1.2])) is None  # not counts: no opinion
    rng = np.random.default_rng(8)
    sparse = pd.DataFrame(
        {"月": pd.date_range("2020-04-01", periods=48, freq="MS"), "件数": rng.poisson(1.0, 48).astype(float)}
    )
    result = interrupted_time_series(sparse, time="月", outcome="件数", intervention="2022-04-01")
    assert "small_counts" in {c.code for c in result.warnings}


def test_too_many_donors_for_synthetic_control() -> None:
    data = panel(units=45, treated=1)
    refused(
        lambda: synthetic_control(
            data, unit="区", time="年度", outcome="件数", treated_unit="区00", intervention=2020
        ),
        "donors",
    )


def test_constant_outcome_is_refused() -> None:
    data = monthly().assign(件数=5.0)
    error = refused(
        lambda: interrupted_time_series(data, time="月", outcome="件数", intervention="2022-10-01"),
        "outcome_constant",
    )
    assert "すべて同じ" in error.details["outcome_constant"]


def test_rows_without_a_group_belong_to_neither_group() -> None:
    data = pd.DataFrame({"群": ["a", None, "b", "a", "b", "a", "b"], "値": [1.0, 100, 3, 2, 4, 3, 5]})
    result = compare_groups(data, outcome="値", group="群", treated_value="a")
    assert result.n == 6
    assert result.estimate == pytest.approx(2.0 - 4.0)
