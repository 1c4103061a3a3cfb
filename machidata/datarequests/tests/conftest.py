"""Fixtures of the data request tests: a requester in 警防課 and requests in each status.

Cast (on top of the standard actors): ``requester`` (警防課, 閲覧) files; ``staff`` and
``other_editor`` are other staff of 警防課; requests are routed to 健康づくり推進課, whose
``owner_editor`` (編集) and ``owner_viewer`` (母子保健係, 閲覧) stand for the routed department.
"""

from __future__ import annotations

import pytest

from machidata.access.policy import Actor, actor_for
from machidata.core.testing import Actors, make_user
from machidata.datarequests.models import DataRequest
from machidata.datarequests.services import data_request_answer, data_request_create, data_request_route

ALL = ("anonymous", "requester", "staff", "owner_viewer", "owner_editor", "other_editor", "admin")


def as_actor(actors: Actors, name: str) -> Actor:
    """The policy actor of a named test user."""
    return actor_for(actors.users[name])


@pytest.fixture
def cast(actors: Actors) -> Actors:
    """The standard actors plus the requester."""
    actors.users["requester"] = make_user(
        "requester", unit=actors.org.fire_div, first_name="要望 太郎", email="requester@example.jp"
    )
    return actors


def file_request(actors: Actors, **fields: object) -> DataRequest:
    """A request filed by the requester."""
    values: dict[str, object] = {
        "title": "町丁別の空き家の件数",
        "description": "町丁別・年度別の空き家の件数",
        "purpose": "空き家対策計画の見直し",
        "period": "令和3年度～令和5年度",
        "search_query": "空き家",
    }
    values.update(fields)
    return data_request_create(actor=as_actor(actors, "requester"), **values)  # type: ignore[arg-type]


@pytest.fixture
def received(cast: Actors) -> DataRequest:
    """A request just filed (受付)."""
    return file_request(cast)


@pytest.fixture
def routed(cast: Actors, received: DataRequest) -> DataRequest:
    """A request routed to 健康づくり推進課 (担当課へ回付)."""
    return data_request_route(
        actor=as_actor(cast, "admin"), request=received, unit_id=cast.org.health_div.pk, note="ご確認ください"
    )


@pytest.fixture
def answered(cast: Actors, routed: DataRequest) -> DataRequest:
    """A request the routed 課 answered: cannot provide (回答済み)."""
    return data_request_answer(
        actor=as_actor(cast, "owner_editor"), request=routed, kind="cannot_provide", text="個人情報を含むため"
    )
