"""Reminders before and after the deadline: sent once per recipient and kind, never to those who answered."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from machidata.access.models import Membership
from machidata.catalog.models import Table
from machidata.collect import returns, services
from machidata.collect.models import Recipient, Reminder, ReminderKind
from machidata.collect.tests.conftest import as_actor
from machidata.core.testing import Actors
from machidata.notify.models import Notification

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = dt.date(2025, 4, 10)
DEADLINE = TODAY + dt.timedelta(days=10)


def test_reminders_exactly_once_per_kind(actors: Actors, visitors: Table, tmp_path: Path) -> None:
    editor = as_actor(actors, "owner_editor")
    fire = actors.org.fire_div
    campaign = services.campaign_create(
        actor=editor,
        table=visitors,
        title="照会",
        deadline=DEADLINE,
        unit_ids=[fire.pk],
        facilities=["第1合成小学校", "第2合成小学校"],
        today=TODAY,
    )
    answered = Recipient.objects.get(campaign=campaign, name="第2合成小学校")
    returns.return_submit_rows(
        actor=editor, recipient=answered, rows=[{"日付": "2025-04-01", "区分": "午前", "利用者数": "3"}]
    )
    fire_members = set(Membership.objects.filter(unit=fire).values_list("user_id", flat=True))
    start = Notification.objects.count()

    assert services.reminders_send(today=DEADLINE - dt.timedelta(days=4)) == 0  # too early
    assert services.reminders_send(today=DEADLINE - dt.timedelta(days=3)) == 2  # 警防課 and 第1合成小学校
    assert services.reminders_send(today=DEADLINE - dt.timedelta(days=1)) == 0  # already sent
    assert services.reminders_send(today=DEADLINE + dt.timedelta(days=1)) == 2
    assert services.reminders_send(today=DEADLINE + dt.timedelta(days=5)) == 0
    sent = Reminder.objects.filter(recipient__campaign=campaign)
    assert sorted(sent.values_list("recipient__name", "kind")) == sorted(
        [
            ("警防課", ReminderKind.BEFORE),
            ("警防課", ReminderKind.AFTER),
            ("第1合成小学校", ReminderKind.BEFORE),
            ("第1合成小学校", ReminderKind.AFTER),
        ]
    )
    new = Notification.objects.order_by("pk")[start:]
    to_fire = [n for n in new if n.recipient_id in fire_members]
    to_owner = [n for n in new if n.recipient_id == actors.users["owner_editor"].pk]
    assert len(to_fire) == 2 * len(fire_members)
    assert len(to_owner) == 2
    assert all("第1合成小学校" in n.message for n in to_owner)
    assert any("締切" in n.message and "過ぎました" in n.message for n in to_fire)


def test_closed_campaigns_are_not_reminded(actors: Actors, visitors: Table) -> None:
    editor = as_actor(actors, "owner_editor")
    campaign = services.campaign_create(
        actor=editor,
        table=visitors,
        title="照会",
        deadline=DEADLINE,
        facilities=["第1合成小学校"],
        today=TODAY,
    )
    services.campaign_close(actor=editor, campaign=campaign)
    assert services.reminders_send(today=DEADLINE + dt.timedelta(days=1)) == 0


def test_system_table_rows(actors: Actors, visitors: Table) -> None:
    from machidata.collect.system_table import SYSTEM_TABLE, recipient_rows

    editor = as_actor(actors, "owner_editor")
    today = timezone.localdate()
    campaign = services.campaign_create(
        actor=editor,
        table=visitors,
        title="照会",
        deadline=today,
        unit_ids=[actors.org.fire_div.pk],
        facilities=["第1合成小学校"],
    )
    school = Recipient.objects.get(campaign=campaign, unit__isnull=True)
    returns.return_submit_rows(
        actor=editor, recipient=school, rows=[{"日付": "2025-04-01", "区分": "午前", "利用者数": "3"}]
    )
    rows = {r[4]: r for r in recipient_rows(visitors.dataset)}
    assert rows["第1合成小学校"][5:] == ("施設", "回答済み", today, True, 1)
    assert rows["警防課"][5:] == ("組織", "未回答", None, None, 0)  # the deadline is today: not late yet
    assert [c.name for c in SYSTEM_TABLE.columns][:2] == ["照会番号", "照会した課"]


def test_repeating_campaign_starts_its_next_period_once(actors: Actors, visitors: Table) -> None:
    from machidata.access.models import Membership, Role

    editor = as_actor(actors, "owner_editor")
    fire = actors.org.fire_div
    first = services.campaign_create(
        actor=editor,
        table=visitors,
        title="毎月の利用者数",
        deadline=dt.date(2025, 1, 31),
        unit_ids=[fire.pk],
        facilities=["第1合成小学校"],
        repeat="monthly",
        today=dt.date(2025, 1, 1),
    )
    assert services.campaigns_repeat(today=dt.date(2025, 1, 31)) == []  # the deadline day itself: not yet
    (second,) = services.campaigns_repeat(today=dt.date(2025, 2, 1))
    assert second.deadline == dt.date(2025, 2, 28)
    assert second.previous_id == first.pk
    assert sorted(Recipient.objects.filter(campaign=second).values_list("name", flat=True)) == [
        "第1合成小学校",
        "警防課",
    ]
    assert services.campaigns_repeat(today=dt.date(2025, 2, 2)) == []  # started once
    # Long after (nobody ran the schedule): the next deadline is moved on past today.
    (third,) = services.campaigns_repeat(today=dt.date(2025, 5, 10))
    assert third.deadline == dt.date(2025, 5, 28)
    # The starter leaves the 課: the series stops and the 課 is told.
    Membership.objects.filter(user=actors.users["owner_editor"]).update(role=Role.VIEWER)
    start = Notification.objects.count()
    assert services.campaigns_repeat(today=dt.date(2025, 6, 1)) == []
    third.refresh_from_db()
    assert third.repeat == "none"
    assert Notification.objects.count() > start


def test_yearly_and_not_repeating(actors: Actors, visitors: Table) -> None:
    editor = as_actor(actors, "owner_editor")
    services.campaign_create(
        actor=editor,
        table=visitors,
        title="一度だけ",
        deadline=dt.date(2025, 4, 30),
        facilities=["a"],
        today=dt.date(2025, 4, 1),
    )
    yearly = services.campaign_create(
        actor=editor,
        table=visitors,
        title="毎年",
        deadline=dt.date(2024, 2, 29),
        facilities=["a"],
        repeat="yearly",
        today=dt.date(2024, 2, 1),
    )
    (nxt,) = services.campaigns_repeat(today=dt.date(2024, 3, 1))
    assert (nxt.title, nxt.deadline, nxt.previous_id) == ("毎年", dt.date(2025, 2, 28), yearly.pk)
