"""Notice e-mails over SMTP against a real local server (aiosmtpd): at once, the daily digest, no mail, and refusals."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from django.db import transaction
from django.db.models import F

from machidata.access.policy import actor_for
from machidata.audit.models import AuditEvent
from machidata.core.errors import InvalidInput
from machidata.core.testing import Actors
from machidata.jobs.runner import PERIODIC
from machidata.notify.models import EmailStatus, Notification
from machidata.notify.services import digests_send, email_preference_set, emails_send, notify
from machidata.notify.tests.smtp import Mailbox, free_port, smtp

__all__ = ["smtp"]
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def people(actors: Actors) -> dict[str, Any]:
    """staff and owner_viewer with addresses; admin without one."""
    out = {}
    for name in ("staff", "owner_viewer", "admin"):
        user = actors.users[name]
        user.email = "" if name == "admin" else f"{name}@example.jp"
        user.save()
        out[name] = user
    return out


def send(users: list[Any], message: str, link: str = "/collect/alerts/") -> list[Notification]:
    with transaction.atomic():
        return notify(users=users, message=message, link=link)


def ten_minutes_later() -> None:
    """The next run of the retry job: the notices are no longer the newest (those are left to their own send)."""
    Notification.objects.update(created_at=F("created_at") - dt.timedelta(minutes=10))


def statuses() -> dict[str, str]:
    return dict(Notification.objects.values_list("message", "email_status"))


def test_immediate_email_reaches_the_smtp_server(smtp: Mailbox, people: dict[str, Any]) -> None:
    send([people["staff"], people["admin"]], "グラフ「月別」の値が 6 になりました。")
    assert [m["To"] for m in smtp.messages] == ["staff@example.jp"]  # admin has no address
    assert str(smtp.messages[0]["Subject"]).strip() == "【まちデータ】グラフ「月別」の値が 6 になりました。"
    assert "https://data.example.lg.jp/collect/alerts/" in smtp.bodies()[0]
    rows = dict(Notification.objects.values_list("recipient_id", "email_status"))
    assert rows == {people["staff"].pk: EmailStatus.SENT, people["admin"].pk: EmailStatus.NONE}


def test_a_refusing_server_keeps_the_notice_and_the_retry_delivers(
    smtp: Mailbox, people: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    smtp.refuse = True
    with caplog.at_level(logging.ERROR, logger="machidata.notify"):
        rows = send([people["staff"], people["owner_viewer"]], "拒否される知らせ")
    assert len(rows) == 2  # the notices are saved; nothing was raised to the caller
    assert smtp.messages == []
    assert Notification.objects.filter(email_status=EmailStatus.PENDING, email_attempts=1).count() == 2
    assert "550" in Notification.objects.first().email_error  # type: ignore[union-attr]
    assert any("failed" in r.message for r in caplog.records)
    smtp.refuse = False
    assert emails_send() == (0, 0)  # just made: left to the send after their commit
    ten_minutes_later()
    assert emails_send() == (2, 0)  # the next run of the retry job
    assert sorted(m["To"] for m in smtp.messages) == ["owner_viewer@example.jp", "staff@example.jp"]
    assert set(statuses().values()) == {EmailStatus.SENT}
    assert emails_send() == (0, 0)  # sent once only


def test_an_unreachable_server_breaks_nothing(settings: Any, people: dict[str, Any]) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    settings.MACHIDATA_NOTIFY_EMAIL = True
    send([people["staff"]], "届かない知らせ")
    row = Notification.objects.get()
    assert (row.email_status, row.email_attempts) == (EmailStatus.PENDING, 1)
    ten_minutes_later()
    assert emails_send() == (0, 1)
    settings.MACHIDATA_EMAIL_MAX_ATTEMPTS = 3
    assert emails_send() == (0, 1)
    row.refresh_from_db()
    assert (row.email_status, row.email_attempts) == (
        EmailStatus.FAILED,
        3,
    )  # given up, still shown in machidata
    assert emails_send() == (0, 0)


def test_daily_digest_sends_one_mail_per_person(smtp: Mailbox, people: dict[str, Any]) -> None:
    staff = people["staff"]
    email_preference_set(actor=actor_for(staff), mode="digest")
    send([staff, people["owner_viewer"]], "一つ目のお知らせ", "/a/")
    send([staff], "二つ目のお知らせ", "/b/")
    send([staff], "三つ目のお知らせ", "")
    assert [m["To"] for m in smtp.messages] == ["owner_viewer@example.jp"]  # who wants them at once
    ten_minutes_later()
    assert emails_send() == (0, 0)  # the retry job leaves digest notices alone
    assert digests_send() == (1, 0)
    digest = smtp.messages[-1]
    assert digest["To"] == "staff@example.jp"
    assert str(digest["Subject"]).strip() == "【まちデータ】お知らせのまとめ（3件）"
    body = smtp.bodies()[-1]
    assert body.index("一つ目") < body.index("二つ目") < body.index("三つ目")
    assert "https://data.example.lg.jp/a/" in body
    assert "https://data.example.lg.jp/b/" in body
    assert Notification.objects.filter(recipient=staff, email_status=EmailStatus.SENT).count() == 3
    assert digests_send() == (0, 0)  # nothing twice
    assert len(smtp.messages) == 2


def test_a_refused_digest_is_sent_by_the_next_run(smtp: Mailbox, people: dict[str, Any]) -> None:
    email_preference_set(actor=actor_for(people["staff"]), mode="digest")
    email_preference_set(actor=actor_for(people["owner_viewer"]), mode="digest")
    send([people["staff"], people["owner_viewer"]], "まとめる知らせ")
    smtp.refuse = True
    assert digests_send() == (0, 2)
    assert set(statuses().values()) == {EmailStatus.PENDING}
    smtp.refuse = False
    assert digests_send() == (2, 0)
    assert sorted(m["To"] for m in smtp.messages) == ["owner_viewer@example.jp", "staff@example.jp"]


def test_no_mail_for_those_who_turned_it_off(smtp: Mailbox, people: dict[str, Any]) -> None:
    staff = people["staff"]
    email_preference_set(actor=actor_for(staff), mode="digest")
    send([staff], "まとめ待ち")
    email_preference_set(actor=actor_for(staff), mode="off")  # changed their mind before the morning
    send([staff], "メールなし")
    assert digests_send() == (0, 0)
    ten_minutes_later()
    assert emails_send() == (0, 0)
    assert smtp.messages == []
    assert Notification.objects.filter(recipient=staff).count() == 2  # still shown in machidata
    assert set(statuses().values()) == {EmailStatus.NONE}


def test_preference_is_checked_and_audited(people: dict[str, Any]) -> None:
    staff = actor_for(people["staff"])
    with pytest.raises(InvalidInput, match="メールの受け取り方「weekly」"):
        email_preference_set(actor=staff, mode="weekly")
    email_preference_set(actor=staff, mode="digest")
    email_preference_set(actor=staff, mode="digest")  # unchanged: one event
    assert AuditEvent.objects.filter(action="notify.email_preference").count() == 1


def test_the_jobs_are_scheduled() -> None:
    names = set(PERIODIC)
    assert "machidata.notify.jobs.send_pending_emails" in names
    assert "machidata.notify.jobs.send_email_digests" in names
