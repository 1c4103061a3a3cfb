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
