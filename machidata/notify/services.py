"""Sending notifications: in-app rows written in the caller's transaction; e-mail after it commits or in a digest.

Each notice carries its e-mail state (``email_status``): the e-mail is sent after the commit for those who
want it at once, in one morning digest for those who chose まとめて, never for 受け取らない. A mail server that
refuses or cannot be reached leaves the notice pending (the failure logged and counted); the retry job and
the next digest try again, up to ``MACHIDATA_EMAIL_MAX_ATTEMPTS``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from machidata.access.policy import Actor
from machidata.audit.services import audit_record
from machidata.core.errors import InvalidInput, PermissionDenied
from machidata.notify.models import EmailMode, EmailPreference, EmailStatus, Notification

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


def email_mode(user_id: int) -> str:
    """The user's choice for notice e-mails (すぐに when they never chose)."""
    mode = EmailPreference.objects.filter(user_id=user_id).values_list("mode", flat=True).first()
    return mode or EmailMode.IMMEDIATE


def notify(
    *, users: Iterable[Any], message: str, link: str = "", exclude: Actor | None = None
) -> list[Notification]:
    """Notify each active user once (``exclude``: the actor who caused it, who needs no notice).

    The rows join the caller's transaction, so a failed write notifies nobody. When
    ``MACHIDATA_NOTIFY_EMAIL`` is on, the notice of each user with an address whose e-mail choice is not
    「受け取らない」 is marked to be e-mailed: at once after the commit (すぐに) or in the morning digest
    (まとめて). A notice whose e-mail fails stays here and is tried again by the next run of the jobs.
    """
    ids = [uid for uid in _user_ids(users) if exclude is None or uid != exclude.user_id]
    if not ids:
        return []
    recipients = list(get_user_model().objects.filter(pk__in=ids, is_active=True).only("pk", "email"))
    modes = dict(EmailPreference.objects.filter(user_id__in=ids).values_list("user_id", "mode"))
    now = timezone.now()
    wants_mail = bool(settings.MACHIDATA_NOTIFY_EMAIL)

    def status_of(user: Any) -> str:
        if not wants_mail or not user.email or modes.get(user.pk) == EmailMode.OFF:
            return EmailStatus.NONE
        return EmailStatus.PENDING

    rows = Notification.objects.bulk_create(
        [
            Notification(
                recipient=u, message=message[:500], link=link[:500], created_at=now, email_status=status_of(u)
            )
            for u in recipients
        ]
    )
    immediate = [
        n.pk
        for n, u in zip(rows, recipients, strict=True)
        if n.email_status == EmailStatus.PENDING
        and modes.get(u.pk, EmailMode.IMMEDIATE) == EmailMode.IMMEDIATE
    ]
    if immediate:
        transaction.on_commit(lambda: emails_send(ids=immediate))
    return rows


def _link_url(link: str) -> str:
    return f"{settings.MACHIDATA_SITE_URL.rstrip('/')}{link}" if link else ""


def _signature() -> str:
    return f"-- \nまちデータ（{settings.MACHIDATA_CITY_NAME}）\n"


def _record_failure(ids: list[int], exc: Exception) -> None:
    """Count a failed attempt; after MACHIDATA_EMAIL_MAX_ATTEMPTS the notice is given up (it stays in machidata)."""
    reason = f"{type(exc).__name__}: {exc}"[:500]
    rows = Notification.objects.filter(pk__in=ids, email_status=EmailStatus.PENDING)
    rows.update(email_attempts=F("email_attempts") + 1, email_error=reason)
    rows.filter(email_attempts__gte=settings.MACHIDATA_EMAIL_MAX_ATTEMPTS).update(
        email_status=EmailStatus.FAILED
    )


def _mark_sent(ids: list[int]) -> None:
    Notification.objects.filter(pk__in=ids).update(
        email_status=EmailStatus.SENT, emailed_at=timezone.now(), email_error=""
    )


def _open_connection() -> Any:
    """A mail connection opened now, or None (the failure is logged) when the mail server cannot be reached."""
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except Exception:
        logger.exception("the mail server cannot be reached; notices stay pending")
        return None
    return connection


