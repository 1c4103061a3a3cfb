"""Reading notifications: everyone sees only their own."""

from __future__ import annotations

from django.db.models import QuerySet

from machidata.access.policy import Actor
from machidata.notify.models import Notification


def notification_list(*, actor: Actor) -> QuerySet[Notification]:
    """The actor's notifications, newest first (none for the anonymous public)."""
    if not actor.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(recipient_id=actor.user_id).order_by("-created_at", "-id")


def notification_unread_count(*, actor: Actor) -> int:
    """How many of the actor's notifications are unread."""
    return notification_list(actor=actor).filter(read_at__isnull=True).count()
