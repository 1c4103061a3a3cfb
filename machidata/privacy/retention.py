"""保存期間 (retention) and the purge of expired versions of personal-data datasets (issue 12, point 7).

A dataset may carry a ``RetentionRule`` (years, and the date the clock runs from: the version's
作成日 or the dataset's 対象期間（終了）); no rule means keep. ``purge_plan`` lists what has expired
and what is kept and why; ``purge_apply`` removes the expired versions through the lake's
``purge_versions`` (the only code that deletes data files), which leaves each version's row as a
tombstone (status 消去済み, ``reports["purge"]``: what, when, who, which rule) on the version history
and in the lake's tombstone list that backups carry. Never removed: the current version (unless an
explicit decision with a reason is given), a version an approved publication pins, and versions of
a dataset that is not personal data (unless the caller says so).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Final

from django.db import transaction
from django.utils import timezone

from machidata.access.models import PersonalData
from machidata.access.policy import Action, Actor, can, is_privacy_officer, system_actor
from machidata.audit.services import audit_record
from machidata.catalog.models import Dataset, Table, TableVersion, VersionStatus
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied
from machidata.lake.protocol import purge_versions
from machidata.privacy.records import RetentionClock, RetentionRule
from machidata.publish.models import PublishedVersion

SYSTEM_ACTOR: Final = system_actor("retention")
# The classes whose versions the retention purge removes without being told to (個人情報を含むもの).
PERSONAL_CLASSES: Final = (PersonalData.PERSONAL, PersonalData.SENSITIVE, PersonalData.PSEUDONYMISED)
MAX_YEARS: Final = 100


def is_personal(dataset: Dataset) -> bool:
    """Whether the dataset holds personal information (個人情報・要配慮個人情報・仮名加工情報)."""
    return dataset.personal_data in PERSONAL_CLASSES


def _refuse(actor: Actor, action: str, obj: Any, message: str, **changes: Any) -> None:
    """Audit a refused request (its own transaction, so the record survives the error)."""
    with transaction.atomic():
        if obj is not None:
            audit_record(actor=actor, action=action, obj=obj, changes={"message": message, **changes})
        else:
            audit_record(
                actor=actor,
                action=action,
                object_type="privacy.retention",
                changes={"message": message, **changes},
            )


def may_set_retention(actor: Actor, dataset: Dataset) -> bool:
    """The data owner (who may edit the entry) or the privacy officer."""
    return actor.is_authenticated and (can(actor, Action.EDIT, dataset) or is_privacy_officer(actor))


def _parse_years(value: Any) -> int | None:
    try:
        years = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return years


def retention_set(
    *, actor: Actor, dataset: Dataset, years: Any, clock: str, basis: str = ""
) -> RetentionRule:
    """Set (or change) the dataset's 保存期間; audited ``privacy.retention_set``."""
    if not may_set_retention(actor, dataset):
        raise PermissionDenied("保存期間を設定できるのは、データの所管課の編集者と個人情報保護担当です。")
    parsed = _parse_years(years)
    if parsed is None or parsed < 1 or parsed > MAX_YEARS:
        message = (
            f"保存期間は1年から{MAX_YEARS}年までの整数（年）で指定してください（指定された値: {years}）。"
        )
        _refuse(actor, "privacy.retention_refused", dataset, message, years=str(years))
        raise InvalidInput(message, details={"years": message})
    if clock not in RetentionClock.values:
        message = "起算日は「版の作成日から」か「データの対象期間の終了日から」を選んでください。"
        _refuse(actor, "privacy.retention_refused", dataset, message, clock=str(clock))
        raise InvalidInput(message, details={"clock": message})
    with transaction.atomic():
        rule = RetentionRule.objects.select_for_update().filter(dataset=dataset).first()
        before = None if rule is None else {"years": rule.years, "clock": rule.clock, "basis": rule.basis}
        if rule is None:
            rule = RetentionRule(dataset=dataset)
        rule.years, rule.clock, rule.basis = parsed, clock, basis.strip()
        rule.updated_by_id = actor.user_id
        rule.save()
        audit_record(
            actor=actor,
            action="privacy.retention_set",
            obj=dataset,
            changes={"before": before, "after": {"years": parsed, "clock": clock, "basis": rule.basis}},
        )
    return rule


