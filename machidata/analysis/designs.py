"""From a saved spec to the estimator call, without Django: check the spec and run the chosen design on the frame
the runner aggregated (columns 期間, 値 and, for panels, 単位).

Plain functions like the estimators, so a job can run :func:`run_design` in a child process
(:func:`machidata.jobs.isolated.run_in_child`) that is killed at the job's time limit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import pandas as pd

from machidata.analysis.before_after import before_after
from machidata.analysis.did import did_2x2, did_twfe
from machidata.analysis.forecast import forecast_by_unit, forecast_counts
from machidata.analysis.its import interrupted_time_series
from machidata.analysis.results import AnalysisResult, Check, DesignNotFit, refuse
from machidata.analysis.staggered import did_staggered
from machidata.analysis.synth import synthetic_control

ANALYSIS_GRAIN: Final = {"hour": "h", "day": "D", "month": "M", "year": None}
PANEL_DESIGNS: Final = {"did_twfe", "did_2x2", "did_staggered", "synthetic_control"}
PERIOD = "期間"
VALUE = "値"
UNIT = "単位"
Progress = Callable[..., None]
PHASES: Final = {
    "before_after": "前後の平均を比べています",
    "its": "中断時系列の回帰をしています",
    "did_twfe": "差の差分析をしています",
    "did_2x2": "差の差分析をしています",
    "did_staggered": "開始時期ごとの差の差分析をしています",
    "synthetic_control": "合成コントロールとプラセボ検定を計算しています",
    "forecast": "予測と過去のデータでの検証をしています",
}


def spec_text(spec: dict[str, Any], key: str, label: str, *, required: bool = True) -> str:
    value = spec.get(key)
    if value is None or str(value).strip() == "":
        if required:
            refuse(key, label, f"「{label}」を指定してください。")
        return ""
    return str(value).strip()


def _treated(spec: dict[str, Any]) -> list[str]:
    return [t.strip() for t in str(spec.get("treated_units") or "").split(",") if t.strip()]


def adoption_of(spec: dict[str, Any]) -> dict[str, str]:
    """``treated_units`` of a staggered design: ``単位=時点`` items separated by commas (e.g. 中央区=2024-04-01)."""
    adoption: dict[str, str] = {}
    for item in _treated(spec):
        name, sep, when = item.partition("=")
        if not sep or not name.strip() or not when.strip():
            refuse(
                "treated_units",
                "介入を受けた単位",
                f"「{item}」を読めません。介入の時期が違うときは「中央区=2024-04-01, 東区=2024-10-01」のように、"
                "単位と介入の開始時点を「=」でつないでください。",
            )
        if name.strip() in adoption:
            refuse("treated_units", "介入を受けた単位", f"「{name.strip()}」が2回指定されています。")
        adoption[name.strip()] = when.strip()
    return adoption


def check_spec(spec: dict[str, Any]) -> None:
    """Refuse, before any data is read, a spec whose design is missing what it needs."""
    design = spec_text(spec, "design", "分析の方法")
    if design == "forecast":
        _int(spec, "horizon", "予測する期間の数")
        return
    if design == "did_staggered":
        if not adoption_of(spec):
            refuse(
                "treated_units",
                "介入を受けた単位",
                "介入を受けた単位と介入の開始時点を「中央区=2024-04-01, 東区=2024-10-01」のように指定してください。",
            )
        return
    spec_text(spec, "intervention", "介入の時点")
    if design in PANEL_DESIGNS and not _treated(spec):
        refuse(
            "treated_units", "介入を受けた単位", "介入を受けた単位（区・施設など）を1つ以上指定してください。"
        )
    if design == "synthetic_control":
        if spec.get("grain") != "year" or len(_treated(spec)) != 1:
            refuse(
                "synthetic",
                "合成コントロール法",
                "合成コントロール法は、年単位で、介入を受けた単位が1つのときに使えます。",
            )
        _int(spec, "intervention", "介入の年")


def run_design(report: Progress, frame: pd.DataFrame, spec: dict[str, Any]) -> dict[str, Any]:
    """The job's child-process entry: run the design with progress sent to ``report``; the result as JSON."""
    return run_spec(frame, spec, progress=report).to_dict()


def run_spec(  # noqa: PLR0911 - one return per design
    frame: pd.DataFrame, spec: dict[str, Any], *, progress: Progress | None = None
) -> AnalysisResult:
    """Run the design a spec names on the aggregated frame (columns 期間, 値 and, for panels, 単位).

    ``progress(done, total, phase)`` hears how far it got (per unit for forecasts by unit)."""
    check_spec(spec)
    design = spec["design"]
    if progress is not None:
        progress(0, 1, PHASES.get(design, "分析しています"))
    grain = ANALYSIS_GRAIN[spec["grain"]]
    outcome_label = str(spec.get("outcome") or "件数")
    frame = frame.rename(columns={VALUE: outcome_label})
    common: dict[str, Any] = {"time": PERIOD, "outcome": outcome_label}
    if design == "forecast":
        horizon = _int(spec, "horizon", "予測する期間の数")
        if UNIT in frame.columns:
            return forecast_by_unit(
                frame, unit=UNIT, grain=grain, horizon=horizon, progress=progress, **common
            )
        return forecast_counts(frame, grain=grain, horizon=horizon, **common)
    if design == "did_staggered":
        frame[UNIT] = frame[UNIT].astype(str)
        return did_staggered(frame, unit=UNIT, grain=grain, adoption=adoption_of(spec), **common)
    intervention = spec_text(spec, "intervention", "介入の時点")
    if design == "before_after":
        return before_after(frame, grain=grain, intervention=intervention, **common)
    if design == "its":
        return interrupted_time_series(frame, grain=grain, intervention=intervention, **common)
    treated = _treated(spec)
    frame[UNIT] = frame[UNIT].astype(str)
    if design in {"did_twfe", "did_2x2"}:
        estimator = did_twfe if design == "did_twfe" else did_2x2
        return estimator(
            frame, unit=UNIT, grain=grain, treated_units=treated, intervention=intervention, **common
        )
    if design == "synthetic_control":
        return synthetic_control(
            frame,
            unit=UNIT,
            treated_unit=treated[0],
            intervention=_int(spec, "intervention", "介入の年"),
            **common,
        )
    raise DesignNotFit([Check("design", "分析の方法", False, f"分析の方法「{design}」はありません。")])


def _int(spec: dict[str, Any], key: str, label: str) -> int:
    try:
        return int(str(spec.get(key, "")).strip())
    except ValueError:
        refuse(key, label, f"「{label}」は整数で指定してください。")
