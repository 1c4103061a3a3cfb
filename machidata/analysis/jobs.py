"""The analysis job: long analyses (synthetic control, hourly forecasts, large panels) on the job runner.

The table is read in the job (through the catalog, as the analysis's creator); the design runs in a child
process that reports progress (per unit for forecasts by unit) and is killed at the time limit.
"""

from __future__ import annotations

from typing import Any, Final

import pandas as pd

from machidata.jobs.isolated import run_in_child
from machidata.jobs.models import ProgressUnit
from machidata.jobs.services import JobContext, job_kind

# Seconds an analysis may run (MACHIDATA_JOB_TIME_LIMITS can change it: analysis.run=…).
ANALYSIS_TIME_LIMIT: Final = 1800


@job_kind("analysis.run", unit=ProgressUnit.ITEMS, time_limit=ANALYSIS_TIME_LIMIT)
def analysis_run_job(ctx: JobContext, *, analysis_id: int) -> dict[str, Any]:
    """Run one saved analysis as the job's actor (its creator)."""
    from machidata.analysis.designs import run_design
    from machidata.analysis.services import analysis_execute

    def compute(frame: pd.DataFrame, spec: dict[str, Any]) -> dict[str, Any]:
        ctx.progress(0, 1, "分析を始めています")
        data: dict[str, Any] = run_in_child(ctx, run_design, frame, spec)
        ctx.progress(ctx.total or 1, ctx.total or 1, "結果を保存しています")
        return data

    ctx.progress(0, 1, "表を読み込んでいます")
    return analysis_execute(actor=ctx.actor, analysis_id=analysis_id, compute=compute)
