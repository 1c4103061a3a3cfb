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
    # Staff read the details in Japanese words; the codes stay in the result for scripts and the API.
    result["details"] = _details(version)
    result["link"] = {
        "url": reverse("catalog:table_detail", args=[table.dataset.slug, table.name]),
        "label": "取り込んだ表を見る",
    }
    return result


def _details(version: Any) -> list[str]:
    """The version's summary as lines staff read: rows, each column with its type word, findings."""
    from machidata.ingest.labels import type_label

    reports = version.reports or {}
    lines = [f"第{version.number}版: {version.rows or 0:,} 行"]
    schema = Table.objects.filter(pk=version.table_id).values_list("schema", flat=True).first() or {}
    for f in schema.get("fields") or []:
        label = type_label(str(f.get("type", "string")), (f.get("machidata") or {}).get("kind"))
        unit = f"・単位 {f['unit']}" if f.get("unit") else ""
        lines.append(f"列「{f.get('title') or f.get('name')}」: {label}{unit}")
    score = (reports.get("readability") or {}).get("score")
    if score is not None:
        lines.append(f"機械判読性: {score} 点")
    flagged = list(dict.fromkeys(f.get("column") for f in (reports.get("screen") or {}).get("flags") or []))
    if flagged:
        lines.append(f"個人情報の可能性がある列: {'、'.join(str(c) for c in flagged)}")
    issues = int((reports.get("validation") or {}).get("total") or 0)
    if issues:
        lines.append(f"項目定義と合わない値: {issues:,} 件")
    return lines
