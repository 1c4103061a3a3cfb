"""Reads of campaigns (照会), filtered by who stands where: the asking 課, the recipients, 管理.

* The asking side — members of the campaign's 課 (係 included) and 管理 — see the whole campaign;
  those who may *edit* the collected table's dataset manage it (templates of every recipient,
  returns on a recipient's behalf, closing).
* A recipient 課 / 区役所's members see the campaign, their own recipient entry, its template and
  their own returns, never the other recipients' or the table's data.

Hidden and missing campaigns both answer :class:`NotFound`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from machidata.access.policy import Action, Actor, can, restrict, restrict_related
from machidata.catalog.models import Dataset
from machidata.collect.models import (
    Campaign,
    ImportedFile,
    ImportSource,
    OpenDataRun,
    Recipient,
    RecipientStatus,
    Submission,
)
from machidata.core.errors import NotFound


def campaign_list(*, actor: Actor) -> QuerySet[Campaign]:
    """Campaigns the actor asks (their 課, or a table they may edit) or answers (a recipient 課 / 区役所); 管理: all."""
    qs = Campaign.objects.select_related("table__dataset", "unit")
    if not actor.is_authenticated:
        return qs.none()
    if not actor.is_admin:
        answering = Recipient.objects.filter(unit_id__in=actor.unit_ids).values("campaign_id")
        editable = restrict(Dataset.objects.all(), actor, Action.EDIT).values("pk")
        # Subqueries, not joins: a join on recipients here would also narrow the counts below.
        qs = qs.filter(Q(unit_id__in=actor.unit_ids) | Q(pk__in=answering) | Q(table__dataset__in=editable))
    return qs.annotate(
        n_recipients=Count("recipients", distinct=True),
        n_answered=Count("recipients", filter=Q(recipients__status=RecipientStatus.ANSWERED), distinct=True),
    ).order_by("-created_at", "-id")


def campaign_get(*, actor: Actor, pk: int) -> Campaign:
    """One campaign the actor may see, or NotFound."""
    row = campaign_list(actor=actor).filter(pk=pk).first()
    if row is None:
        raise NotFound("照会が見つかりません。")
    return row


def is_asking_side(actor: Actor, campaign: Campaign) -> bool:
    """Members of the asking 課, those who may edit the table, and 管理 see every recipient's progress."""
    return actor.is_admin or campaign.unit_id in actor.unit_ids or may_manage(actor, campaign)


def may_manage(actor: Actor, campaign: Campaign) -> bool:
    """Managing a campaign is editing its table: the dataset's 編集 (データ所有者) or 管理."""
    return can(actor, Action.EDIT, campaign.table.dataset)


def may_answer(actor: Actor, recipient: Recipient) -> bool:
    """A recipient's members answer for it; the data owner may enter a facility's (or anyone's) return."""
    if recipient.unit_id is not None and recipient.unit_id in actor.unit_ids:
        return True
    return may_manage(actor, recipient.campaign)


def recipients_for(*, actor: Actor, campaign: Campaign) -> QuerySet[Recipient]:
    """The recipients the actor may see: all for the asking side, else their own."""
    qs = Recipient.objects.filter(campaign=campaign).select_related("unit")
    if is_asking_side(actor, campaign):
        return qs
    return qs.filter(unit_id__in=actor.unit_ids)


def recipient_get(*, actor: Actor, campaign: Campaign, pk: int) -> Recipient:
    """One recipient the actor may see, or NotFound."""
    row = recipients_for(actor=actor, campaign=campaign).filter(pk=pk).first()
    if row is None:
        raise NotFound("回答先が見つかりません。")
    return row


def submissions_for(*, actor: Actor, recipient: Recipient) -> QuerySet[Submission]:
    """A recipient's returns, newest first (the caller has fetched ``recipient`` through :func:`recipient_get`)."""
    return Submission.objects.filter(recipient=recipient).select_related("version", "submitted_by")


@dataclass(frozen=True)
class Progress:
    """How far a campaign is: counts per recipient status and the share answered."""

    total: int
    answered: int
    needs_fix: int
    waiting: int

    @property
    def percent(self) -> int:
        """Answered recipients as a whole percentage."""
        return round(100 * self.answered / self.total) if self.total else 0


def campaign_progress(*, campaign: Campaign) -> Progress:
    """Counts of answered, to-fix and waiting recipients."""
    counts = dict(
        Recipient.objects.filter(campaign=campaign).values_list("status").annotate(n=Count("id")).order_by()
    )
    answered = counts.get(RecipientStatus.ANSWERED, 0)
    needs_fix = counts.get(RecipientStatus.NEEDS_FIX, 0)
    waiting = counts.get(RecipientStatus.WAITING, 0)
    return Progress(
        total=answered + needs_fix + waiting, answered=answered, needs_fix=needs_fix, waiting=waiting
    )


def import_sources(*, actor: Actor) -> QuerySet[ImportSource]:
    """Folder imports into tables the actor may edit (管理: all), newest first."""
    qs = ImportSource.objects.select_related("table__dataset", "created_by")
    if not actor.is_authenticated:
        return qs.none()
    return restrict_related(qs, actor, Action.EDIT, via="table__dataset")


def import_source_get(*, actor: Actor, pk: int) -> ImportSource:
    """One folder import the actor may see, or NotFound."""
    row = import_sources(actor=actor).filter(pk=pk).first()
    if row is None:
        raise NotFound("定期取り込みが見つかりません。")
    return row


def imported_files(*, source: ImportSource) -> QuerySet[ImportedFile]:
    """The files an import has seen, newest first (the caller fetched ``source`` through :func:`import_source_get`)."""
    return ImportedFile.objects.filter(source=source).select_related("version")


def opendata_runs(*, actor: Actor) -> QuerySet[OpenDataRun]:
    """Open-data imports (オープンデータの取り込み), newest first: 管理 only (nobody else sees any)."""
    if not actor.is_admin:
        return OpenDataRun.objects.none()
    return OpenDataRun.objects.select_related("owner", "created_by", "job").order_by("-created_at", "-id")


def opendata_run_get(*, actor: Actor, pk: int) -> OpenDataRun:
    """One open-data import for 管理; NotFound for everyone else and for a missing one."""
    run = opendata_runs(actor=actor).filter(pk=pk).first()
    if run is None:
        raise NotFound("オープンデータの取り込みが見つかりません。")
    return run
