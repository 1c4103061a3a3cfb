"""Who sees which request: the requester, the routed 課 (its 係 too) and 管理; nobody else."""

from __future__ import annotations

import pytest

from machidata.access.policy import ANONYMOUS
from machidata.core.errors import NotFound
from machidata.core.testing import Actors
from machidata.datarequests.models import DataRequest
from machidata.datarequests.selectors import data_request_get, data_request_list, request_roles
from machidata.datarequests.tests.conftest import ALL, as_actor, file_request

pytestmark = pytest.mark.django_db


def _seen(actors: Actors, name: str, **kwargs: str) -> set[int]:
    actor = ANONYMOUS if name == "anonymous" else as_actor(actors, name)
    return set(data_request_list(actor=actor, **kwargs).values_list("pk", flat=True))


def test_received_request_is_seen_by_requester_and_admin_only(cast: Actors, received: DataRequest) -> None:
    seen = {name for name in ALL if received.pk in _seen(cast, name)}
    assert seen == {"requester", "admin"}
    with pytest.raises(NotFound, match="データの要望が見つかりません。"):
        data_request_get(actor=as_actor(cast, "staff"), pk=received.pk)  # same 課 as the requester
    with pytest.raises(NotFound):
        data_request_get(actor=as_actor(cast, "admin"), pk=received.pk + 100)


def test_routed_request_is_seen_by_the_routed_division_and_its_sections(
    cast: Actors, routed: DataRequest
) -> None:
    seen = {name for name in ALL if routed.pk in _seen(cast, name)}
    assert seen == {"requester", "owner_viewer", "owner_editor", "admin"}
    assert data_request_get(actor=as_actor(cast, "owner_viewer"), pk=routed.pk) == routed


def test_scopes_and_status_filter(cast: Actors, routed: DataRequest) -> None:
    other = file_request(cast, title="別の要望")
    assert _seen(cast, "requester", scope="mine") == {routed.pk, other.pk}
    assert _seen(cast, "requester", scope="department") == set()
    assert _seen(cast, "owner_editor", scope="department") == {routed.pk}
    assert _seen(cast, "owner_editor", scope="mine") == set()
    assert _seen(cast, "admin", scope="all") == {routed.pk, other.pk}
    assert _seen(cast, "admin", scope="all", status="received") == {other.pk}
    assert _seen(cast, "admin", scope="all", status="routed") == {routed.pk}
    assert _seen(cast, "admin", scope="all", status="bogus") == {routed.pk, other.pk}  # unknown: no filter
    newest_first = list(data_request_list(actor=as_actor(cast, "admin")).values_list("pk", flat=True))
    assert newest_first == [other.pk, routed.pk]


def test_roles(cast: Actors, routed: DataRequest) -> None:
    assert request_roles(as_actor(cast, "requester"), routed) == {"comment", "withdraw"}
    assert request_roles(as_actor(cast, "owner_viewer"), routed) == {"comment", "answer"}
    assert request_roles(as_actor(cast, "admin"), routed) == {"comment", "answer", "route"}
