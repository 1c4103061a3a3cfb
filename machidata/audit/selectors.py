"""Reading the audit trail: 管理 only, filtered and newest first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from machidata.access.policy import Actor, require_admin
from machidata.audit.models import AuditEvent
from machidata.core.errors import NotFound


@dataclass(frozen=True)
class AuditFilters:
    """The filters of the audit log page and its CSV export (all optional)."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    actor_label: str = ""
    action: str = ""
    object_type: str = ""
    q: str = ""


def _day_start(day: dt.date) -> dt.datetime:
    # Dates on screen are Japanese dates; the stored timestamps are UTC-aware.
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_default_timezone())


def audit_event_list(*, actor: Actor, filters: AuditFilters | None = None) -> QuerySet[AuditEvent]:
    """Audit events matching ``filters``, newest first (管理 only; others get NotFound)."""
    require_admin(actor)
    f = filters or AuditFilters()
    qs = AuditEvent.objects.all()
    if f.date_from:
        qs = qs.filter(created_at__gte=_day_start(f.date_from))
    if f.date_to:
        qs = qs.filter(created_at__lt=_day_start(f.date_to + dt.timedelta(days=1)))
    if f.actor_label:
        qs = qs.filter(actor_label__icontains=f.actor_label)
    if f.action:
        qs = qs.filter(action=f.action)
    if f.object_type:
        qs = qs.filter(object_type=f.object_type)
    if f.q:
        qs = qs.filter(object_repr__icontains=f.q)
    return qs.order_by("-id")


def audit_event_get(*, actor: Actor, pk: int) -> AuditEvent:
    """One audit event (管理 only; missing and forbidden both answer NotFound)."""
    require_admin(actor)
    event = AuditEvent.objects.filter(pk=pk).first()
    if event is None:
        raise NotFound("監査ログが見つかりません。")
    return event


def audit_choices(*, actor: Actor) -> tuple[list[str], list[str]]:
    """The distinct actions and object types recorded so far (for the filter menus)."""
    require_admin(actor)
    # order_by() on the column itself: the model's default ordering would defeat DISTINCT.
    actions = list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct())
    types = list(
        AuditEvent.objects.exclude(object_type="")
        .order_by("object_type")
        .values_list("object_type", flat=True)
        .distinct()
    )
    return actions, types
