"""Notifications: the service (once per user, not to the actor, e-mail only after commit), the page and the header count."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse

from machidata.access.policy import actor_for
from machidata.core.testing import Actors, check_statuses, make_user
from machidata.notify.models import Notification
from machidata.notify.selectors import notification_unread_count
from machidata.notify.services import notifications_mark_read, notify

pytestmark = pytest.mark.django_db


def test_notify_once_per_active_user_and_never_the_actor(actors: Actors) -> None:
    admin, staff = actors.users["admin"], actors.users["staff"]
    gone = make_user("gone", is_active=False)
    with transaction.atomic():
        rows = notify(
            users=[admin, staff.pk, staff, gone],
            message="回付されました",
            link="/x/",
            exclude=actor_for(admin),
        )
    assert [n.recipient_id for n in rows] == [staff.pk]
    assert list(Notification.objects.values_list("recipient_id", "message", "link")) == [
        (staff.pk, "回付されました", "/x/")
    ]
    assert notify(users=[], message="nobody") == []


def test_no_notice_and_no_email_when_the_write_rolls_back(
    actors: Actors, settings, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    settings.MACHIDATA_NOTIFY_EMAIL = True
    staff = actors.users["staff"]
    staff.email = "staff@example.jp"
    staff.save()

    def write_then_fail() -> None:
        with transaction.atomic():
            notify(users=[staff], message="取り消される", link="/a/")
            raise RuntimeError("rolled back")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        write_then_fail()
    assert callbacks == []
    assert Notification.objects.count() == 0
    assert mail.outbox == []


def test_email_is_sent_on_commit(actors: Actors, settings, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    settings.MACHIDATA_NOTIFY_EMAIL = True
    settings.MACHIDATA_SITE_URL = "https://data.example.lg.jp/"
    staff = actors.users["staff"]
    staff.email = "staff@example.jp"
    staff.save()
    with django_capture_on_commit_callbacks(execute=True):
        notify(users=[staff, actors.users["admin"]], message="回答がありました", link="/data-requests/1/")
    assert [m.to for m in mail.outbox] == [["staff@example.jp"]]  # admin has no address
    assert mail.outbox[0].subject == "【まちデータ】回答がありました"
    assert "https://data.example.lg.jp/data-requests/1/" in mail.outbox[0].body
    settings.MACHIDATA_NOTIFY_EMAIL = False
    with django_capture_on_commit_callbacks(execute=True):
        notify(users=[staff], message="メールなし")
    assert len(mail.outbox) == 1


def test_page_lists_own_notices_marks_them_read_and_header_counts(actors: Actors) -> None:
    staff, admin = actors.users["staff"], actors.users["admin"]
    with transaction.atomic():
        notify(users=[staff], message="あなた宛て", link="/data-requests/1/")
        notify(users=[admin], message="管理宛て")
    url = reverse("notify:list")
    check_statuses(actors, lambda c: c.get(url), {"anonymous": 302, "staff": 200, "admin": 200})
    Notification.objects.update(read_at=None)
    client = actors.client("staff")
    home = client.get(reverse("datarequests:list")).content.decode()
    assert '1<span class="visually-hidden">件の未読</span>' in home
    page = client.get(url).content.decode()
    assert '<a href="/data-requests/1/">あなた宛て</a>' in page
    assert "新着" in page  # shown as new this once
    assert "管理宛て" not in page
    assert notification_unread_count(actor=actor_for(staff)) == 0
    assert notification_unread_count(actor=actor_for(admin)) == 1
    again = client.get(url).content.decode()
    assert "新着" not in again
    assert "件の未読" not in again


def test_mark_all_read(actors: Actors) -> None:
    admin = actors.users["admin"]
    with transaction.atomic():
        notify(users=[admin], message="一")
        notify(users=[admin], message="二")
    response = actors.client("admin").post(reverse("notify:mark_all"))
    assert response.status_code == 302
    assert notification_unread_count(actor=actor_for(admin)) == 0
    assert actors.client("anonymous").post(reverse("notify:mark_all")).status_code == 302
    assert notifications_mark_read(actor=actor_for(admin)) == 0
