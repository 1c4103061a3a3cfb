"""Job kinds of search: apply pending index updates, rebuild the index; a schedule that catches up."""

from __future__ import annotations

from typing import Any

from machidata.jobs.runner import crontab, periodic
from machidata.jobs.services import JobContext, job_kind
from machidata.search.services import (
    JOB_KIND_REBUILD,
    JOB_KIND_UPDATE,
    index_apply_pending,
    index_rebuild,
)


@job_kind(JOB_KIND_UPDATE)
def update_index(ctx: JobContext) -> dict[str, Any]:
    """検索索引の更新: apply the catalog changes waiting in the outbox."""
    ctx.progress(0, None, phase="検索索引を更新しています")
    n = index_apply_pending()
    ctx.progress(n, n, phase="完了")
    return {"datasets": n}


@job_kind(JOB_KIND_REBUILD)
def rebuild_index(ctx: JobContext) -> dict[str, Any]:
    """検索索引の作り直し: index every catalog entry afresh."""
    ctx.progress(0, None, phase="検索索引を作り直しています")
    n = index_rebuild()
    ctx.progress(n, n, phase="完了")
    return {"datasets": n}


@periodic(crontab(minute="*"), name="search_index_catch_up")
def catch_up() -> None:
    """Every minute: apply outbox rows a lost job left behind (a crash between commit and enqueue)."""
    index_apply_pending()
