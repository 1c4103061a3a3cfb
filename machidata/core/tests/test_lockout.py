"""Sign-in lockout (django-axes): user name + address, a Japanese page, reset on success."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from machidata.core.testing import Org, make_user

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple-2024"


def _try(client: Client, username: str, password: str) -> Any:
    return client.post(reverse("login"), {"username": username, "password": password})


@pytest.fixture
def user(org: Org) -> Any:
    person = make_user("tanaka", unit=org.health_div)
    person.set_password(PASSWORD)
    person.save()
    return person


def test_five_wrong_passwords_lock_the_name_from_that_address(user: Any, settings: Any) -> None:
    client = Client(REMOTE_ADDR="10.0.0.1")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _try(client, "tanaka", "wrong").status_code == 200  # the form again, with its error
    locked = _try(client, "tanaka", "wrong")
    assert locked.status_code == 429
    assert "ログインを一時停止しています" in locked.content.decode()
    assert "15分ほど" in locked.content.decode()
    # Even the right password is refused while locked.
    assert _try(client, "tanaka", PASSWORD).status_code == 429
    # Another address, or another name from the same address, is not locked.
    assert _try(Client(REMOTE_ADDR="10.0.0.2"), "tanaka", PASSWORD).status_code == 302
    assert _try(client, "suzuki", "wrong").status_code == 200


def test_a_forwarded_header_does_not_dodge_the_lockout(user: Any, settings: Any) -> None:
    for i in range(settings.AXES_FAILURE_LIMIT):
        Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}").post(
            reverse("login"), {"username": "tanaka", "password": "wrong"}
        )
    again = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert _try(again, "tanaka", PASSWORD).status_code == 429


def test_a_correct_password_resets_the_count(user: Any, settings: Any) -> None:
    client = Client(REMOTE_ADDR="10.0.0.1")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _try(client, "tanaka", "wrong")
    assert _try(client, "tanaka", PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _try(client, "tanaka", "wrong").status_code == 200


def test_an_administrator_unlocks_from_the_admin_and_it_is_audited(
    user: Any, org: Org, settings: Any
) -> None:
    from axes.models import AccessAttempt

    from machidata.access.models import Role
    from machidata.audit.models import AuditEvent

    client = Client(REMOTE_ADDR="10.0.0.1")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _try(client, "tanaka", "wrong")
    assert _try(client, "tanaka", PASSWORD).status_code == 429
    attempt = AccessAttempt.objects.get(username="tanaka")

    steward = make_user("steward", unit=org.health_div, role=Role.EDITOR, is_staff=True)
    refused = Client()
    refused.force_login(steward)
    assert refused.get(reverse("admin:axes_accessattempt_changelist")).status_code in (302, 403)

    admin = make_user("kanri", unit=org.data_strategy, role=Role.ADMIN, is_staff=True)
    manager = Client()
    manager.force_login(admin)
    listing = manager.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200
    assert "tanaka" in listing.content.decode()
    assert "wrong" not in listing.content.decode()  # no password shown, masked or not
    manager.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
    assert not AccessAttempt.objects.filter(username="tanaka").exists()
    assert AuditEvent.objects.filter(action="lockout.delete", actor_id=admin.pk).exists()
    assert _try(client, "tanaka", PASSWORD).status_code == 302
