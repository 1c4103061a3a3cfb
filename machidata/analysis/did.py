"""Difference-in-differences: the 2×2 design (statsmodels OLS) and two-way fixed effects with standard errors
clustered by unit (linearmodels PanelOLS), with pre-trend data for a plot, a pre-trend test and a placebo check."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from linearmodels.panel import PanelOLS

from machidata.analysis import checks as ck
from machidata.analysis.interpret import finish
from machidata.analysis.results import AnalysisResult, Check, DesignNotFit, clean_float, require

# Fewer clusters than this: cluster-robust standard errors are unreliable (heteroskedasticity-robust HC1 instead).
MIN_CLUSTERS = 10
PARALLEL = "介入がなければ、介入群と比較群の成果指標は同じ幅で変化していた（平行トレンド）。"


@dataclass
class _Panel:
    frame: pd.DataFrame  # columns unit, t (int position), label (period text), y, treated, post, d
    checks: list[Check]
    point: Any
    grain_label: str


def _prepare(
    df: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    treated_units: Sequence[Any],
    intervention: Any,
    grain: str | None,
    covariates: Sequence[str] = (),
    min_pre: int = 1,
) -> _Panel:
    require([ck.columns_present(df, [unit, time, outcome, *covariates])])
    values, usable = ck.numeric_outcome(df, outcome)
    axis, parsed = ck.parse_time(df, time, grain)
    checks = require([usable, ck.outcome_varies(values), parsed])
    assert axis is not None
    point, when = ck.intervention_period(axis, intervention)
    checks += require([when])
    treated = df[unit].isin(list(treated_units))
    checks += require([ck.comparison_units(df[unit], treated), *ck.time_regular(axis, df[unit])])
    order = sorted(axis.periods.unique())
    position = {p: i for i, p in enumerate(order)}
    frame = pd.DataFrame(
        {
            "unit": df[unit].astype(str).to_numpy(),
            "t": axis.periods.map(position).astype("int64").to_numpy(),
            "label": axis.periods.astype(str).to_numpy(),
            "y": values.to_numpy(),
            "treated": treated.astype("int64").to_numpy(),
            "post": (axis.periods >= point).astype("int64").to_numpy(),
        }
    )
    for i, name in enumerate(covariates):
        frame[f"x{i}"] = pd.to_numeric(df[name], errors="coerce").to_numpy()
    frame = frame.dropna()
    frame["d"] = frame["treated"] * frame["post"]
    n_pre = int(frame.loc[frame["post"] == 0, "t"].nunique())
    n_post = int(frame.loc[frame["post"] == 1, "t"].nunique())
    checks += require(
        [
            ck.enough_periods(n_pre, n_post, min_pre=min_pre, grain_label=axis.label),
            ck.treatment_varies(frame["d"].astype(bool), what="介入"),
        ]
    )
    return _Panel(frame, checks, point, axis.label)


def _trend_chart(frame: pd.DataFrame) -> list[dict[str, Any]]:
    means = frame.groupby(["t", "label", "post", "treated"], as_index=False)["y"].mean()
    return [
        {
            "time": row.label,
            "group": "介入群" if row.treated else "比較群",
            "mean": float(row.y),
            "phase": "介入後" if row.post else "介入前",
        }
        for row in means.itertuples(index=False)
    ]


def _ols_did(frame: pd.DataFrame, ci_level: float, extra: str = "") -> tuple[Any, str, Check | None]:
    """OLS ``y ~ treated + post + d``; errors clustered by unit when there are enough units, else HC1."""
    n_units = frame["unit"].nunique()
    formula = "y ~ treated + post + d" + extra
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = smf.ols(formula, data=frame)
        if n_units >= MIN_CLUSTERS:
            fit = model.fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(frame["unit"])[0]})
            return fit, "OLS・単位でクラスター化した標準誤差", None
        fit = model.fit(cov_type="HC1") if model.df_resid > 0 else model.fit()
    note = Check(
        "few_clusters",
        "単位の数が十分",
        False,
        f"単位が {n_units} しかないため、単位ごとのまとまり（クラスター）を考えた標準誤差は使えず、信頼区間は楽観的かもしれません。",
        blocking=False,
    )
    return fit, "OLS・不均一分散に頑健な標準誤差（HC1）", note


def _pretrend_check(frame: pd.DataFrame) -> tuple[Check, dict[str, Any]]:
    pre = frame[frame["post"] == 0]
    label = "介入前の傾向が平行"
    if pre["t"].nunique() < 3:
        return Check(
            "pretrend",
            label,
            False,
            "介入前が2期間以下のため、平行トレンドを確かめられません。",
            blocking=False,
        ), {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = smf.ols("y ~ C(unit) + C(t) + treated:t", data=pre)
        n_units = pre["unit"].nunique()
        fit = (
            model.fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(pre["unit"])[0]})
            if n_units >= MIN_CLUSTERS
            else model.fit(cov_type="HC1")
        )
    slope, p = clean_float(fit.params.get("treated:t")), clean_float(fit.pvalues.get("treated:t"))
    info = {"pretrend_slope_difference": slope, "pretrend_p_value": p}
    if p is None:
        return Check(
            "pretrend", label, False, "介入前の傾向の違いを計算できませんでした。", blocking=False
        ), info
    ok = p >= 0.05
    reason = (
        f"介入前、介入群と比較群の傾きの違いは統計的に見られません（p={p:.3f}）。"
        if ok
        else f"介入前から介入群と比較群の傾きが違います（1期あたり {slope:.3g}、p={p:.3f}）。平行トレンドの仮定が疑わしいです。"
    )
    return Check("pretrend", label, ok, reason, blocking=False), info


def _placebo_check(frame: pd.DataFrame, ci_level: float) -> tuple[Check, dict[str, Any]]:
    pre = frame[frame["post"] == 0].copy()
    times = sorted(pre["t"].unique())
    label = "偽の介入時点で効果が出ない（プラセボ）"
    if len(times) < 4:
        return Check(
            "placebo",
            label,
            False,
            "介入前が3期間以下のため、プラセボ検定（偽の介入時点での検証）ができません。",
            blocking=False,
        ), {}
    fake = times[len(times) // 2]
    pre["post"] = (pre["t"] >= fake).astype("int64")
    pre["d"] = pre["treated"] * pre["post"]
    fit, _, _ = _ols_did(pre, ci_level)
    est, p = clean_float(fit.params.get("d")), clean_float(fit.pvalues.get("d"))
    fake_label = str(pre.loc[pre["t"] == fake, "label"].iloc[0])
    info = {"placebo_time": fake_label, "placebo_estimate": est, "placebo_p_value": p}
    if p is None:
        return Check(
            "placebo", label, False, "プラセボ検定の値を計算できませんでした。", blocking=False
        ), info
    ok = p >= 0.05
    reason = (
        f"介入前の「{fake_label}」を偽の介入時点にしても効果は出ません（p={p:.3f}）。"
        if ok
        else f"介入前の「{fake_label}」を偽の介入時点にしても「効果」が出ます（{est:.3g}、p={p:.3f}）。ほかの要因が混ざっている疑いがあります。"
    )
    return Check("placebo", label, ok, reason, blocking=False), info


def did_2x2(
    df: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    treated_units: Sequence[Any],
    intervention: Any,
    grain: str | None = None,
    ci_level: float = 0.95,
) -> AnalysisResult:
    """2×2 difference-in-differences: (treated after − before) − (comparison after − before), as the interaction
    of an OLS regression. With one row per group and period the estimate is exact but has no interval."""
    panel = _prepare(
        df,
        unit=unit,
        time=time,
        outcome=outcome,
        treated_units=treated_units,
        intervention=intervention,
        grain=grain,
    )
    frame, checks = panel.frame, panel.checks
    checks += require([ck.not_collinear(frame[["treated", "post", "d"]].assign(const=1.0))])
    fit, test, note = _ols_did(frame, ci_level)
    if note is not None:
        checks.append(note)
    estimate = clean_float(fit.params["d"])
    low = high = p = None
    if fit.df_resid > 0:
        interval = fit.conf_int(alpha=1 - ci_level).loc["d"]
        low, high, p = clean_float(interval[0]), clean_float(interval[1]), clean_float(fit.pvalues["d"])
    if low is None:
        checks.append(
            Check(
                "interval",
                "信頼区間を計算できる",
                False,
                "各群・各期間の値が1つずつしかないため、信頼区間とp値は計算できません。",
                blocking=False,
            )
        )
    pretrend, pre_info = _pretrend_check(frame)
    placebo, placebo_info = _placebo_check(frame, ci_level)
    checks += [pretrend, placebo]
    cells = frame.groupby(["treated", "post"])["y"].mean()
    result = AnalysisResult(
        design="did_2x2",
        title="差の差分析（2群×2期間）",
        outcome=outcome,
        estimate=estimate,
        ci_low=low,
        ci_high=high,
        ci_level=ci_level,
        p_value=p,
        test=test,
        n=len(frame),
        assumptions=[
            PARALLEL,
            "介入は介入群だけに影響し、比較群には影響しない。",
            "介入の前後で群の構成が変わらない。",
        ],
        checks=checks,
        chart_kind="trend_groups",
        chart=_trend_chart(frame),
        details={
            "cell_means": {
                f"{'介入群' if g else '比較群'}・{'介入後' if t else '介入前'}": float(v)
                for (g, t), v in cells.items()
            },
            "intervention": str(panel.point),
            **pre_info,
            **placebo_info,
        },
    )
    return finish(result)


def did_twfe(
    df: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    treated_units: Sequence[Any],
    intervention: Any,
    covariates: Sequence[str] = (),
    grain: str | None = None,
    ci_level: float = 0.95,
) -> AnalysisResult:
    """Two-way fixed effects (unit and period effects) with standard errors clustered by unit (linearmodels)."""
    panel = _prepare(
        df,
        unit=unit,
        time=time,
        outcome=outcome,
        treated_units=treated_units,
        intervention=intervention,
        grain=grain,
        covariates=covariates,
        min_pre=2,
    )
    frame, checks = panel.frame, panel.checks
    xs = [f"x{i}" for i in range(len(covariates))]
    dummies = pd.get_dummies(frame[["unit"]].astype(str), drop_first=False, dtype=float)
    times = pd.get_dummies(frame["t"].astype(str), prefix="t", drop_first=True, dtype=float)
    # Fixed effects first, the user's variables last: the check then names the variable that adds nothing new.
    design = pd.concat(
        [dummies, times, frame[[*xs, "d"]].rename(columns=dict(zip(xs, covariates, strict=True)))], axis=1
    )
    collinear = ck.not_collinear(design)
    if not collinear.passed:
        collinear = Check(
            collinear.code,
            collinear.label,
            False,
            collinear.reason.replace("unit_", "単位：").replace("「d」", "「介入（介入群×介入後）」"),
        )
    checks += require([collinear])
    indexed = frame.set_index(["unit", "t"])
    n_units = frame["unit"].nunique()
    try:
        model = PanelOLS(indexed["y"], indexed[["d", *xs]], entity_effects=True, time_effects=True)
        fit = model.fit(cov_type="clustered", cluster_entity=True)
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise DesignNotFit(
            [Check("estimation", "推定できる", False, f"固定効果モデルを推定できませんでした（{exc}）。")]
        ) from exc
    if n_units < MIN_CLUSTERS:
        checks.append(
            Check(
                "few_clusters",
                "単位の数が十分",
                False,
                f"単位が {n_units} しかないため、単位でクラスター化した標準誤差は不安定です（{MIN_CLUSTERS} 以上が目安）。",
                blocking=False,
            )
        )
    interval = fit.conf_int(level=ci_level).loc["d"]
    pretrend, pre_info = _pretrend_check(frame)
    placebo, placebo_info = _placebo_check(frame, ci_level)
    checks += [pretrend, placebo]
    result = AnalysisResult(
        design="did_twfe",
        title="差の差分析（二方向固定効果）",
        outcome=outcome,
        estimate=clean_float(fit.params["d"]),
        ci_low=clean_float(interval.iloc[0]),
        ci_high=clean_float(interval.iloc[1]),
        ci_level=ci_level,
        p_value=clean_float(fit.pvalues["d"]),
        test="二方向固定効果（PanelOLS）・単位でクラスター化した標準誤差",
        n=int(fit.nobs),
        assumptions=[
            PARALLEL,
            "介入はすべての介入単位で同じ時点に始まり、効果は時間とともに大きく変わらない。",
            "介入は介入群だけに影響し、比較群には影響しない。",
            "同じ単位の中の誤差は相関してよいが、単位どうしは独立している。",
        ],
        checks=checks,
        chart_kind="trend_groups",
        chart=_trend_chart(frame),
        details={
            "covariates": {name: clean_float(fit.params[x]) for name, x in zip(covariates, xs, strict=True)},
            "units": n_units,
            "periods": int(frame["t"].nunique()),
            "intervention": str(panel.point),
            **pre_info,
            **placebo_info,
        },
    )
    return finish(result)
