"""Who sees which 加工の設定 and runs, and what of them.

A plan and its runs are seen by those who may read its dataset (the owning 課, approved uses) and by
the privacy officer; the 加工方法等情報 (``DeidRun.record``: the key's id and the methods) by the
privacy officer only (:func:`machidata.access.policy.is_privacy_officer`).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from machidata.access.models import PersonalData
from machidata.access.policy import Action, Actor, can, is_privacy_officer, restrict, restrict_related
from machidata.catalog.models import Dataset
from machidata.core.errors import NotFound
from machidata.deid import keys
from machidata.deid.models import DeidPlan, DeidRun


def plans_for(*, actor: Actor) -> QuerySet[DeidPlan]:
    """Plans on datasets the actor may read, or every plan for the privacy officer."""
    qs = DeidPlan.objects.select_related("dataset", "dataset__owner", "source_dataset")
    if not actor.is_authenticated:
        return qs.none()
    if is_privacy_officer(actor):
        return qs
    return restrict_related(qs, actor, Action.READ, via="dataset")


def plan_get(*, actor: Actor, pk: int) -> DeidPlan:
    """One plan the actor may see (404 otherwise, whether missing or hidden)."""
    plan = plans_for(actor=actor).filter(pk=pk).first()
    if plan is None:
        raise NotFound("加工の設定が見つかりません。")
    return plan


def may_run(actor: Actor, plan: DeidPlan) -> bool:
    """Whether the actor may put an extract through the plan (EDIT on its dataset)."""
    return can(actor, Action.EDIT, plan.dataset)


def target_datasets(*, actor: Actor) -> QuerySet[Dataset]:
    """仮名加工情報 / 匿名加工情報 datasets the actor may write into (for a new plan)."""
    return (
        restrict(Dataset.objects.live(), actor, Action.EDIT)
        .filter(personal_data__in=[PersonalData.PSEUDONYMISED, PersonalData.ANONYMISED])
        .order_by("title")
    )


def source_datasets(*, actor: Actor) -> QuerySet[Dataset]:
    """Datasets holding personal data the actor may discover (to name as a plan's source ledger)."""
    return (
        restrict(Dataset.objects.live(), actor, Action.DISCOVER)
        .filter(personal_data__in=[PersonalData.PERSONAL, PersonalData.SENSITIVE])
        .order_by("title")
    )


def runs_of(*, actor: Actor, plan: DeidPlan) -> QuerySet[DeidRun]:
    """The runs of a plan the actor may see, newest first."""
    plan_get(actor=actor, pk=plan.pk)
    return DeidRun.objects.filter(plan=plan).select_related("version", "created_by")


def run_get(*, actor: Actor, pk: int) -> DeidRun:
    """One run whose plan the actor may see (404 otherwise)."""
    run = DeidRun.objects.select_related("plan", "plan__dataset", "version").filter(pk=pk).first()
    if run is None or not plans_for(actor=actor).filter(pk=run.plan_id).exists():
        raise NotFound("加工の実行記録が見つかりません。")
    return run


def processing_record(*, actor: Actor, run: DeidRun) -> dict[str, Any] | None:
    """The 加工方法等情報 of a run with the key's state, for the privacy officer only (None for others)."""
    if not is_privacy_officer(actor):
        return None
    record = dict(run.record or {})
    if run.key_id:
        record["key_kept"] = keys.key_exists(run.key_id)
    return record
