"""The ingest job: runs ``ingest_file`` on the job runner with progress and cancel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from machidata.catalog.models import Table
from machidata.jobs.models import ProgressUnit
from machidata.jobs.services import JobContext, job_kind


@job_kind("ingest.file", unit=ProgressUnit.ROWS)
def ingest_file_job(
    ctx: JobContext,
    *,
    table_id: int,
    path: str,
    source_name: str,
    mode: str = "replace",
    options: dict[str, Any] | None = None,
    note: str = "",
) -> dict[str, Any]:
    """Ingest an uploaded file into a table; the result is the version summary."""
    from machidata.ingest.services import ingest_file, summary_of

    table = Table.objects.select_related("dataset").get(pk=table_id)

    def progress(done: int, total: int | None = None, phase: str | None = None) -> None:
        ctx.progress(done, total, phase)

    try:
        version = ingest_file(
            actor=ctx.actor,
            table=table,
            path=Path(path),
            source_name=source_name,
            mode=mode,
            options=options,
            note=note,
            job_id=f"job-{ctx.job_id}",
            progress=progress,
        )
    finally:
        Path(path).unlink(missing_ok=True)
    return summary_of(version).as_dict()
