"""Sign-in, sign-out and failed sign-in are written to the audit trail."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from machidata.audit.models import AuditEvent
from machidata.core.testing import make_user

pytestmark = pytest.mark.django_db


def test_login_is_recorded(org) -> None:
    user = make_user("hanako", unit=org.health_div)
    client = Client()
    response = client.post("/login/", {"username": "hanako", "password": "pw-hanako-long-enough"})
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="auth.login")
    assert event.actor_id == user.pk
    assert event.actor_label == "hanako"
    assert event.object_type == "auth.user"
    assert event.object_id == str(user.pk)
    assert event.request_id  # the login went through the request middleware


def test_logout_is_recorded(org) -> None:
    user = make_user("taro", unit=org.fire_div)
    client = Client()
    client.force_login(user)
    client.post("/logout/")
    event = AuditEvent.objects.get(action="auth.logout")
    assert event.actor_id == user.pk
    assert event.actor_label == "taro"


def test_logout_without_session_records_nothing(db) -> None:
    Client().post("/logout/")
    assert not AuditEvent.objects.filter(action="auth.logout").exists()


def test_failed_login_keeps_username_never_password(org) -> None:
    make_user("jiro", unit=org.fire_div)
    client = Client()
    response = client.post("/login/", {"username": "jiro", "password": "wrong-secret-Passw0rd"})
    assert response.status_code == 200  # the form is shown again
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.actor_id is None
    assert event.actor_label == "anonymous"
    assert event.object_repr == "jiro"
    assert event.changes == {"username": "jiro"}
    dumped = json.dumps([event.changes, event.object_repr, event.object_id], ensure_ascii=False)
    assert "wrong-secret-Passw0rd" not in dumped
    assert "*" not in dumped  # not even Django's masked placeholder


def test_failed_login_for_unknown_user_is_recorded(db) -> None:
    Client().post("/login/", {"username": "nobody", "password": "whatever-it-is"})
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.object_repr == "nobody"
