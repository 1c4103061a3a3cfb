"""The Django admin shows audit events read-only, and only to 管理."""

from __future__ import annotations

import pytest
from django.db import transaction

from machidata.access.models import Role
from machidata.access.policy import Actor
from machidata.audit.services import audit_record
from machidata.core.testing import Actors, check_statuses, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_actors(actors: Actors) -> Actors:
    # The Django admin needs is_staff; give it to an admin and to a plain viewer, so only the policy differs.
    actors.users["admin"].is_staff = True
    actors.users["admin"].save()
    actors.users["staff_flag_viewer"] = make_user(unit=actors.org.fire_div, role=Role.VIEWER, is_staff=True)
    return actors


def _event():
    with transaction.atomic():
        return audit_record(actor=Actor(username="x"), action="test.admin", object_repr="記録")


def test_changelist_visible_to_admin_only(admin_actors: Actors) -> None:
    # A non-admin is refused either by the admin site (302 to its login) or by the model admin (403).
    _event()
    url = "/admin/audit/auditevent/"
    check_statuses(
        admin_actors, lambda c: c.get(url), {"admin": 200, "staff_flag_viewer": (302, 403), "anonymous": 302}
    )


def test_no_add_change_or_delete(admin_actors: Actors) -> None:
    event = _event()
    client = admin_actors.client("admin")
    assert client.get("/admin/audit/auditevent/add/").status_code == 403
    assert client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    response = client.post(f"/admin/audit/auditevent/{event.pk}/change/", {"object_repr": "x"})
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.object_repr == "記録"
    detail = client.get(f"/admin/audit/auditevent/{event.pk}/change/")
    assert detail.status_code == 200  # viewing is allowed
