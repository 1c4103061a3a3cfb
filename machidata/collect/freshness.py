"""Freshness (更新の遅れ): each dataset's declared 更新頻度 against its committed versions.

``freshness(dataset) -> (last_updated, due, overdue_days)`` is the plain function other rooms call:

* ``last_updated`` — when the newest committed version of any of the dataset's tables was committed
  (UTC-aware), or None when it has none;
* ``due`` — the date the next update is expected: ``last_updated`` (its Japanese date) plus the
  declared period (毎日 1 day, 毎週 7 days, 毎月 1 month, 四半期ごと 3 months, 毎年度 1 year); without
  any version, counted from the date the entry was registered. None when nothing is expected: 随時,
  不定期, 更新なし, or data that lives outside machidata (a file share, a business system), whose
  versions machidata cannot see;
* ``overdue_days`` — whole days past ``due`` (0 when not overdue).

A month later than the 31st is the month's last day (1/31 + 1 month = 2/28 or 2/29).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Final

from django.db import IntegrityError, transaction
from django.db.models import Max, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from machidata.access.models import Membership, Role
from machidata.access.policy import Actor, unit_scope
from machidata.catalog.models import Dataset, Frequency, Location, TableVersion, VersionStatus
from machidata.collect.models import FreshnessReminder
from machidata.notify.services import notify

# Months per declared frequency (days for daily/weekly); frequencies not listed are not tracked.
PERIOD_MONTHS: Final = {Frequency.MONTHLY: 1, Frequency.QUARTERLY: 3, Frequency.YEARLY: 12}
PERIOD_DAYS: Final = {Frequency.DAILY: 1, Frequency.WEEKLY: 7}
TRACKED: Final = (*PERIOD_DAYS, *PERIOD_MONTHS)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months, clamped to the month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _due(frequency: str, location: str, base: dt.date) -> dt.date | None:
    if location != Location.MACHIDATA:
        return None
    if frequency in PERIOD_DAYS:
        return base + dt.timedelta(days=PERIOD_DAYS[frequency])  # type: ignore[index]
    if frequency in PERIOD_MONTHS:
        return add_months(base, PERIOD_MONTHS[frequency])  # type: ignore[index]
    return None


def _compute(
    dataset: Dataset, last: dt.datetime | None, today: dt.date
) -> tuple[dt.datetime | None, dt.date | None, int]:
    base = timezone.localdate(last) if last is not None else timezone.localdate(dataset.created_at)
    due = _due(dataset.frequency, dataset.location, base)
    overdue = max(0, (today - due).days) if due is not None else 0
    return last, due, overdue


def _with_last(qs: QuerySet[Dataset]) -> QuerySet[Dataset]:
    return qs.annotate(
        last_committed=Max(
            "tables__versions__committed_at", filter=Q(tables__versions__status=VersionStatus.COMMITTED)
        )
    )


def freshness(
    dataset: Dataset, *, today: dt.date | None = None
) -> tuple[dt.datetime | None, dt.date | None, int]:
    """(last_updated, due, overdue_days) of one dataset (see the module docstring)."""
    last = getattr(dataset, "last_committed", None)
    if last is None:
        last = TableVersion.objects.filter(table__dataset=dataset, status=VersionStatus.COMMITTED).aggregate(
            last=Max("committed_at")
        )["last"]
    return _compute(dataset, last, today or timezone.localdate())


@dataclass(frozen=True)
class Overdue:
    """One overdue dataset for the lists."""

    dataset: Dataset
    last_updated: dt.datetime | None
    due: dt.date
    overdue_days: int


def _overdue(qs: QuerySet[Dataset], today: dt.date) -> list[Overdue]:
    rows = []
    for ds in _with_last(
        qs.filter(retired_at__isnull=True, location=Location.MACHIDATA, frequency__in=TRACKED)
    ).select_related("owner"):
        last, due, days = _compute(ds, ds.last_committed, today)  # type: ignore[attr-defined]
        if due is not None and days > 0:
            rows.append(Overdue(ds, last, due, days))
    rows.sort(key=lambda r: (-r.overdue_days, r.dataset.title))
    return rows


def overdue_list(*, actor: Actor, today: dt.date | None = None) -> list[Overdue]:
    """Overdue datasets the actor answers for: their 課's (係 included); 管理 (データ戦略課): every 課's. Most overdue first."""
    if not actor.is_authenticated:
        return []
    qs = Dataset.objects.all()
    if not actor.is_admin:
        qs = qs.filter(owner_id__in=actor.unit_ids)
    return _overdue(qs, today or timezone.localdate())


def freshness_reminders_send(*, today: dt.date | None = None) -> int:
    """Tell each overdue dataset's 課 (its 編集 members, else all members) once per due date; returns how many."""
    today = today or timezone.localdate()
    sent = 0
    for row in _overdue(Dataset.objects.all(), today):
        ds = row.dataset
        scope = unit_scope(ds.owner_id)
        members = Membership.objects.active_on(today).filter(unit_id__in=scope)
        users = list(members.filter(role=Role.EDITOR).values_list("user_id", flat=True).distinct()) or list(
            members.values_list("user_id", flat=True).distinct()
        )
        try:
            with transaction.atomic():
                _, created = FreshnessReminder.objects.get_or_create(dataset=ds, due=row.due)
                if not created:
                    continue
                notify(
                    users=users,
                    message=(
                        f"「{ds.title}」は{ds.get_frequency_display()}更新の予定ですが、"
                        f"更新予定日（{row.due:%Y年%m月%d日}）を{row.overdue_days}日過ぎています。"
                    ),
                    link=reverse("catalog:detail", args=[ds.slug]),
                )
        except IntegrityError:  # sent by another runner meanwhile
            continue
        sent += 1
    return sent
