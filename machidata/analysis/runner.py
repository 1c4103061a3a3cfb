"""From a saved spec to the frame an estimator needs: read the table through the catalog's query path and
aggregate it to one row per period (and unit). Access is decided in ``table_query``; checking the spec and
running the design are in :mod:`machidata.analysis.designs` (no Django, so a job can run it in a child process)."""

from __future__ import annotations

from typing import Any, Final

import pandas as pd

from machidata.access.policy import Actor
from machidata.analysis.designs import PANEL_DESIGNS, PERIOD, UNIT, VALUE, spec_text
from machidata.analysis.results import refuse
from machidata.catalog.models import Table, TableVersion
from machidata.catalog.query_selectors import table_query

# The engine's time grains for the analysis grains.
ENGINE_GRAIN: Final = {"hour": "hour", "day": "day", "month": "month", "year": "year"}
PERIOD_FREQ: Final = {"hour": "h", "day": "D", "month": "M"}
HOUR = "時"


def load_frame(  # noqa: PLR0912 - one step per spec field, read top to bottom
    *, actor: Actor, table: Table, spec: dict[str, Any], version: int | None = None
) -> tuple[pd.DataFrame, TableVersion]:
    """One row per period (and unit): the sum of the outcome column, or the row count when no column is named.

    ``version`` pins a table version (a queued job reads the version the analysis was submitted on)."""
    design = spec_text(spec, "design", "分析の方法")
    time = spec_text(spec, "time", "時間の列")
    grain = spec_text(spec, "grain", "時間の単位")
    if grain not in ENGINE_GRAIN:
        refuse("grain", "時間の単位", "時間の単位は 時間・日・月・年 から選んでください。")
    outcome = spec_text(spec, "outcome", "成果指標の列", required=False)
    unit = spec_text(spec, "unit", "単位の列（区・施設など）", required=design in PANEL_DESIGNS)
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
