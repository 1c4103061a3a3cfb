"""Fixtures of the 利用申請 tests: 課長 of the requester's 課 (警防課) and of the owning 課 (健康づくり推進課).

Cast (on top of the standard actors): ``fire_head`` (課長 of 警防課, where ``staff`` works),
``fire_deputy`` (its 代決者), ``head`` (課長 of 健康づくり推進課, the data owner).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from machidata.access.models import ApproverDesignation, DesignationKind, Role
from machidata.access.policy import Actor, actor_for
from machidata.catalog.models import Dataset
from machidata.core.testing import Actors, make_dataset, make_user


def as_actor(actors: Actors, name: str) -> Actor:
    """The policy actor of a named test user."""
    return actor_for(actors.users[name])


@pytest.fixture
def cast(actors: Actors) -> Actors:
    """The standard actors plus the two 課長 and a 代決者."""
    org = actors.org
    actors.users["fire_head"] = make_user(
        "fire_head", unit=org.fire_div, role=Role.VIEWER, first_name="警防課長"
    )
    actors.users["fire_deputy"] = make_user("fire_deputy", unit=org.fire_div, role=Role.VIEWER)
    actors.users["head"] = make_user("head", unit=org.health_div, role=Role.VIEWER, first_name="健康課長")
    ApproverDesignation.objects.create(
        unit=org.fire_div, user=actors.users["fire_head"], kind=DesignationKind.HEAD
    )
    ApproverDesignation.objects.create(
        unit=org.fire_div, user=actors.users["fire_deputy"], kind=DesignationKind.DEPUTY
    )
    ApproverDesignation.objects.create(
        unit=org.health_div, user=actors.users["head"], kind=DesignationKind.HEAD
    )
    return actors


@pytest.fixture
def restricted(cast: Actors) -> Dataset:
    """A 所属限定 dataset of 健康づくり推進課 with one table (real column names of a 健診 summary)."""
    from machidata.catalog.models import Table

    ds = make_dataset(cast.org.health_div, title="特定健診の受診状況（町丁別）", slug="tokutei-kenshin")
    Table.objects.create(
        dataset=ds, name="jushin", title="受診状況", storage_key="k-jushin",
        schema={"fields": [{"name": "町丁名"}, {"name": "対象者数"}, {"name": "受診者数"}]},
    )  # fmt: skip
    return ds


def period(days: int = 30) -> tuple[dt.date, dt.date]:
    """From today for ``days`` days."""
    today = timezone.localdate()
    return today, today + dt.timedelta(days=days)
