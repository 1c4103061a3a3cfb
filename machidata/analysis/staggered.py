"""Difference-in-differences with staggered adoption (units treated at different dates).

Two-way fixed effects with one "treated after" dummy is biased when units start at different dates and the effect
changes over time: already-treated units serve as controls for later ones (Goodman-Bacon 2021). This module uses the
interaction-weighted event study of Sun and Abraham (2021): one dummy per adoption cohort and period relative to its
adoption (after adoption, and up to ``MAX_LEADS`` periods before it; the period just before adoption and any earlier
ones are the reference, which without leads is Wooldridge's (2021) extended TWFE), fitted with unit and period fixed effects and errors
clustered by unit (linearmodels ``PanelOLS``); the controls are the never-treated units, or, when every unit is
treated in the end, the last cohort before its own adoption (not-yet-treated; later periods are dropped). The overall
effect is the average of the cohort-by-period effects after adoption, weighted by their number of rows, with its
variance from the fitted covariance (w' V w). A joint Wald test of the lead coefficients checks the pre-trends.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import pandas as pd
from linearmodels.panel import PanelOLS
from scipy import stats

from machidata.analysis import checks as ck
from machidata.analysis.interpret import finish
from machidata.analysis.results import AnalysisResult, Check, DesignNotFit, clean_float, refuse, require

MIN_CLUSTERS: Final = 10
# Periods before adoption with their own coefficient (tested jointly for parallel pre-trends); the period just
# before adoption and any earlier ones are the reference, so a single noisy day does not shift every estimate.
MAX_LEADS: Final = 5
MAX_TERMS: Final = 400  # cohort × relative-period dummies; beyond this, ask for a coarser grain
ASSUMPTIONS: Final = [
    "介入がなければ、それぞれの時期に介入を始めた単位と、比較に使う単位（一度も介入を受けない単位、"
    "またはまだ介入を受けていない単位）は、同じ幅で変化していた（平行トレンド）。",
    "介入が始まる前に、それを見越した変化は起きていない（先取りしない）。",
    "一度始まった介入は、分析の期間中は続く（途中でやめない）。",
    "効果の大きさは、介入を始めた時期や、始めてからの経過時間によって違ってよい"
    "（この方法はそれを許します。ふつうの二方向固定効果では、この場合に結果が偏ります）。",
    "同じ単位の中の誤差は相関してよいが、単位どうしは独立している。",
]


def _t_labels(order: list[Any]) -> dict[int, str]:
    return {i: str(p) for i, p in enumerate(order)}


def did_staggered(  # noqa: PLR0912, PLR0915 - one estimator read top to bottom: checks, fit, aggregation
    df: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    adoption: Mapping[str, Any],
    grain: str | None = None,
    ci_level: float = 0.95,
) -> AnalysisResult:
    """Sun–Abraham event study for units adopting at different dates; ``adoption`` maps unit → first treated period.

    Units not in ``adoption`` are never treated. Refuses (``DesignNotFit``) when there is no never-treated unit and
    no later cohort to act as not-yet-treated control, when a named unit is not in the data, or when a cohort has
    no period before or after its adoption.
    """
    require([ck.columns_present(df, [unit, time, outcome])])
    if not adoption:
        refuse("adoption", "介入の時期", "介入を受けた単位と、その介入の開始時点を1つ以上指定してください。")
    values, usable = ck.numeric_outcome(df, outcome)
    axis, parsed = ck.parse_time(df, time, grain)
    checks = require([usable, ck.outcome_varies(values), parsed])
    assert axis is not None
    units = df[unit].astype(str)
    missing = sorted(set(map(str, adoption)) - set(units.unique()))
    if missing:
        refuse(
            "adoption_units",
            "介入を受けた単位がデータにある",
            f"介入を受けた単位「{'」「'.join(missing)}」がデータの「{unit}」の列にありません。",
        )
    starts: dict[str, Any] = {}
    for name, when in adoption.items():
        point, check = ck.intervention_period(axis, when)
        if not check.passed:
            refuse("adoption_time", "介入の時点を読める", f"「{name}」：{check.reason}")
        starts[str(name)] = point
    checks += require(ck.time_regular(axis, units))
    order = sorted(axis.periods.unique())
    position = {p: i for i, p in enumerate(order)}
    labels = _t_labels(order)
    frame = pd.DataFrame(
        {
            "unit": units.to_numpy(),
            "t": axis.periods.map(position).astype("int64").to_numpy(),
            "y": values.to_numpy(),
        }
    )
    frame["g"] = frame["unit"].map({u: position[p] for u, p in starts.items()}).astype("float64")
    frame = frame.dropna(subset=["y"])
    never = sorted(set(frame["unit"]) - set(starts))
    control_note: str
    if never:
        control_note = f"一度も介入を受けない {len(never)} 単位を比較に使います。"
    else:
        cohorts = sorted(frame["g"].dropna().unique())
        if len(cohorts) < 2:
            refuse(
                "comparison",
                "比較対象がある",
                "すべての単位が同じ時点で介入を受けています。一度も介入を受けない単位も、まだ介入を受けていない"
                "単位もないため、介入の効果をほかの変化と区別できません。比較できる単位を含むデータを選んでください。",
            )
        last = cohorts[-1]
        frame = frame[frame["t"] < last].copy()
        frame.loc[frame["g"] == last, "g"] = np.nan
        last_units = sorted(u for u, p in starts.items() if position[p] == last)
        control_note = (
            f"一度も介入を受けない単位がないため、最後に介入を始めた「{'」「'.join(last_units)}」を、"
            f"その開始（{labels[int(last)]}）より前の期間だけ比較に使います（まだ介入を受けていない単位）。"
        )
    treated_rows = frame["g"].notna()
    frame["e"] = (frame["t"] - frame["g"]).where(treated_rows)
    cohort_checks = []
    for g, part in frame[treated_rows].groupby("g"):
        members = "」「".join(sorted(part["unit"].unique()))
        if not (part["e"] < 0).any() or not (part["e"] >= 0).any():
            cohort_checks.append(
                Check(
                    "cohort_periods",
                    "介入の前後の期間がある",
                    False,
                    f"「{members}」（{labels[int(g)]}から介入）には、比べられる介入前と介入後の両方の期間がありません。",
                )
            )
    require(cohort_checks)
    checks.append(Check("comparison", "比較対象がある", True, control_note))
    terms = (
        frame[treated_rows & ((frame["e"] >= 0) | frame["e"].between(-1 - MAX_LEADS, -2))][["g", "e"]]
        .drop_duplicates()
        .sort_values(["g", "e"])
        .astype("int64")
    )
    if len(terms) > MAX_TERMS:
        refuse(
            "too_many_terms",
            "推定する項目の数",
            f"介入の時期と経過時間の組合せが {len(terms)} あり、多すぎます。時間の単位を粗くするか、期間を絞ってください。",
        )
    columns = {}
    for g, e in terms.itertuples(index=False):
        columns[f"g{g}_e{e}"] = ((frame["g"] == g) & (frame["e"] == e)).astype("float64").to_numpy()
    design = pd.DataFrame(columns, index=frame.index)
    indexed = pd.concat([frame, design], axis=1).set_index(["unit", "t"])
    names = list(design.columns)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = PanelOLS(
                indexed["y"], indexed[names], entity_effects=True, time_effects=True, drop_absorbed=True
            )
            fit = model.fit(cov_type="clustered", cluster_entity=True)
            # With few units the clustered covariance of the leads is nearly singular, and a cohort of one unit
            # has one row per lead dummy, fitted exactly (residual 0), so robust variances vanish and the test
            # over-rejects: the pre-trend test then uses the classical (homoskedastic) covariance.
            few = frame["unit"].nunique() < MIN_CLUSTERS
            pre_fit = model.fit(cov_type="unadjusted") if few else fit
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise DesignNotFit(
            [Check("estimation", "推定できる", False, f"固定効果モデルを推定できませんでした（{exc}）。")]
        ) from exc
    kept = [n for n in names if n in fit.params.index]
    params, cov = fit.params[kept], fit.cov.loc[kept, kept]
    counts = design[kept].sum()
    info = (
        terms.assign(name=[f"g{g}_e{e}" for g, e in terms.itertuples(index=False)])
        .set_index("name")
        .loc[kept]
    )
    z = float(stats.norm.ppf(0.5 + ci_level / 2))

    def combine(selected: list[str]) -> tuple[float | None, float | None]:
        if not selected:
            return None, None
        w = counts[selected] / counts[selected].sum()
        est = float(w @ params[selected])
        var = float(w @ cov.loc[selected, selected] @ w)
        return est, (float(np.sqrt(var)) if var >= 0 else None)

    post = [n for n in kept if info.loc[n, "e"] >= 0]
    if not post:
        refuse("estimation", "推定できる", "介入後の効果を推定できる期間がありません。")
    estimate, se = combine(post)
    assert estimate is not None
    low = high = p = None
    if se:
        low, high = estimate - z * se, estimate + z * se
        p = float(2 * stats.norm.sf(abs(estimate / se)))
    chart: list[dict[str, Any]] = [
        {"time": -1, "estimate": 0.0, "low": 0.0, "high": 0.0, "phase": "介入前（基準）"}
    ]
    for e in sorted(info["e"].unique()):
        est_e, se_e = combine([n for n in kept if info.loc[n, "e"] == e])
        chart.append(
            {
                "time": int(e),
                "estimate": clean_float(est_e),
                "low": clean_float(est_e - z * se_e) if est_e is not None and se_e is not None else None,
                "high": clean_float(est_e + z * se_e) if est_e is not None and se_e is not None else None,
                "phase": "介入後" if e >= 0 else "介入前",
            }
        )
    chart.sort(key=lambda row: int(row["time"]))
    n_units = int(frame["unit"].nunique())
    pre_cov = pre_fit.cov.loc[kept, kept]
    checks.append(_pretrend(params, pre_cov, counts, info, None if few else n_units))
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
    cohorts_out = {
        labels[int(g)]: sorted(frame.loc[frame["g"] == g, "unit"].unique().tolist())
        for g in sorted(frame["g"].dropna().unique())
    }
    result = AnalysisResult(
        design="did_staggered",
        title="差の差分析（介入の時期が単位ごとに違う）",
        outcome=outcome,
        estimate=clean_float(estimate),
        ci_low=clean_float(low),
        ci_high=clean_float(high),
        ci_level=ci_level,
        p_value=clean_float(p),
        test="Sun–Abraham の交互作用重み付きイベントスタディ（PanelOLS・単位でクラスター化した標準誤差）",
        n=int(fit.nobs),
        assumptions=list(ASSUMPTIONS),
        checks=checks,
        chart_kind="event_study",
        chart=chart,
        details={
            "cohorts": cohorts_out,
            "never_treated": never,
            "units": n_units,
            "periods": int(frame["t"].nunique()),
            "twfe_estimate": _naive_twfe(frame),
        },
    )
    return finish(result)


def _pretrend(
    params: pd.Series, cov: pd.DataFrame, counts: pd.Series, info: pd.DataFrame, clusters: int | None
) -> Check:
    """Joint Wald test that the leads (averaged over cohorts per period before adoption) are zero: one
    restriction per period keeps the test usable with few clusters."""
    label = "介入前の傾向が平行"
    # A clustered covariance has rank below the number of clusters: test at most clusters − 2 leads (the nearest).
    leads = sorted((e for e in info["e"].unique() if e < -1), reverse=True)
    if clusters is not None:
        leads = leads[: max(0, clusters - 2)]
    if not leads:
        return Check(
            "pretrend",
            label,
            False,
            "介入前が1期間しかないか単位が少なすぎるため、平行トレンドを確かめられません。",
            blocking=False,
        )
    names = list(params.index)
    weights = np.zeros((len(leads), len(names)))
    for row, e in enumerate(leads):
        selected = [i for i, n in enumerate(names) if info.loc[n, "e"] == e]
        total = counts.iloc[selected].sum()
        for i in selected:
            weights[row, i] = counts.iloc[i] / total
    b = weights @ params.to_numpy()
    v = weights @ cov.to_numpy() @ weights.T
    try:
        wald = float(b @ np.linalg.pinv(v) @ b)
    except np.linalg.LinAlgError:
        return Check("pretrend", label, False, "介入前の傾向の違いを計算できませんでした。", blocking=False)
    # Clustered: F with (leads, clusters − 1) degrees of freedom, the small-sample form of the Wald test.
    p = float(
        stats.f.sf(wald / len(leads), len(leads), clusters - 1)
        if clusters is not None
        else stats.chi2.sf(wald, df=len(leads))
    )
    ok = p >= 0.05
    reason = (
        f"介入前の各期間で、介入した単位と比較の単位の差に統計的な違いは見られません（同時検定 p={p:.3f}）。"
        if ok
        else f"介入前から、介入した単位と比較の単位の差が動いています（同時検定 p={p:.3f}）。平行トレンドの仮定が疑わしいです。"
    )
    return Check("pretrend", label, ok, reason, blocking=False)


def _naive_twfe(frame: pd.DataFrame) -> float | None:
    """The usual two-way fixed effects estimate (one treated-after dummy), shown beside for comparison only."""
    d = ((frame["g"].notna()) & (frame["t"] >= frame["g"])).astype("float64")
    indexed = frame.assign(d=d).set_index(["unit", "t"])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = PanelOLS(indexed["y"], indexed[["d"]], entity_effects=True, time_effects=True).fit()
    except (ValueError, np.linalg.LinAlgError):
        return None
    return clean_float(fit.params["d"])
