"""Interrupted time series: segmented regression with seasonality and Newey–West (HAC) standard errors (statsmodels).

Model: ``y = b0 + b1·time + b2·after + b3·time_since + season + covariates + e``; ``b2`` is the level change at the
intervention (the estimate), ``b3`` the change in slope. Errors are autocorrelation- and heteroskedasticity-robust.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.stats.stattools import durbin_watson

from machidata.analysis import checks as ck
from machidata.analysis.interpret import finish
from machidata.analysis.results import AnalysisResult, Check, clean_float, require


def _season_labels(periods: pd.Series, grain: str) -> pd.Series | None:
    if grain == "M":
        return periods.map(lambda p: f"{p.month}月")
    if grain == "Q":
        return periods.map(lambda p: f"第{p.quarter}四半期")
    if grain == "D":
        return periods.map(lambda p: "月火水木金土日"[p.day_of_week] + "曜")
    if grain == "h":
        return periods.map(lambda p: f"{p.hour}時")
    return None


def newey_west_lags(n: int) -> int:
    """The usual rule of thumb for the HAC bandwidth: floor(4·(n/100)^(2/9))."""
    bandwidth: float = 4 * (n / 100) ** (2 / 9)
    return max(1, math.floor(bandwidth))


def interrupted_time_series(
    df: pd.DataFrame,
    *,
    time: str,
    outcome: str,
    intervention: Any,
    grain: str | None = None,
    seasonal: bool = True,
    trend: bool = True,
    slope_change: bool = True,
    covariates: Sequence[str] = (),
    min_pre: int = 8,
    ci_level: float = 0.95,
) -> AnalysisResult:
    """Level change at ``intervention`` in a single series (one row per period), net of trend and season."""
    require([ck.columns_present(df, [time, outcome, *covariates])])
    values, usable = ck.numeric_outcome(df, outcome)
    axis, parsed = ck.parse_time(df, time, grain)
    checks = require([usable, ck.outcome_varies(values), parsed])
    assert axis is not None
    point, when = ck.intervention_period(axis, intervention)
    checks += require([when, *ck.time_regular(axis)])
    frame = pd.DataFrame(
        {
            "period": axis.periods.to_numpy(),
            "y": values.to_numpy(),
            **{name: pd.to_numeric(df[name], errors="coerce").to_numpy() for name in covariates},
        }
    )
    frame = frame.sort_values("period").reset_index(drop=True)  # covariates travel with their rows
    frame["経過"] = np.arange(len(frame), dtype="float64")
    frame["介入後"] = (frame["period"] >= point).astype("float64")
    start = float(frame.loc[frame["介入後"] == 1, "経過"].iloc[0])
    frame["介入後の経過"] = np.maximum(frame["経過"] - start, 0.0) * frame["介入後"]
    frame = frame.dropna()
    n_pre, n_post = int((frame["介入後"] == 0).sum()), int((frame["介入後"] == 1).sum())
    checks += require(
        [
            ck.enough_periods(
                n_pre, n_post, min_pre=min_pre, min_post=2 if slope_change else 1, grain_label=axis.label
            )
        ]
    )

    regressors = [
        "介入後",
        *(["経過"] if trend else []),
        *(["介入後の経過"] if slope_change else []),
        *covariates,
    ]
    exog = frame[regressors]
    season = _season_labels(frame["period"], axis.grain) if seasonal else None
    if season is not None and season.nunique() > 1:
        exog = pd.concat([exog, pd.get_dummies(season, drop_first=True, dtype=float)], axis=1)
    exog = sm.add_constant(exog, has_constant="add").rename(columns={"const": "定数"})
    checks += require(
        [
            ck.not_collinear(exog),
            ck.min_count(len(frame) - exog.shape[1], minimum=3, what="自由度（データ数−係数の数）"),
        ]
    )
    lags = max(newey_west_lags(len(frame)), 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.OLS(frame["y"], exog).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
    interval = fit.conf_int(alpha=1 - ci_level)
    dw = float(durbin_watson(fit.resid))
    checks.append(
        Check(
            "autocorrelation",
            "残差の自己相関が強すぎない",
            1.0 <= dw <= 3.0,
            f"ダービン・ワトソン比は {dw:.2f} です（2 に近いほど自己相関が弱い）。"
            + (
                "" if 1.0 <= dw <= 3.0 else "自己相関が強いため、標準誤差の補正だけでは不十分かもしれません。"
            ),
            blocking=False,
        )
    )
    small = ck.counts_not_too_small(frame["y"])
    if small is not None and not small.passed:
        checks.append(small)
    fitted = fit.fittedvalues
    counterfactual = fitted - fit.params["介入後"] * frame["介入後"]
    if slope_change:
        counterfactual = counterfactual - fit.params["介入後の経過"] * frame["介入後の経過"]
    chart = [
        {
            "time": str(p),
            "value": float(y),
            "fitted": float(f),
            "counterfactual": float(c) if post else None,
            "phase": "介入後" if post else "介入前",
        }
        for p, y, f, c, post in zip(
            frame["period"], frame["y"], fitted, counterfactual, frame["介入後"], strict=True
        )
    ]
    details: dict[str, Any] = {
        "intervention": str(point),
        "season": axis.season_length if season is not None else None,
        "hac_maxlags": lags,
        "durbin_watson": dw,
        "coefficients": {name: clean_float(v) for name, v in fit.params.items()},
        "level_change_p_value": clean_float(fit.pvalues["介入後"]),
        "t_value": clean_float(fit.tvalues["介入後"]),
    }
    if slope_change:
        details["slope_change"] = clean_float(fit.params["介入後の経過"])
        details["slope_change_ci"] = [clean_float(v) for v in interval.loc["介入後の経過"]]
        details["slope_change_p_value"] = clean_float(fit.pvalues["介入後の経過"])
    result = AnalysisResult(
        design="its",
        title="中断時系列分析（分割回帰）",
        outcome=outcome,
        estimate=clean_float(fit.params["介入後"]),
        ci_low=clean_float(interval.loc["介入後"].iloc[0]),
        ci_high=clean_float(interval.loc["介入後"].iloc[1]),
        ci_level=ci_level,
        p_value=clean_float(fit.pvalues["介入後"]),
        test=f"分割回帰・ニューイ＝ウエスト標準誤差（ラグ {lags}）",
        n=int(fit.nobs),
        assumptions=[
            "介入がなければ、介入前の傾向（と季節の動き）がそのまま続いていた。",
            "介入と同じ時点に、成果指標を動かすほかの出来事がなかった。",
            "介入の効果は介入の時点から現れる（準備期間や先取りがない）。",
        ],
        checks=checks,
        chart_kind="its",
        chart=chart,
        details=details,
    )
    return finish(result)
