"""The analysis job: long designs (synthetic control with placebo runs) on the job runner."""

from __future__ import annotations

from typing import Any

from machidata.jobs.models import ProgressUnit
from machidata.jobs.services import JobContext, job_kind


@job_kind("analysis.run", unit=ProgressUnit.ITEMS)
def analysis_run_job(ctx: JobContext, *, analysis_id: int) -> dict[str, Any]:
    """Run one saved analysis as the job's actor (its creator)."""
    from machidata.analysis.services import analysis_execute

    ctx.progress(0, 1, "分析しています")
    result = analysis_execute(actor=ctx.actor, analysis_id=analysis_id)
    ctx.progress(1, 1, "完了")
    return result
