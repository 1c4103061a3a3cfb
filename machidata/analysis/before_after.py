"""Before/after comparison and two-group comparison: difference in means with Welch's t-test (scipy)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from scipy import stats

from machidata.analysis import checks as ck
from machidata.analysis.interpret import finish
from machidata.analysis.results import AnalysisResult, Check, clean_float, require

WELCH = "ウェルチのt検定（両側）"


def _welch(
    treated: pd.Series, control: pd.Series, ci_level: float
) -> tuple[float, float | None, float | None, float | None]:
    test = stats.ttest_ind(treated, control, equal_var=False)
    interval = test.confidence_interval(confidence_level=ci_level)
    estimate = float(treated.mean() - control.mean())
    return estimate, clean_float(interval.low), clean_float(interval.high), clean_float(test.pvalue)


def compare_groups(
    df: pd.DataFrame,
    *,
    outcome: str,
    group: str,
    treated_value: Any = 1,
    randomised: bool = False,
    ci_level: float = 0.95,
) -> AnalysisResult:
    """Mean ``outcome`` of the rows where ``group == treated_value`` minus the other rows (Welch's t-test).

    With ``randomised=True`` (groups assigned at random, e.g. a reminder-letter trial) the difference is a causal
    effect (evidence level 5); otherwise it is a plain comparison (level 1).
    """
    require([ck.columns_present(df, [outcome, group])])
    values, usable = ck.numeric_outcome(df, outcome)
    has_group = df[group].notna()  # rows without a group belong to neither
    is_treated = (df[group] == treated_value) & has_group
    checks = require(
        [usable, ck.outcome_varies(values), ck.treatment_varies(is_treated[has_group], what="対象群")]
    )
    treated, control = values[is_treated].dropna(), values[~is_treated & has_group].dropna()
    checks += require(
        [
            ck.min_count(len(treated), minimum=2, what="対象群の値"),
            ck.min_count(len(control), minimum=2, what="比較群の値"),
        ]
    )
    estimate, low, high, p = _welch(treated, control, ci_level)
    result = AnalysisResult(
        design="compare_groups_randomised" if randomised else "compare_groups",
        title="2つの群の比較（平均の差）",
        outcome=outcome,
        estimate=estimate,
        ci_low=low,
        ci_high=high,
        ci_level=ci_level,
        p_value=p,
        test=WELCH,
        n=len(treated) + len(control),
        assumptions=[
            "各行（人・施設など）の値は互いに独立している。",
            "平均の差を見るのに十分な数がある（少ない場合は値の分布が正規分布に近い）。",
            "無作為に割り付けた場合に限り、差を介入の効果と読める。"
            if not randomised
            else "群は無作為に割り付けられている。",
        ],
        checks=checks,
        chart_kind="bar_interval",
        chart=[
            {"group": "対象群", "mean": float(treated.mean()), "n": len(treated)},
            {"group": "比較群", "mean": float(control.mean()), "n": len(control)},
        ],
        details={"mean_treated": float(treated.mean()), "mean_control": float(control.mean())},
    )
    return finish(result)


def before_after(
    df: pd.DataFrame,
    *,
    time: str,
    outcome: str,
    intervention: Any,
    grain: str | None = None,
    min_pre: int = 3,
    ci_level: float = 0.95,
) -> AnalysisResult:
    """Mean ``outcome`` from the intervention on minus the mean before it (Welch's t-test, one row per period)."""
    require([ck.columns_present(df, [time, outcome])])
    values, usable = ck.numeric_outcome(df, outcome)
    axis, parsed = ck.parse_time(df, time, grain)
    checks = require([usable, ck.outcome_varies(values), parsed])
    assert axis is not None
    point, when = ck.intervention_period(axis, intervention)
    checks += require([when])
    post = axis.periods >= point
    frame = pd.DataFrame({"t": axis.periods, "y": values, "post": post}).dropna(subset=["y"])
    n_pre, n_post = int((~frame["post"]).sum()), int(frame["post"].sum())
    checks += require(
        [
            ck.enough_periods(n_pre, n_post, min_pre=min_pre, min_post=2, grain_label=axis.label),
            *ck.time_regular(axis),
        ]
    )
    after, before = frame.loc[frame["post"], "y"], frame.loc[~frame["post"], "y"]
    estimate, low, high, p = _welch(after, before, ci_level)
    # Within each phase (the step itself would look like autocorrelation).
    within = frame["y"] - frame.groupby("post")["y"].transform("mean")
    autocorrelated = _lag1_autocorrelation(within) > 0.5
    checks.append(
        Check(
            "autocorrelation",
            "値が時点どうしで強く連動していない",
            not autocorrelated,
            "前の時点の値と強く連動しています（自己相関）。前後比較の信頼区間は狭く出すぎるため、中断時系列分析を使ってください。"
            if autocorrelated
            else "時点どうしの連動は強くありません。",
            blocking=False,
        )
    )
    small = ck.counts_not_too_small(frame["y"])
    if small is not None and not small.passed:
        checks.append(small)
    result = AnalysisResult(
        design="before_after",
        title="介入前後の比較",
        outcome=outcome,
        estimate=estimate,
        ci_low=low,
        ci_high=high,
        ci_level=ci_level,
        p_value=p,
        test=WELCH,
        n=len(frame),
        assumptions=[
            "介入のほかに、同じ時期に成果指標を動かす出来事がなかった。",
            "介入前の平均が、介入がなかった場合の介入後の姿を表す（傾向や季節の変化がない）。",
            "各時点の値は互いに独立している。",
        ],
        checks=checks,
        chart_kind="series_phase",
        chart=[
            {"time": str(t), "value": float(y), "phase": "介入後" if is_post else "介入前"}
            for t, y, is_post in frame[["t", "y", "post"]].itertuples(index=False)
        ],
        details={
            "mean_before": float(before.mean()),
            "mean_after": float(after.mean()),
            "intervention": str(point),
        },
    )
    return finish(result)


def _lag1_autocorrelation(values: pd.Series) -> float:
    if len(values) < 4:
        return 0.0
    value = values.autocorr(lag=1)
    return float(value) if pd.notna(value) else 0.0
