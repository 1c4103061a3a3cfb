"""Synthetic control for one treated unit (pysyncon): donor weights, pre-period fit (RMSPE) and placebo inference.

By default the predictors are the outcome in each pre-intervention period with equal importance (V), so only the
donor weights are optimised (fast, and the usual choice when no other predictors are known). A full Abadie-style
specification (predictors, special predictors, V optimised by Nelder–Mead) can be passed instead.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pysyncon import Dataprep, Synth
from pysyncon.utils import PlaceboTest

from machidata.analysis import checks as ck
from machidata.analysis.interpret import finish
from machidata.analysis.results import AnalysisResult, Check, DesignNotFit, clean_float, require

# Each donor is refitted once for the placebo test: this bounds the run time of the job (about a second a donor).
MAX_DONORS = 40


@dataclass
class _Data:
    frame: pd.DataFrame
    pool: list[Any]
    periods: list[int]
    pre: list[int]
    post: list[int]
    point: int
    checks: list[Check]


def _prepare(
    df: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    treated_unit: Any,
    intervention: int,
    donors: Sequence[Any] | None,
    predictors: Sequence[str],
) -> _Data:
    require([ck.columns_present(df, [unit, time, outcome, *predictors])])
    values, usable = ck.numeric_outcome(df, outcome)
    axis, parsed = ck.parse_time(df, time, "Y" if not pd.api.types.is_numeric_dtype(df[time]) else None)
    checks = require([usable, ck.outcome_varies(values), parsed])
    assert axis is not None
    point, when = ck.intervention_period(axis, intervention)
    checks += require([when])
    frame = df.copy()
    frame[time] = axis.periods.map(lambda p: p if isinstance(p, int | np.integer) else p.year).astype("int64")
    frame[outcome] = values
    all_units = list(pd.unique(frame[unit]))
    pool = [u for u in (donors if donors is not None else all_units) if u != treated_unit and u in all_units]
    treated_flag = frame[unit] == treated_unit
    checks += require(
        [
            Check(
                "treated_unit",
                "介入単位がある",
                bool(treated_flag.any()),
                f"介入単位「{treated_unit}」がデータにありません。"
                if not treated_flag.any()
                else f"介入単位は「{treated_unit}」です。",
            ),
            Check(
                "donors",
                "比較に使える単位がある",
                2 <= len(pool) <= MAX_DONORS,
                f"比較に使える単位は {len(pool)} です。"
                if 2 <= len(pool) <= MAX_DONORS
                else "比較に使える単位（介入を受けていない区など）が2つ以上必要です。"
                if len(pool) < 2
                else f"比較に使える単位が {len(pool)} あります。計算時間を抑えるため {MAX_DONORS} 以下に絞ってください（似た単位を選ぶのが基本です）。",
            ),
            *ck.time_regular(axis, frame[unit]),
        ]
    )
    frame = frame[frame[unit].isin([treated_unit, *pool])]
    periods = sorted(int(t) for t in frame[time].unique())
    pre = [t for t in periods if t < int(point)]
    post = [t for t in periods if t >= int(point)]
    checks += require([ck.enough_periods(len(pre), len(post), min_pre=5, grain_label=axis.label)])
    complete = frame.pivot_table(index=time, columns=unit, values=outcome, aggfunc="first")
    missing_units = [str(u) for u in complete.columns if complete[u].isna().any()]
    checks += require(
        [
            Check(
                "balanced",
                "すべての単位・時点に値がある",
                not missing_units,
                "すべての単位・時点に成果指標の値があります。"
                if not missing_units
                else f"単位「{'」「'.join(missing_units[:3])}」の成果指標に空欄の時点があります。合成コントロールには全時点の値が必要です。",
            )
        ]
    )
    return _Data(frame, pool, periods, pre, post, int(point), checks)


def _placebo(
    dataprep: Dataprep, options: dict[str, Any], last_pre: int
) -> tuple[float | None, list[dict[str, Any]]]:
    """pysyncon's placebo test (every donor in turn treated as the treated unit), run in one worker process.

    pysyncon counts the period it is given in both windows of the post/pre RMSPE ratio; it is given the last
    pre-intervention period, so an immediate effect does not inflate the treated unit's pre-period error.
    """
    tester = PlaceboTest()
    with contextlib.redirect_stdout(io.StringIO()):  # pysyncon prints its progress
        tester.fit(dataprep=dataprep, scm=Synth(), scm_options=options, max_workers=1, verbose=False)
    assert tester.gaps is not None
    rows = [
        {"time": int(t), "unit": str(name), "gap": float(g), "kind": "プラセボ"}
        for name in tester.gaps.columns
        for t, g in tester.gaps[name].items()
    ]
    # pysyncon counts the placebos at least as extreme as the treated unit over all J + 1 units, leaving the
    # treated unit itself out of the count; Abadie, Diamond & Hainmueller (2010, section 2.3) and Firpo &
    # Possebom (2018, eq. 3) count it too (it is always as extreme as itself): the smallest p is 1 / (J + 1).
    units = len(tester.gaps.columns) + 1
    return clean_float(tester.pvalue(treatment_time=last_pre) + 1.0 / units), rows


def synthetic_control(
    df: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    treated_unit: Any,
    intervention: int,
    donors: Sequence[Any] | None = None,
    predictors: Sequence[str] = (),
    predictor_periods: Sequence[int] | None = None,
    special_predictors: Sequence[tuple[str, Sequence[int], str]] | None = None,
    fit_periods: Sequence[int] | None = None,
    placebo: bool = True,
) -> AnalysisResult:
    """Effect on ``treated_unit`` from ``intervention`` (a whole-number period such as a year or fiscal year)."""
    data = _prepare(
        df,
        unit=unit,
        time=time,
        outcome=outcome,
        treated_unit=treated_unit,
        intervention=intervention,
        donors=donors,
        predictors=predictors,
    )
    frame, pool, periods, pre, post, point, checks = (
        data.frame,
        data.pool,
        data.periods,
        data.pre,
        data.post,
        data.point,
        data.checks,
    )
    custom = special_predictors is None and not predictors
    if custom:
        special = [(outcome, [t], "mean") for t in pre]
        prep_predictors: list[str] = []
        prep_periods: Sequence[int] = pre
    else:
        special = [(name, list(p), op) for name, p, op in (special_predictors or [])]
        prep_predictors = list(predictors) or []
        prep_periods = list(predictor_periods) if predictor_periods is not None else pre
    dataprep = Dataprep(
        foo=frame,
        predictors=prep_predictors,
        predictors_op="mean",
        dependent=outcome,
        unit_variable=unit,
        time_variable=time,
        treatment_identifier=treated_unit,
        controls_identifier=pool,
        time_predictors_prior=prep_periods,
        time_optimize_ssr=list(fit_periods) if fit_periods is not None else pre,
        special_predictors=special,
    )
    options: dict[str, Any] = {"optim_method": "Nelder-Mead", "optim_initial": "equal"}
    if custom:
        options["custom_V"] = np.full(len(special), 1.0 / len(special))
    synth = Synth()
    try:
        synth.fit(dataprep=dataprep, **options)
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise DesignNotFit(
            [Check("estimation", "推定できる", False, f"合成コントロールを推定できませんでした（{exc}）。")]
        ) from exc
    weights = synth.weights(round=6)
    z0, z1 = dataprep.make_outcome_mats(time_period=periods)
    synthetic = (z0 * synth.W).sum(axis=1)  # the donors weighted by pysyncon's W, as its path_plot draws it
    gaps = z1 - synthetic
    pre_rmspe = float(math.sqrt(np.mean(np.square(gaps.loc[pre]))))
    post_rmspe = float(math.sqrt(np.mean(np.square(gaps.loc[post]))))
    att = synth.att(time_period=post)
    level = float(np.mean(np.abs(z1.loc[pre])))
    poor_fit = level > 0 and pre_rmspe > 0.1 * level
    checks.append(
        Check(
            "pre_fit",
            "介入前の当てはまりがよい",
            not poor_fit,
            f"介入前の当てはまりの誤差（RMSPE）は {pre_rmspe:.3g} で、成果指標の平均的な大きさ {level:.3g} の {pre_rmspe / level:.1%} です。"
            + ("10% を超えるため、合成コントロールは介入単位をよく再現できていません。" if poor_fit else ""),
            blocking=False,
        )
    )
    p_value, placebo_rows = _placebo(dataprep, options, pre[-1]) if placebo else (None, [])
    chart = [
        {"time": int(t), "series": label, "value": float(v)}
        for label, series in ((str(treated_unit), z1), ("合成コントロール", synthetic))
        for t, v in series.items()
    ]
    gap_rows = [
        {"time": int(t), "unit": str(treated_unit), "gap": float(g), "kind": "介入単位"}
        for t, g in gaps.items()
    ]
    result = AnalysisResult(
        design="synthetic_control",
        title="合成コントロール法",
        outcome=outcome,
        estimate=clean_float(att["att"]),
        p_value=p_value,
        test=(
            "プラセボ検定（各比較単位を介入単位とみなした順位、介入後/介入前 RMSPE 比。"
            f"単位が {len(pool) + 1} なので、p値は最も小さくても 1/{len(pool) + 1}）"
            if placebo
            else ""
        ),
        n=len(frame),
        assumptions=[
            "介入前に介入単位とよく似た動きをした比較単位の組合せが、介入後も「介入がなかった場合」の姿を表す。",
            "比較単位は介入の影響を受けていない（波及がない）。",
            "介入単位の値は比較単位の値の範囲内にある（重み付き平均で再現できる）。",
        ],
        checks=checks,
        chart_kind="synthetic",
        chart=chart,
        details={
            "treated_unit": str(treated_unit),
            "weights": {str(k): float(v) for k, v in weights.items()},
            "pre_rmspe": pre_rmspe,
            "post_rmspe": post_rmspe,
            "att_se": clean_float(att["se"]),
            "intervention": int(point),
            "gaps": gap_rows + placebo_rows,
            "placebo_units": len(pool) if placebo else 0,
        },
    )
    finished = finish(result)
    if p_value is not None and p_value <= 1.0 / (len(pool) + 1) + 1e-9:
        finished.interpretation += (
            f"なお、「{treated_unit}」の変化は比較に使ったどの単位よりも大きく、p値 {p_value:.3f} は単位が "
            f"{len(pool) + 1} のときに出せる最も小さい値です（比較できる単位を増やすと、より確かに判断できます）。"
        )
    return finished
