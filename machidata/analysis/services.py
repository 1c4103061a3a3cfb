"""Writes of the analysis room: run a design on a catalog table and save it (audited), inline or as a job."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import pandas as pd
from django.db import transaction
from django.urls import reverse

from machidata.access.policy import Actor
from machidata.analysis.designs import UNIT, check_spec, run_spec
from machidata.analysis.models import Analysis, Design, Status
from machidata.analysis.runner import load_frame
from machidata.audit.services import audit_record
from machidata.catalog.models import Table
from machidata.core.errors import InvalidInput, MachidataError, PermissionDenied

# Designs that can take minutes (a placebo fit per donor): always on the job runner.
JOB_DESIGNS: Final = {Design.SYNTH.value}
# Aggregated rows above which any design runs as a job (forecasts by unit: fewer, as each unit is backtested).
JOB_ROWS: Final = 20_000
JOB_ROWS_FORECAST_BY_UNIT: Final = 3_000
CANCELLED_MESSAGE: Final = "分析は取り消されました。"
SPEC_KEYS: Final = (
    "design",
    "time",
    "grain",
    "outcome",
    "unit",
    "treated_units",
    "intervention",
    "horizon",
    "since",
    "until",
    "only_units",
)


def _clean_spec(spec: dict[str, Any]) -> dict[str, Any]:
    design = str(spec.get("design", ""))
    if design not in Design.values:
        raise InvalidInput("分析の方法を選んでください。", details={"design": "分析の方法を選んでください。"})
    return {k: spec[k] for k in SPEC_KEYS if spec.get(k) not in (None, "")}


def runs_as_job(spec: dict[str, Any], frame: pd.DataFrame) -> bool:
    """Long analyses go to the job runner (progress bar, time limit, cancel); short ones answer at once.

    Long: synthetic control (a placebo fit per donor), hourly forecasts (a backtest of up to 744 hours, per unit),
    forecasts by unit over JOB_ROWS_FORECAST_BY_UNIT rows, and any design over JOB_ROWS rows."""
    design = spec.get("design")
    if design in JOB_DESIGNS or len(frame) > JOB_ROWS:
        return True
    if design == Design.FORECAST.value:
        return spec.get("grain") == "hour" or (
            UNIT in frame.columns and len(frame) > JOB_ROWS_FORECAST_BY_UNIT
        )
    return False


def analysis_run(*, actor: Actor, table: Table, title: str, spec: dict[str, Any]) -> Analysis:
    """Run ``spec`` on ``table`` as ``actor`` and save the result; long analyses are queued as a job.

    The data is read through ``table_query`` (the actor must be allowed to READ the table). A design the data
    cannot support raises ``InvalidInput`` with the Japanese reasons, and nothing is saved.
    """
    owner_id = actor.user_id
    if owner_id is None:
        raise PermissionDenied("分析にはサインインが必要です。")
    title = title.strip()[:200]
    if not title:
        raise InvalidInput("題名を入力してください。", details={"title": "題名を入力してください。"})
    spec = _clean_spec(spec)
    check_spec(spec)
    frame, version = load_frame(actor=actor, table=table, spec=spec)
    if runs_as_job(spec, frame):
        from machidata.jobs.services import job_submit

        with transaction.atomic():
            analysis = Analysis.objects.create(
                title=title,
                design=spec["design"],
                owner_id=owner_id,
                table=table,
                table_version=version,
                spec=spec,
            )
            analysis.job = job_submit(
                kind="analysis.run",
                title=f"分析「{title}」",
                params={"analysis_id": analysis.pk},
                actor=actor,
            )
            analysis.save(update_fields=["job"])
            audit_record(
                actor=actor, action="analysis.submit", obj=analysis, changes={"spec": spec, "table": table.pk}
            )
        analysis.refresh_from_db()
        return analysis
    result = run_spec(frame, spec)
    data = result.to_dict()
    with transaction.atomic():
        analysis = Analysis.objects.create(
            title=title,
            design=spec["design"],
            owner_id=owner_id,
            table=table,
            table_version=version,
            spec=spec,
            result=data,
            library_versions=data["versions"],
            status=Status.DONE,
        )
        audit_record(
            actor=actor,
            action="analysis.run",
            obj=analysis,
            changes={"spec": spec, "table": table.pk, "version": version.number},
        )
    return analysis


def _compute_inline(frame: pd.DataFrame, spec: dict[str, Any]) -> dict[str, Any]:
    return run_spec(frame, spec).to_dict()


def analysis_execute(
    *,
    actor: Actor,
    analysis_id: int,
    compute: Callable[[pd.DataFrame, dict[str, Any]], dict[str, Any]] = _compute_inline,
) -> dict[str, Any]:
    """The job's work: re-read the table version the analysis was queued with, run it, store result or reason.

    ``compute(frame, spec)`` runs the design (the job passes one that runs it in a child process killed at the
    job's time limit). A refusal, the time limit or a cancel is kept on the analysis as its reason."""
    from machidata.jobs.services import JobCancelled

    analysis = Analysis.objects.select_related("table", "table_version").get(pk=analysis_id)
    version = analysis.table_version.number if analysis.table_version is not None else None
    try:
        frame, _ = load_frame(actor=actor, table=analysis.table, spec=analysis.spec, version=version)
        data = compute(frame, analysis.spec)
    except MachidataError as exc:  # DesignNotFit, NotFound, PermissionDenied, JobTimedOut
        _store_failure(actor, analysis, exc.message)
        raise
    except JobCancelled:
        _store_failure(actor, analysis, CANCELLED_MESSAGE)
        raise
    with transaction.atomic():
        Analysis.objects.filter(pk=analysis.pk).update(
            result=data, library_versions=data["versions"], status=Status.DONE, error=""
        )
        audit_record(actor=actor, action="analysis.finish", obj=analysis, changes={"status": Status.DONE})
    return {
        "analysis": analysis.pk,
        "message": f"分析「{analysis.title}」が終わりました。",
        "link": {"url": reverse("analysis:detail", args=[analysis.pk]), "label": "結果を見る"},
    }


def _store_failure(actor: Actor, analysis: Analysis, message: str) -> None:
    with transaction.atomic():
        Analysis.objects.filter(pk=analysis.pk).update(status=Status.FAILED, error=message)
        audit_record(actor=actor, action="analysis.finish", obj=analysis, changes={"status": Status.FAILED})
