"""The import job: a large Forms export read and saved on the job runner, with progress and cancel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from machidata.jobs.models import ProgressUnit
from machidata.jobs.services import JobContext, job_kind
from machidata.surveys.services import JOB_KIND_IMPORT


@job_kind(JOB_KIND_IMPORT, unit=ProgressUnit.ROWS)
def round_import_job(
    ctx: JobContext, *, survey_id: int, label: str, path: str, filename: str = ""
) -> dict[str, Any]:
    """Import the stored export as a new round of the survey, as the job's creator (checked again)."""
    from django.urls import reverse

    from machidata.core.errors import NotFound
    from machidata.surveys.models import Survey
    from machidata.surveys.services import round_import

    try:
        survey = Survey.objects.select_related("unit").filter(pk=survey_id).first()
        if survey is None:
            raise NotFound("取り込み先のアンケートが見つかりません（削除された可能性があります）。")
        round_ = round_import(
            actor=ctx.actor,
            survey=survey,
            label=label,
            data=Path(path).read_bytes(),
            filename=filename,
            progress=ctx.progress,
        )
    finally:
        Path(path).unlink(missing_ok=True)
    return {
        "round_id": round_.pk,
        "respondents": round_.respondents,
        # The job page shows ``message`` and ``link`` (the jobs room's result convention).
        "message": f"「{survey.title}」{round_.label}として {round_.respondents:,} 件の回答を取り込みました。"
        "質問の種類と選択肢を確認してください。",
        "link": {
            "url": reverse("surveys:questions", args=[round_.pk]),
            "label": "質問の種類と選択肢を確認する",
        },
    }
