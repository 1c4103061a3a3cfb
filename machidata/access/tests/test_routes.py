"""The route module: configured routes, conditional steps, who may act, malformed routes refused, and the
rules every decision obeys (:func:`~machidata.access.routes.check_decider`)."""

from __future__ import annotations

import pytest

from machidata.access import routes
from machidata.access.tests.conftest import as_actor
from machidata.core.errors import InvalidInput, PermissionDenied
from machidata.core.testing import Actors

pytestmark = pytest.mark.django_db


def test_default_full_route_keeps_privacy_only_for_personal_data(cast: Actors) -> None:
    unit = cast.org.health_div.pk
    assert [s.key for s in routes.resolve("full", owner_unit_id=unit, personal_data=False)] == [
        "head",
        "strategy",
    ]
    steps = routes.resolve("full", owner_unit_id=unit, personal_data=True)
    assert [s.key for s in steps] == ["head", "strategy", "privacy"]
    assert steps[0].unit_id == unit


def test_city_configures_its_own_route(cast: Actors, settings: pytest.FixtureRequest) -> None:
    settings.MACHIDATA_PUBLICATION_ROUTES = {  # type: ignore[attr-defined]
        "full": [
            {"key": "head", "label": "課長", "who": "unit_head"},
            {"key": "dept", "label": "健康福祉局の確認", "who": f"unit:{cast.org.health_bureau.code}"},
        ]
    }
    steps = routes.resolve("full", owner_unit_id=cast.org.health_div.pk, personal_data=True)
    assert [s.key for s in steps] == ["head", "dept"]
    assert steps[1].unit_id == cast.org.health_bureau.pk
    assert [s.key for s in routes.resolve("routine", owner_unit_id=1, personal_data=False)] == ["strategy"]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([], "段階がありません"),
        ([{"key": "a", "who": "admin"}, {"key": "a", "who": "admin"}], "重複"),
        ([{"key": "a", "who": "mayor"}], "担当者の指定「mayor」"),
        ([{"key": "a", "who": "admin", "when": "always"}], "条件「always」"),
    ],
)
def test_malformed_route_is_refused(steps: list[dict[str, str]], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        routes.validate_route("full", steps)


def test_missing_privacy_unit_is_a_clear_error(cast: Actors, settings: pytest.FixtureRequest) -> None:
    settings.MACHIDATA_PRIVACY_UNIT_CODE = "999999"  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput, match="所属コード 999999"):
        routes.resolve("full", owner_unit_id=cast.org.health_div.pk, personal_data=True)


def test_who_may_act(cast: Actors) -> None:
    head_step = routes.resolve("full", owner_unit_id=cast.org.health_div.pk, personal_data=True)[0].as_dict()
    assert routes.may_act(as_actor(cast, "head"), head_step) == (True, None)
    assert routes.may_act(as_actor(cast, "deputy"), head_step) == (True, cast.users["head"].pk)
    assert routes.may_act(as_actor(cast, "owner_editor"), head_step) == (False, None)
    assert routes.may_act(as_actor(cast, "admin"), head_step) == (False, None)
    privacy_step = routes.resolve("full", owner_unit_id=cast.org.health_div.pk, personal_data=True)[
        2
    ].as_dict()
    assert routes.may_act(as_actor(cast, "privacy"), privacy_step) == (True, None)
    assert routes.may_act(as_actor(cast, "admin"), privacy_step) == (False, None)
    assert sorted(routes.candidates(head_step)) == ["課長", "課長補佐"]


def test_unset_privacy_unit_is_named(cast: Actors, settings: pytest.FixtureRequest) -> None:
    settings.MACHIDATA_PRIVACY_UNIT_CODE = ""  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput, match="MACHIDATA_PRIVACY_UNIT_CODE"):
        routes.resolve("full", owner_unit_id=cast.org.health_div.pk, personal_data=True)
    assert len(routes.resolve("full", owner_unit_id=cast.org.health_div.pk, personal_data=False)) == 2


def test_check_decider_refuses_the_requester_and_people_off_the_step(cast: Actors) -> None:
    step = routes.resolve("full", owner_unit_id=cast.org.health_div.pk, personal_data=False)[0].as_dict()
    head = as_actor(cast, "head")
    with pytest.raises(PermissionDenied, match="自分の利用申請は決裁できません"):
        routes.check_decider(
            head, step, requested_by_id=head.user_id, approving=True, approved_before=False, noun="利用申請"
        )
    with pytest.raises(PermissionDenied, match="「所管課長の決裁」を決裁できるのは 課長、課長補佐 です。"):
        routes.check_decider(
            as_actor(cast, "admin"), step, requested_by_id=cast.users["owner_editor"].pk,
            approving=True, approved_before=False,
        )  # fmt: skip


def test_check_decider_allows_one_approval_per_person_and_names_the_head_for_a_deputy(cast: Actors) -> None:
    step = routes.resolve("full", owner_unit_id=cast.org.health_div.pk, personal_data=False)[0].as_dict()
    requester = cast.users["owner_editor"].pk
    deputy = as_actor(cast, "deputy")
    with pytest.raises(PermissionDenied, match="同じ人が2つの段階を承認することはできません"):
        routes.check_decider(deputy, step, requested_by_id=requester, approving=True, approved_before=True)
    # returning or rejecting is still theirs after an approval at an earlier step
    assert (
        routes.check_decider(deputy, step, requested_by_id=requester, approving=False, approved_before=True)
        == cast.users["head"].pk
    )
    assert (
        routes.check_decider(
            as_actor(cast, "head"), step, requested_by_id=requester, approving=True, approved_before=False
        )
        is None
    )
