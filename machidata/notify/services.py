"""Sending notifications: in-app rows written in the caller's transaction, e-mail after it commits."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from machidata.access.policy import Actor
from machidata.notify.models import Notification

logger = logging.getLogger("machidata.notify")

SUBJECT_PREFIX = "【まちデータ】"


def _user_ids(users: Iterable[Any]) -> list[int]:
    """Distinct user ids from users or ids, in first-seen order."""
    seen: dict[int, None] = {}
    for user in users:
        uid = user if isinstance(user, int) else getattr(user, "pk", None)
        if uid is not None:
            seen.setdefault(int(uid), None)
    return list(seen)


def notify(
    *, users: Iterable[Any], message: str, link: str = "", exclude: Actor | None = None
) -> list[Notification]:
    """Notify each active user once (``exclude``: the actor who caused it, who needs no notice).

    The rows join the caller's transaction, so a failed write notifies nobody. When
    ``MACHIDATA_NOTIFY_EMAIL`` is on, an e-mail goes to those with an address, only after the commit.
    """
    ids = [uid for uid in _user_ids(users) if exclude is None or uid != exclude.user_id]
    if not ids:
        return []
    recipients = list(get_user_model().objects.filter(pk__in=ids, is_active=True).only("pk", "email"))
    now = timezone.now()
    rows = Notification.objects.bulk_create(
        [
            Notification(recipient=u, message=message[:500], link=link[:500], created_at=now)
            for u in recipients
        ]
    )
    if settings.MACHIDATA_NOTIFY_EMAIL:
        addresses = sorted({u.email for u in recipients if u.email})
        if addresses:
            transaction.on_commit(lambda: _send_mail(addresses, message, link))
    return rows


def _send_mail(addresses: list[str], message: str, link: str) -> None:
    """One e-mail per recipient (addresses are not shown to each other); failures are logged, not raised."""
    url = f"{settings.MACHIDATA_SITE_URL.rstrip('/')}{link}" if link else ""
    body = f"{message}\n\n{url}\n\n-- \nまちデータ（{settings.MACHIDATA_CITY_NAME}）\n" if url else message
    for address in addresses:
        try:
            send_mail(
                SUBJECT_PREFIX + message[:60],
                body,
                settings.DEFAULT_FROM_EMAIL,
                [address],
                fail_silently=False,
            )
        except (
            Exception
        ):  # the in-app notice is already saved; a mail server outage must not fail the request
            logger.exception("notification e-mail to %s failed", address)


def notifications_mark_read(*, actor: Actor, ids: Iterable[int] | None = None) -> int:
    """Mark the actor's unread notifications read (only ``ids`` when given); returns how many.

    Not audited: reading one's own notices is personal state, not a change to shared records.
    """
    if not actor.is_authenticated:
        return 0
    unread = Notification.objects.filter(recipient_id=actor.user_id, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())
