"""利用申請 services: filing, the route (requester's 課長 → owning 課), the grant, renewal, revocation, bad input."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from machidata.access.policy import Action, can
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Dataset, DatasetGrant
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from machidata.core.testing import Actors, make_dataset
from machidata.privacy import services
from machidata.privacy.models import AccessRequest, AccessStatus
from machidata.privacy.tests.conftest import as_actor, period

pytestmark = pytest.mark.django_db


def _file(cast: Actors, ds: Dataset, who: str = "staff", **over: object) -> AccessRequest:
    start, end = period()
    data: dict[str, object] = {"purpose": "救急出動と健診受診の地域差を比べるため", "starts_on": start,
                               "ends_on": end, "legal_basis": "internal"}  # fmt: skip
    data.update(over)
    return services.access_request_create(actor=as_actor(cast, who), dataset=ds, **data)  # type: ignore[arg-type]


def test_route_grants_read_until_end_date(cast: Actors, restricted: Dataset) -> None:
    staff = as_actor(cast, "staff")
    assert can(staff, Action.DISCOVER, restricted)
    assert not can(staff, Action.READ, restricted)
    req = _file(cast, restricted, columns=["jushin.町丁名", "jushin.受診者数"])
    assert [s["who"] for s in req.steps] == ["unit_head", "unit_editor"]
    assert req.steps[0]["unit_id"] == cast.org.fire_div.pk
    # the owning 課's 編集 cannot take the first step; the requester's 課長 can
    with pytest.raises(PermissionDenied):
        services.access_request_act(actor=as_actor(cast, "owner_editor"), request=req, decision="approve")
    services.access_request_act(actor=as_actor(cast, "fire_head"), request=req, decision="approve")
    assert not can(staff, Action.READ, restricted)
    req = services.access_request_act(actor=as_actor(cast, "owner_editor"), request=req, decision="approve")
    assert req.status == AccessStatus.APPROVED
    assert req.decided_at is not None
    grant = DatasetGrant.objects.get(pk=req.grant_id)
    assert grant.user_id == cast.users["staff"].pk
    assert grant.expires_on == req.ends_on
    assert grant.level == "read"
    assert can(as_actor(cast, "staff"), Action.READ, restricted)
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"access_request.create", "access_request.approve", "dataset.grant"} <= actions


def test_deputy_decides_on_behalf_of_head(cast: Actors, restricted: Dataset) -> None:
    req = _file(cast, restricted)
    req = services.access_request_act(actor=as_actor(cast, "fire_deputy"), request=req, decision="approve")
    act = req.actions.get()
    assert act.on_behalf_of_id == cast.users["fire_head"].pk


def test_owning_head_may_decide_the_owner_step(cast: Actors, restricted: Dataset) -> None:
    req = _file(cast, restricted)
    services.access_request_act(actor=as_actor(cast, "fire_head"), request=req, decision="approve")
    req = services.access_request_act(actor=as_actor(cast, "head"), request=req, decision="approve")
    assert req.status == AccessStatus.APPROVED


def test_reject_needs_comment_and_grants_nothing(cast: Actors, restricted: Dataset) -> None:
    req = _file(cast, restricted)
    with pytest.raises(InvalidInput, match="コメント"):
        services.access_request_act(actor=as_actor(cast, "fire_head"), request=req, decision="reject")
    req = services.access_request_act(
        actor=as_actor(cast, "fire_head"), request=req, decision="reject", comment="目的が不明確"
    )
    assert req.status == AccessStatus.REJECTED
    assert not DatasetGrant.objects.exists()
    assert not can(as_actor(cast, "staff"), Action.READ, restricted)


def test_own_approval_refused(cast: Actors, restricted: Dataset) -> None:
    req = _file(cast, restricted, who="fire_head")  # the 課長 asks: only the 代決者 may approve step 1
    with pytest.raises(PermissionDenied, match="自分の利用申請"):
        services.access_request_act(actor=as_actor(cast, "fire_head"), request=req, decision="approve")
    services.access_request_act(actor=as_actor(cast, "fire_deputy"), request=req, decision="approve")


def test_one_person_one_step(cast: Actors, restricted: Dataset) -> None:
    """With a route whose both steps the same 課長 could take, the second approval by them is refused."""
    routes = {
        "standard": [
            {"key": "a", "label": "一", "who": "owner_editor"},
            {"key": "b", "label": "二", "who": "owner_editor"},
        ]
    }
    with override_settings(MACHIDATA_ACCESS_REQUEST_ROUTES=routes):
        req = _file(cast, restricted)
        services.access_request_act(actor=as_actor(cast, "head"), request=req, decision="approve")
        with pytest.raises(PermissionDenied, match="2つの段階"):
            services.access_request_act(actor=as_actor(cast, "head"), request=req, decision="approve")


def test_configured_route_is_used(cast: Actors, restricted: Dataset) -> None:
    routes = {"standard": [{"key": "ds", "label": "データ戦略課の確認", "who": "admin"}]}
    with override_settings(MACHIDATA_ACCESS_REQUEST_ROUTES=routes):
        req = _file(cast, restricted)
    assert [s["key"] for s in req.steps] == ["ds"]
    req = services.access_request_act(actor=as_actor(cast, "admin"), request=req, decision="approve")
    assert req.status == AccessStatus.APPROVED


def test_bad_configured_route_refused(cast: Actors, restricted: Dataset) -> None:
    with (
        override_settings(MACHIDATA_ACCESS_REQUEST_ROUTES={"standard": [{"key": "x", "who": "boss"}]}),
        pytest.raises(InvalidInput, match="担当者の指定"),
    ):
        _file(cast, restricted)


def test_already_readable_refused(cast: Actors, restricted: Dataset) -> None:
    with pytest.raises(InvalidInput, match="すでに利用できます"):
        _file(cast, restricted, who="owner_viewer")
    internal = make_dataset(cast.org.health_div, classification="internal")
    with pytest.raises(InvalidInput, match="すでに利用できます"):
        _file(cast, internal)


def test_not_discoverable_is_not_found(cast: Actors) -> None:
    hidden = make_dataset(cast.org.health_div, classification="confidential", discoverable=False)
    with pytest.raises(NotFound):
        _file(cast, hidden)


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"purpose": "  "}, "purpose"),
        ({"starts_on": ""}, "starts_on"),
        ({"ends_on": None}, "ends_on"),
        ({"legal_basis": "whatever"}, "legal_basis"),
        ({"legal_basis": "other_purpose", "legal_ground": ""}, "legal_ground"),
        ({"columns": ["jushin.氏名"]}, "columns"),
    ],
)
def test_missing_or_bad_fields(
    cast: Actors, restricted: Dataset, over: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as exc:
        _file(cast, restricted, **over)
    assert field in exc.value.details


def test_end_before_start_refused(cast: Actors, restricted: Dataset) -> None:
    today = timezone.localdate()
    with pytest.raises(InvalidInput, match="利用開始日より後"):
        _file(cast, restricted, starts_on=today + dt.timedelta(days=10), ends_on=today + dt.timedelta(days=5))


def test_second_pending_request_conflicts(cast: Actors, restricted: Dataset) -> None:
    _file(cast, restricted)
    with pytest.raises(Conflict):
        _file(cast, restricted)


def _granted(cast: Actors, ds: Dataset) -> AccessRequest:
    req = _file(cast, ds)
    services.access_request_act(actor=as_actor(cast, "fire_head"), request=req, decision="approve")
    return services.access_request_act(actor=as_actor(cast, "owner_editor"), request=req, decision="approve")


def test_renew_and_revoke(cast: Actors, restricted: Dataset) -> None:
    req = _granted(cast, restricted)
    new_end = req.ends_on + dt.timedelta(days=60)
    with pytest.raises(PermissionDenied):
        services.access_grant_renew(actor=as_actor(cast, "fire_head"), request=req, ends_on=new_end)
    with pytest.raises(InvalidInput, match="後の日付"):
        services.access_grant_renew(actor=as_actor(cast, "head"), request=req, ends_on=req.ends_on)
    req = services.access_grant_renew(actor=as_actor(cast, "head"), request=req, ends_on=new_end)
    assert DatasetGrant.objects.get(pk=req.grant_id).expires_on == new_end
    with pytest.raises(InvalidInput, match="取消しの理由"):
        services.access_grant_revoke(actor=as_actor(cast, "owner_editor"), request=req, reason="")
    req = services.access_grant_revoke(
        actor=as_actor(cast, "owner_editor"), request=req, reason="目的を達したため"
    )
    assert req.status == AccessStatus.REVOKED
    assert not can(as_actor(cast, "staff"), Action.READ, restricted)
    assert AuditEvent.objects.filter(action="access_request.revoke").exists()


def test_expired_grant_gives_nothing(cast: Actors, restricted: Dataset) -> None:
    req = _granted(cast, restricted)
    assert can(as_actor(cast, "staff"), Action.READ, restricted)
    DatasetGrant.objects.filter(pk=req.grant_id).update(
        expires_on=timezone.localdate() - dt.timedelta(days=1)
    )
    assert not can(as_actor(cast, "staff"), Action.READ, restricted)


def test_cancel_only_by_requester(cast: Actors, restricted: Dataset) -> None:
    req = _file(cast, restricted)
    with pytest.raises(PermissionDenied):
        services.access_request_cancel(actor=as_actor(cast, "fire_head"), request=req)
    req = services.access_request_cancel(actor=as_actor(cast, "staff"), request=req)
    assert req.status == AccessStatus.CANCELLED
    with pytest.raises(InvalidInput):
        services.access_request_act(actor=as_actor(cast, "fire_head"), request=req, decision="approve")


def test_section_member_goes_to_the_head_of_their_ka(cast: Actors, restricted: Dataset) -> None:
    from machidata.access.models import Role, UnitKind
    from machidata.core.testing import make_unit, make_user

    sec = make_unit("消防水利係", UnitKind.SECTION, parent=cast.org.fire_div, code="300101")
    cast.users["sec"] = make_user("sec", unit=sec, role=Role.VIEWER)
    req = _file(cast, restricted, who="sec")
    assert req.requester_unit_id == cast.org.fire_div.pk
    assert req.steps[0]["unit_id"] == cast.org.fire_div.pk
    services.access_request_act(actor=as_actor(cast, "fire_head"), request=req, decision="approve")


def test_requester_without_unit_gets_a_clear_message(cast: Actors, restricted: Dataset) -> None:
    from machidata.access.models import Classification
    from machidata.core.testing import make_user

    cast.users["nobody"] = make_user("nobody")
    mine = make_dataset(cast.org.health_div, classification=Classification.RESTRICTED)
    with pytest.raises(InvalidInput, match="所属（課）が登録されていない"):
        _file(cast, mine, who="nobody")
