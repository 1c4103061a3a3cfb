"""From a saved spec to an estimator call: read the table through the catalog's query path, aggregate it to one
row per period (and unit), and run the chosen design. Access is decided in ``table_query``."""

from __future__ import annotations

from typing import Any, Final

import pandas as pd

from machidata.access.policy import Actor
from machidata.analysis.before_after import before_after
from machidata.analysis.did import did_2x2, did_twfe
from machidata.analysis.forecast import forecast_by_unit, forecast_counts
from machidata.analysis.its import interrupted_time_series
from machidata.analysis.results import AnalysisResult, Check, DesignNotFit, refuse
from machidata.analysis.staggered import did_staggered
from machidata.analysis.synth import synthetic_control
from machidata.catalog.models import Table, TableVersion
from machidata.catalog.query_selectors import table_query

# The engine's time grains for the analysis grains.
ENGINE_GRAIN: Final = {"hour": "hour", "day": "day", "month": "month", "year": "year"}
PERIOD_FREQ: Final = {"hour": "h", "day": "D", "month": "M"}
ANALYSIS_GRAIN: Final = {"hour": "h", "day": "D", "month": "M", "year": None}
PANEL_DESIGNS: Final = {"did_twfe", "did_2x2", "did_staggered", "synthetic_control"}
PERIOD = "期間"
HOUR = "時"
VALUE = "値"
UNIT = "単位"


def _text(spec: dict[str, Any], key: str, label: str, *, required: bool = True) -> str:
    value = spec.get(key)
    if value is None or str(value).strip() == "":
        if required:
            refuse(key, label, f"「{label}」を指定してください。")
        return ""
    return str(value).strip()


def load_frame(  # noqa: PLR0912 - one step per spec field, read top to bottom
    *, actor: Actor, table: Table, spec: dict[str, Any], version: int | None = None
) -> tuple[pd.DataFrame, TableVersion]:
    """One row per period (and unit): the sum of the outcome column, or the row count when no column is named.

    ``version`` pins a table version (a queued job reads the version the analysis was submitted on)."""
    design = _text(spec, "design", "分析の方法")
    time = _text(spec, "time", "時間の列")
    grain = _text(spec, "grain", "時間の単位")
    if grain not in ENGINE_GRAIN:
        refuse("grain", "時間の単位", "時間の単位は 時間・日・月・年 から選んでください。")
    outcome = _text(spec, "outcome", "成果指標の列", required=False)
    unit = _text(spec, "unit", "単位の列（区・施設など）", required=design in PANEL_DESIGNS)
    only = [u.strip() for u in str(spec.get("only_units") or "").split(",") if u.strip()]
    if only and not unit:
        refuse("only_units", "使う単位", "使う単位（区など）を絞るときは、単位の列も指定してください。")
    group_by: list[dict[str, Any]] = [{"column": time, "grain": ENGINE_GRAIN[grain], "as": PERIOD}]
    if grain == "hour":  # the engine's "hour" is the hour of the day: group by day and hour, join them below
        group_by = [
            {"column": time, "grain": "day", "as": PERIOD},
            {"column": time, "grain": "hour", "as": HOUR},
        ]
    # Before/after and ITS look at one series: a unit column there only picks the units to add up.
    by_unit = bool(unit) and not (only and design in {"before_after", "its"})
    if by_unit:
        group_by.append({"column": unit, "as": UNIT})
    measure = {"op": "sum", "column": outcome, "as": VALUE} if outcome else {"op": "count", "as": VALUE}
    filters: list[dict[str, Any]] = [{"column": time, "op": "not_null"}]
    if spec.get("since"):
        filters.append({"column": time, "op": "ge", "value": str(spec["since"])})
    if spec.get("until"):
        filters.append({"column": time, "op": "lt", "value": str(spec["until"])})
    if only:
        filters.append({"column": unit, "op": "in", "values": only})
    answer = table_query(
        actor=actor,
        table=table,
        query={"group_by": group_by, "measures": [measure], "filters": filters},
        version=version,
    )
    if answer.truncated and by_unit:  # e.g. next month by ward and hour: read the units one at a time
        frame = _by_unit_queries(
            actor=actor,
            table=table,
            group_by=group_by,
            measure=measure,
            filters=filters,
            unit=unit,
            version=answer.version.number,
        )
    elif answer.truncated:
        refuse("too_many_groups", "集計の大きさ", TOO_MANY)
    else:
        frame = answer.result.to_pandas()
    if grain == "year":  # the engine answers the year as a number
        frame[PERIOD] = frame[PERIOD].astype("int64")
    if grain == "hour":
        frame[PERIOD] = pd.to_datetime(frame[PERIOD]) + pd.to_timedelta(
            frame.pop(HOUR).astype("int64"), unit="h"
        )
    if not outcome and not frame.empty:
        frame = fill_zero_counts(frame, grain, by_unit=by_unit)
    return frame, answer.version