def retention_clear(*, actor: Actor, dataset: Dataset) -> None:
    """Remove the rule (keep every version again); audited ``privacy.retention_cleared``."""
    if not may_set_retention(actor, dataset):
        raise PermissionDenied("保存期間を設定できるのは、データの所管課の編集者と個人情報保護担当です。")
    with transaction.atomic():
        deleted, _ = RetentionRule.objects.filter(dataset=dataset).delete()
        if deleted:
            audit_record(actor=actor, action="privacy.retention_cleared", obj=dataset, changes={})


def add_years(day: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` later (29 February → 28 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def expires_on(rule: RetentionRule, version: TableVersion) -> dt.date | None:
    """The first day the version may be purged, or None when the clock's date is unknown."""
    if rule.clock == RetentionClock.PERIOD_END:
        start = rule.dataset.temporal_end
        if start is None:
            return None
    else:
        start = timezone.localdate(version.created_at)
    return add_years(start, rule.years)


@dataclass(frozen=True)
class PlanItem:
    """One version of a dataset with a rule: what the purge does with it and why."""

    dataset: Dataset
    table: Table
    version: TableVersion
    expires_on: dt.date
    action: str  # purge | keep_current | keep_published
    note: str

    @property
    def label(self) -> str:
        """「<データ名> / <表> 第n版」."""
        return f"{self.dataset.title} / {self.table.title or self.table.name} 第{self.version.number}版"


@dataclass
class PurgePlan:
    """What a purge would do on ``today``: the expired versions, those kept, and rules it could not apply."""

    today: dt.date
    items: list[PlanItem] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def to_purge(self, *, include_current: bool = False) -> list[PlanItem]:
        """The items to remove (the current version's only with an explicit decision)."""
        wanted = {"purge", "keep_current"} if include_current else {"purge"}
        return [i for i in self.items if i.action in wanted]


KEEP_NOTES: Final = {
    "purge": "保存期間が満了しています。消去します。",
    "keep_current": "保存期間は満了していますが、現在の版のため消去しません（消去するには理由を記録した明示の決定が必要です）。",
    "keep_published": "保存期間は満了していますが、承認された公開申請が公開している版のため消去しません。",
}


def dataset_by_slug(*, actor: Actor, slug: str) -> Dataset:
    """The dataset a purge names; an unknown name is a clear error (and audited)."""
    dataset = Dataset.objects.filter(slug=slug).select_related("retention_rule").first()
    if dataset is None:
        message = f"データセット「{slug}」は見つかりません（URL名で指定してください）。"
        _refuse(actor, "privacy.purge_refused", None, message, dataset=slug)
        raise NotFound(message)
    return dataset


def purge_plan(
    *,
    actor: Actor,
    today: dt.date | None = None,
    dataset: Dataset | None = None,
    include_non_personal: bool = False,
) -> PurgePlan:
    """The expired versions of every dataset with a rule (or of one), with what is kept and why."""
    today = today or timezone.localdate()
    plan = PurgePlan(today=today)
    if dataset is not None and not is_personal(dataset) and not include_non_personal:
        message = (
            f"「{dataset.title}」は個人情報を含むデータではない（{dataset.get_personal_data_display()}）ため、"
            "保存期間による消去の対象にしていません。それでも消去するときは --include-non-personal を指定してください。"
        )
        _refuse(actor, "privacy.purge_refused", dataset, message)
        raise InvalidInput(message)
    rules = RetentionRule.objects.select_related("dataset").order_by("dataset__title", "pk")
    if dataset is not None:
        rules = rules.filter(dataset=dataset)
        if not rules.exists():
            plan.problems.append(
                f"「{dataset.title}」には保存期間が設定されていません（すべての版を保存します）。"
            )
    pinned = set(
        PublishedVersion.objects.filter(withdrawn_at__isnull=True).values_list("version_id", flat=True)
    )
    for rule in rules:
        ds = rule.dataset
        if not is_personal(ds) and not include_non_personal:
            plan.problems.append(
                f"「{ds.title}」は個人情報を含むデータではないため、保存期間があっても消去しません"
                "（--include-non-personal で対象にできます）。"
            )
            continue
        if rule.clock == RetentionClock.PERIOD_END and ds.temporal_end is None:
            plan.problems.append(
                f"「{ds.title}」は「データの対象期間の終了日から」数える設定ですが、対象期間（終了）が未記入のため判断できません。"
            )
            continue
        for table in Table.objects.filter(dataset=ds).order_by("name"):
            versions = TableVersion.objects.filter(table=table, status=VersionStatus.COMMITTED).order_by(
                "number"
            )
            for version in versions:
                end = expires_on(rule, version)
                if end is None or end > today:
                    continue
                if version.pk == table.current_version_id:
                    action = "keep_current"
                elif version.pk in pinned:
                    action = "keep_published"
                else:
                    action = "purge"
                plan.items.append(PlanItem(ds, table, version, end, action, KEEP_NOTES[action]))
    return plan


@dataclass
class PurgeResult:
    """What ``purge_apply`` removed."""

    versions: list[str] = field(default_factory=list)  # labels
    files: int = 0
    bytes: int = 0
    errors: list[str] = field(default_factory=list)


def purge_apply(
    *, actor: Actor, plan: PurgePlan, include_current: bool = False, reason: str = ""
) -> PurgeResult:
    """Remove the plan's expired versions; the current version's only with ``include_current`` and a reason.

    Each version goes through ``lake.protocol.purge_versions`` on its own (its tombstone names its
    own expiry); a failure on one table is reported and the others still run — the lake is left
    consistent either way (a version is marked before its files go, and recovery finishes it).
    """
    reason = (reason or "").strip()
    if include_current and not reason:
        message = "現在の版を消去するときは、決定の理由（決裁番号など）を書いてください。"
        _refuse(actor, "privacy.purge_refused", None, message, include_current=True)
        raise InvalidInput(message, details={"reason": message})
    result = PurgeResult()
    now = timezone.localtime()
    for item in plan.to_purge(include_current=include_current):
        rule = item.dataset.retention_rule
        decided = item.action == "keep_current"
        tombstone = {
            "rule": {"years": rule.years, "clock": rule.clock, "basis": rule.basis},
            "rule_label": rule.label() + (f"・現在の版の消去の決定: {reason}" if decided else ""),
            "expires_on": item.expires_on.isoformat(),
            "reason": reason if decided else "保存期間の満了",
            "by_label": actor.label(),
            "by_user_id": actor.user_id,
            "at_label": f"{now:%Y年%m月%d日}",
        }
        try:
            done = purge_versions(
                table=item.table,
                numbers=[item.version.number],
                actor=actor,
                tombstone=tombstone,
                allow_current=decided,
            )
        except (InvalidInput, NotFound, PermissionDenied) as exc:
            result.errors.append(f"{item.label}: {exc}")
            continue
        except Exception as exc:  # noqa: BLE001 - one table's failure must not stop the others
            result.errors.append(f"{item.label}: {exc}")
            continue
        result.versions.append(item.label)
        result.files += len(done.files)
        result.bytes += done.bytes
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="privacy.purge",
            object_type="privacy.retention",
            object_repr="保存期間による消去",
            changes={
                "today": plan.today.isoformat(),
                "versions": result.versions,
                "files": result.files,
                "bytes": result.bytes,
                "errors": result.errors,
                "include_current": include_current,
                "reason": reason,
            },
        )
    return result


def purge_expired(*, today: dt.date | None = None) -> PurgeResult:
    """The scheduled job: remove every expired, unpinned, non-current version of personal-data datasets."""
    plan = purge_plan(actor=SYSTEM_ACTOR, today=today)
    if not plan.to_purge():
        return PurgeResult()
    return purge_apply(actor=SYSTEM_ACTOR, plan=plan)


def tombstones(*, dataset: Dataset) -> list[TableVersion]:
    """The purged versions of a dataset (their rows are the tombstones), newest first."""
    return list(
        TableVersion.objects.filter(table__dataset=dataset, status=VersionStatus.PURGED)
        .select_related("table")
        .order_by("-pk")
    )
