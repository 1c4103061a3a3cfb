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
    overrides: dict[str, Any] | None = None,
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
            overrides=overrides,
        )
    finally:
        Path(path).unlink(missing_ok=True)
    from django.urls import reverse

    result = summary_of(version).as_dict()
    # The job page shows ``message`` and ``link`` (a convention of the jobs room's result display).
    result["message"] = (
        f"「{table.title}」の第{version.number}版として {version.rows or 0:,} 行を取り込みました。"
    )
    result["link"] = {
        "url": reverse("catalog:table_detail", args=[table.dataset.slug, table.name]),
        "label": "取り込んだ表を見る",
    }
    return result
