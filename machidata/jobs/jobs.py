"""The job room's own job kinds and schedules: a runner check, and stale-job recovery every minute."""

from __future__ import annotations

import time
from typing import Any

from machidata.core.errors import InvalidInput
from machidata.jobs.runner import crontab, periodic
from machidata.jobs.services import JobContext, job_fail_overdue, job_kind, job_recover_stale

MAX_CHECK_STEPS = 1000


@job_kind("jobs.check")
def check_runner(ctx: JobContext, *, steps: int = 3, pause: float = 0.0) -> dict[str, Any]:
    """動作確認: count to ``steps`` with progress, so operators can see the runner works end to end."""
    if not 0 < steps <= MAX_CHECK_STEPS:
        raise InvalidInput(f"動作確認の件数は1〜{MAX_CHECK_STEPS}で指定してください。")
    ctx.progress(0, steps, phase="動作確認中")
    for done in range(1, steps + 1):
        if pause:
            time.sleep(min(pause, 1.0))
        ctx.progress(done)
    return {"steps": steps}


@periodic(crontab(minute="*"))
def recover_stale_jobs() -> None:
    """Every minute: fail running jobs whose process stopped (no heartbeat for MACHIDATA_JOB_STALE_SECONDS)
    and those still running well past their time limit."""
    job_recover_stale()
    job_fail_overdue()
