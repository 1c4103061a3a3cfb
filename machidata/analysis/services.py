"""Writes of the analysis room: run a design on a catalog table and save it (audited), inline or as a job."""

from __future__ import annotations

from typing import Any, Final

from django.db import transaction
from django.urls import reverse

from machidata.access.policy import Actor
from machidata.analysis.models import Analysis, Design, Status
from machidata.analysis.runner import check_spec, load_frame, run_spec
from machidata.audit.services import audit_record
from machidata.catalog.models import Table
from machidata.core.errors import InvalidInput, MachidataError, PermissionDenied

# Designs that can take minutes (a placebo fit per donor): run on the job runner.
JOB_DESIGNS: Final = {Design.SYNTH.value}
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


def analysis_run(*, actor: Actor, table: Table, title: str, spec: dict[str, Any]) -> Analysis:
    """Run ``spec`` on ``table`` as ``actor`` and save the result; long designs are queued as a job.

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
    if spec["design"] in JOB_DESIGNS:
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


def analysis_execute(*, actor: Actor, analysis_id: int) -> dict[str, Any]:
    """The job's work: re-read the table version the analysis was queued with, run it, store result or reason."""
    analysis = Analysis.objects.select_related("table", "table_version").get(pk=analysis_id)
    version = analysis.table_version.number if analysis.table_version is not None else None
    try:
        frame, _ = load_frame(actor=actor, table=analysis.table, spec=analysis.spec, version=version)
        data = run_spec(frame, analysis.spec).to_dict()
    except (
        MachidataError
    ) as exc:  # DesignNotFit, NotFound, PermissionDenied: the reason is kept on the analysis
        _store_failure(actor, analysis, exc)
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


def _store_failure(actor: Actor, analysis: Analysis, exc: MachidataError) -> None:
    with transaction.atomic():
        Analysis.objects.filter(pk=analysis.pk).update(status=Status.FAILED, error=exc.message)
        audit_record(actor=actor, action="analysis.finish", obj=analysis, changes={"status": Status.FAILED})
