"""Freshness: declared 更新頻度 against committed versions; overdue lists per 課 and for 管理; notices once per due date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from machidata.access.policy import actor_for
from machidata.catalog.models import Frequency, Location, Table, TableVersion
from machidata.collect.freshness import add_months, freshness, freshness_reminders_send, overdue_list
from machidata.collect.models import FreshnessReminder
from machidata.core.testing import Actors, make_dataset
from machidata.notify.models import Notification

pytestmark = pytest.mark.django_db(transaction=True)


def _committed(table: Table) -> dt.datetime:
    table.refresh_from_db()
    assert table.current_version is not None
    value = table.current_version.committed_at
    assert value is not None
    return value


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2025, 1, 31), 1, dt.date(2025, 2, 28)),
        (dt.date(2024, 1, 31), 1, dt.date(2024, 2, 29)),
        (dt.date(2025, 11, 15), 3, dt.date(2026, 2, 15)),
        (dt.date(2025, 4, 1), 12, dt.date(2026, 4, 1)),
    ],
)
def test_add_months(day: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(day, months) == expected


def test_freshness_of_a_monthly_dataset(actors: Actors, visitors: Table) -> None:
    ds = visitors.dataset
    ds.frequency = Frequency.MONTHLY
    ds.save()
    last = _committed(visitors)
    local = timezone.localdate(last)
    due = add_months(local, 1)
    assert freshness(ds, today=due) == (last, due, 0)
    assert freshness(ds, today=due + dt.timedelta(days=9)) == (last, due, 9)
    ds.frequency = Frequency.IRREGULAR
    assert freshness(ds, today=due + dt.timedelta(days=9)) == (last, None, 0)
    ds.frequency, ds.location = Frequency.MONTHLY, Location.FILE_SHARE
    assert freshness(ds, today=due + dt.timedelta(days=9)) == (last, None, 0)


def test_dataset_without_versions_counts_from_registration(actors: Actors) -> None:
    ds = make_dataset(actors.org.fire_div, frequency=Frequency.WEEKLY)
    registered = timezone.localdate(ds.created_at)
    assert freshness(ds, today=registered + dt.timedelta(days=10)) == (
        None,
        registered + dt.timedelta(days=7),
        3,
    )


def test_overdue_lists_and_notices(actors: Actors, visitors: Table, home: Path) -> None:
    ds = visitors.dataset
    ds.frequency = Frequency.DAILY
    ds.save()
    fire_ds = make_dataset(actors.org.fire_div, title="警防の記録", frequency=Frequency.WEEKLY)
    make_dataset(actors.org.fire_div, title="不定期", frequency=Frequency.IRREGULAR)
    today = timezone.localdate(_committed(visitors)) + dt.timedelta(days=30)
    owner = actor_for(actors.users["owner_editor"])
    admin = actor_for(actors.users["admin"])
    assert [r.dataset.pk for r in overdue_list(actor=owner, today=today)] == [ds.pk]
    assert [r.dataset.pk for r in overdue_list(actor=admin, today=today)] == [
        ds.pk,
        fire_ds.pk,
    ]  # most overdue first
    assert overdue_list(actor=actor_for(actors.users["staff"]), today=today)[0].dataset.pk == fire_ds.pk
    start = Notification.objects.count()
    assert freshness_reminders_send(today=today) == 2
    assert freshness_reminders_send(today=today + dt.timedelta(days=1)) == 0  # same due dates: not again
    assert FreshnessReminder.objects.count() == 2
    notices = Notification.objects.order_by("pk")[start:]
    editors = {actors.users["owner_editor"].pk, actors.users["other_editor"].pk}
    assert {n.recipient_id for n in notices} == editors  # 編集 members of each owning 課
    # A new version moves the due date: the next overdue period is notified again.
    TableVersion.objects.filter(pk=visitors.current_version_id).update(
        committed_at=timezone.now() + dt.timedelta(days=20)
    )
    assert freshness_reminders_send(today=today + dt.timedelta(days=5)) == 1


def test_freshness_note_tag(actors: Actors, visitors: Table) -> None:
    from django.template import Context, Template

    tag = Template("{% load collect_tags %}{% freshness_note ds %}")
    ds = visitors.dataset
    last = timezone.localdate(_committed(visitors))
    assert f"最終更新: {last:%Y-%m-%d}" in tag.render(Context({"ds": ds}))
    TableVersion.objects.filter(table=visitors).update(
        committed_at=dt.datetime(2020, 1, 1, 12, tzinfo=dt.UTC)
    )
    ds.frequency = Frequency.MONTHLY
    ds.save()
    html = tag.render(Context({"ds": ds}))
    overdue = (timezone.localdate() - dt.date(2020, 2, 1)).days
    assert f"更新予定日 2020-02-01 を{overdue}日過ぎています" in html
    empty = make_dataset(actors.org.fire_div)
    assert "まだデータがありません" in tag.render(Context({"ds": empty}))
