"""Django admin for the organisation goes through the policy: only 管理 (with is_staff) sees it."""

from __future__ import annotations

from django.urls import reverse

from machidata.access.models import Unit, UnitKind
from machidata.audit.models import AuditEvent
from machidata.core.testing import Actors, check_statuses


def test_admin_visibility(actors: Actors) -> None:
    for user in actors.users.values():
        user.is_staff = True  # everyone may enter /admin/; the policy still decides what they see
        user.save()
    expected = {"anonymous": 302, "staff": 302, "owner_editor": 302, "admin": 200}
    for name in (
        "admin:access_unit_changelist",
        "admin:access_membership_changelist",
        "admin:access_apitoken_changelist",
    ):
        check_statuses(actors, lambda c, n=name: c.get(reverse(n)), expected, label=name)
    check_statuses(
        actors,
        lambda c: c.get(reverse("admin:access_unit_change", args=[actors.org.health_div.pk])),
        expected,
        label="change",
    )
    check_statuses(
        actors, lambda c: c.get(reverse("admin:access_apitoken_add")), {"admin": 403}, label="no token add"
    )
    page = actors.client("admin").get(reverse("admin:access_apitoken_changelist")).content.decode()
    assert "token_hash" not in page


def test_admin_edit_is_audited(actors: Actors) -> None:
    admin_user = actors.users["admin"]
    admin_user.is_staff = True
    admin_user.save()
    unit = actors.org.fire_div
    response = actors.client("admin").post(
        reverse("admin:access_unit_change", args=[unit.pk]),
        {
            "code": unit.code,
            "name": "警防課（改）",
            "kind": UnitKind.DIVISION,
            "parent": unit.parent_id,
            "mailbox": "",
            "phone": "",
            "valid_from": "2000-04-01",
            "valid_to": "",
            "successor": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Unit.objects.get(pk=unit.pk).name == "警防課（改）"
    event = AuditEvent.objects.get(action="unit.update")
    assert event.changes == {"via": "admin", "name": "警防課（改）"}