def emails_send(*, ids: Iterable[int] | None = None) -> tuple[int, int]:
    """Send the pending e-mails of notices whose recipients want them at once (``ids``: only those).

    Called after the commit of :func:`notify` and by the retry job; returns (sent, failed). Never raises:
    an unreachable or refusing mail server leaves the notices pending (logged) for the next run.
    """
    pending = Notification.objects.filter(email_status=EmailStatus.PENDING).select_related("recipient")
    if ids is not None:
        pending = pending.filter(pk__in=list(ids))
    else:  # the retry job leaves the newest to the send that follows their commit (no mail twice)
        pending = pending.filter(created_at__lt=timezone.now() - dt.timedelta(minutes=1))
    digest_users = EmailPreference.objects.exclude(mode=EmailMode.IMMEDIATE).values("user_id")
    rows = list(pending.exclude(recipient_id__in=digest_users).order_by("created_at", "id"))
    if not rows:
        return 0, 0
    connection = _open_connection()
    sent = failed = 0
    for n in rows:
        if connection is None:
            _record_failure([n.pk], ConnectionError("メールサーバーに接続できません"))
            failed += 1
            continue
        url = _link_url(n.link)
        body = f"{n.message}\n\n{url}\n\n{_signature()}" if url else f"{n.message}\n\n{_signature()}"
        mail = EmailMessage(
            SUBJECT_PREFIX + n.message[:60], body, settings.DEFAULT_FROM_EMAIL, [n.recipient.email],
            connection=connection,
        )  # fmt: skip
        try:
            mail.send(fail_silently=False)
        except Exception as exc:  # the notice is saved; a mail server outage must not fail anything else
            logger.exception("notification e-mail %s to %s failed", n.pk, n.recipient.email)
            _record_failure([n.pk], exc)
            failed += 1
        else:
            _mark_sent([n.pk])
            sent += 1
    if connection is not None:
        with contextlib.suppress(Exception):
            connection.close()
    return sent, failed


def digest_body(notices: list[Notification]) -> str:
    """The text of one digest: each notice (oldest first) with its time and link."""
    lines = [f"まちデータのお知らせが {len(notices)} 件あります。", ""]
    for n in notices:
        when = timezone.localtime(n.created_at).strftime("%Y-%m-%d %H:%M")
        lines.append(f"・{when}　{n.message}")
        if n.link:
            lines.append(f"　{_link_url(n.link)}")
    lines += ["", "お知らせの一覧: " + _link_url("/notifications/"), "", _signature()]
    return "\n".join(lines)


def digests_send() -> tuple[int, int]:
    """Send each まとめて user one e-mail of their pending notices; returns (users sent, users failed).

    A failure leaves that user's notices pending (logged) for the next run; the other users are still sent.
    Notices of users who switched to 受け取らない are no longer mailed.
    """
    Notification.objects.filter(
        email_status=EmailStatus.PENDING,
        recipient_id__in=EmailPreference.objects.filter(mode=EmailMode.OFF).values("user_id"),
    ).update(email_status=EmailStatus.NONE)
    users = EmailPreference.objects.filter(mode=EmailMode.DIGEST).values("user_id")
    pending = (
        Notification.objects.filter(email_status=EmailStatus.PENDING, recipient_id__in=users)
        .select_related("recipient")
        .order_by("recipient_id", "created_at", "id")
    )
    by_user: dict[int, list[Notification]] = {}
    for n in pending:
        by_user.setdefault(n.recipient_id, []).append(n)
    if not by_user:
        return 0, 0
    connection = _open_connection()
    sent = failed = 0
    for notices in by_user.values():
        ids = [n.pk for n in notices]
        address = notices[0].recipient.email
        if connection is None or not address:
            _record_failure(
                ids,
                ConnectionError("メールサーバーに接続できません")
                if address
                else ValueError("メールアドレスがありません"),
            )
            failed += 1
            continue
        mail = EmailMessage(
            f"{SUBJECT_PREFIX}お知らせのまとめ（{len(notices)}件）", digest_body(notices),
            settings.DEFAULT_FROM_EMAIL, [address], connection=connection,
        )  # fmt: skip
        try:
            mail.send(fail_silently=False)
        except Exception as exc:
            logger.exception("digest e-mail to %s failed", address)
            _record_failure(ids, exc)
            failed += 1
        else:
            _mark_sent(ids)
            sent += 1
    if connection is not None:
        with contextlib.suppress(Exception):
            connection.close()
    return sent, failed


def email_preference_set(*, actor: Actor, mode: str) -> str:
    """Set the actor's own choice for notice e-mails (すぐに・まとめて・受け取らない)."""
    if not actor.is_authenticated or actor.user_id is None:
        raise PermissionDenied("ログインしてください。")
    if mode not in EmailMode.values:
        raise InvalidInput(
            f"メールの受け取り方「{mode}」は選べません（{'・'.join(EmailMode.values)} のどれかにしてください）。"
        )
    with transaction.atomic():
        pref, created = EmailPreference.objects.get_or_create(user_id=actor.user_id, defaults={"mode": mode})
        before = "" if created else pref.mode
        if pref.mode != mode:
            pref.mode = mode
            pref.save(update_fields=["mode", "updated_at"])
        if before != mode:
            audit_record(
                actor=actor, action="notify.email_preference", obj=pref, changes={"mode": [before, mode]}
            )
    return mode


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