TOO_MANY: Final = (
    "期間と単位の組合せが多すぎます。時間の単位を粗くするか、「この日から」で期間を絞ってください。"
)
MAX_UNIT_QUERIES: Final = 50


def _by_unit_queries(
    *,
    actor: Actor,
    table: Table,
    group_by: list[dict[str, Any]],
    measure: dict[str, Any],
    filters: list[dict[str, Any]],
    unit: str,
    version: int,
) -> pd.DataFrame:
    """The aggregate read one unit at a time (each within the engine's row limit), on one pinned version."""
    units = table_query(
        actor=actor,
        table=table,
        query={
            "group_by": [{"column": unit, "as": UNIT}],
            "measures": [{"op": "count", "as": VALUE}],
            "filters": filters,
        },
        version=version,
    )
    names = [n for n in units.result.to_pandas()[UNIT].tolist() if n is not None]
    if units.truncated or len(names) > MAX_UNIT_QUERIES:
        refuse("too_many_groups", "集計の大きさ", TOO_MANY)
    parts = []
    for name in names:
        part = table_query(
            actor=actor,
            table=table,
            query={
                "group_by": group_by,
                "measures": [measure],
                "filters": [*filters, {"column": unit, "op": "eq", "value": name}],
            },
            version=version,
        )
        if part.truncated:
            refuse("too_many_groups", "集計の大きさ", TOO_MANY)
        parts.append(part.result.to_pandas())
    return pd.concat(parts, ignore_index=True)


def fill_zero_counts(frame: pd.DataFrame, grain: str, *, by_unit: bool) -> pd.DataFrame:
    """Row counts have no row for a period without events (an hour without dispatches): add it with 0.

    Only for counts: a summed column with a missing period is a real gap, which the design checks report.
    """
    if grain == "year":
        labels = frame[PERIOD].astype("int64")
        full: Any = pd.Index(range(int(labels.min()), int(labels.max()) + 1), name=PERIOD)
    else:
        freq = PERIOD_FREQ[grain]
        labels = pd.to_datetime(frame[PERIOD]).dt.to_period(freq)
        full = pd.period_range(labels.min(), labels.max(), freq=freq).to_timestamp()
        labels = labels.dt.to_timestamp()
    counts = frame.assign(**{PERIOD: labels})
    keys = [PERIOD, UNIT] if by_unit else [PERIOD]
    index = (
        pd.MultiIndex.from_product([full, sorted(counts[UNIT].unique())], names=keys)
        if by_unit
        else pd.Index(full, name=PERIOD)
    )
    filled = counts.set_index(keys)[VALUE].reindex(index, fill_value=0)
    return filled.reset_index()


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
    design = _text(spec, "design", "分析の方法")
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
    _text(spec, "intervention", "介入の時点")
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


def run_spec(frame: pd.DataFrame, spec: dict[str, Any]) -> AnalysisResult:  # noqa: PLR0911 - one return per design
    """Run the design a spec names on the aggregated frame (columns 期間, 値 and, for panels, 単位)."""
    check_spec(spec)
    design = spec["design"]
    grain = ANALYSIS_GRAIN[spec["grain"]]
    outcome_label = str(spec.get("outcome") or "件数")
    frame = frame.rename(columns={VALUE: outcome_label})
    common: dict[str, Any] = {"time": PERIOD, "outcome": outcome_label}
    if design == "forecast":
        horizon = _int(spec, "horizon", "予測する期間の数")
        if UNIT in frame.columns:
            return forecast_by_unit(frame, unit=UNIT, grain=grain, horizon=horizon, **common)
        return forecast_counts(frame, grain=grain, horizon=horizon, **common)
    if design == "did_staggered":
        frame[UNIT] = frame[UNIT].astype(str)
        return did_staggered(frame, unit=UNIT, grain=grain, adoption=adoption_of(spec), **common)
    intervention = _text(spec, "intervention", "介入の時点")
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
