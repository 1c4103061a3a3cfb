"""MACHIDATA_SSO_ENFORCED: local passwords off (sign-in page, admin, password change) but for break-glass."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from machidata.access.tests.oidc_provider import CLIENT_ID
from machidata.access.tests.slapd import PEOPLE, Slapd
from machidata.core.testing import Org, make_user

pytestmark = pytest.mark.django_db
User = get_user_model()
LOCAL_PASSWORD = "a-local-password-2024"
WHO = {p.uid: p for p in PEOPLE}


@pytest.fixture
def local_clerk(org: Org) -> Any:
    user = make_user("local-clerk", unit=org.health_div)
    user.set_password(LOCAL_PASSWORD)
    user.save()
    return user


@pytest.fixture
def break_glass(org: Org, settings: Any) -> Any:
    settings.MACHIDATA_SSO_BREAK_GLASS_USERS = ["rescue"]
    return User.objects.create_superuser("rescue", "rescue@example.jp", LOCAL_PASSWORD)


@pytest.fixture
def enforced(settings: Any) -> None:
    settings.MACHIDATA_SSO_ENFORCED = True


@pytest.fixture
def oidc_only(settings: Any) -> None:
    settings.MACHIDATA_OIDC_CLIENT_ID = CLIENT_ID
    settings.MACHIDATA_OIDC_ISSUER = "http://127.0.0.1:9"
    settings.MACHIDATA_OIDC_AUTHORIZATION_ENDPOINT = "http://127.0.0.1:9/authorize"
    settings.MACHIDATA_OIDC_TOKEN_ENDPOINT = "http://127.0.0.1:9/token"
    settings.MACHIDATA_OIDC_JWKS_ENDPOINT = "http://127.0.0.1:9/jwks"


def _sign_in(username: str, password: str) -> tuple[Client, Any]:
    client = Client()
    return client, client.post(reverse("login"), {"username": username, "password": password})


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_without_enforcement_local_passwords_work(local_clerk: Any) -> None:
    client, response = _sign_in("local-clerk", LOCAL_PASSWORD)
    assert response.status_code == 302
    assert _signed_in(client)


def test_enforced_refuses_a_local_password(local_clerk: Any, enforced: None) -> None:
    client, response = _sign_in("local-clerk", LOCAL_PASSWORD)
    assert response.status_code == 200
    assert not _signed_in(client)


def test_enforced_refuses_a_superuser_not_named_for_break_glass(break_glass: Any, enforced: None) -> None:
    User.objects.create_superuser("other-root", "o@example.jp", LOCAL_PASSWORD)
    client, _response = _sign_in("other-root", LOCAL_PASSWORD)
    assert not _signed_in(client)


def test_enforced_lets_the_break_glass_superuser_in(break_glass: Any, enforced: None) -> None:
    client, response = _sign_in("rescue", LOCAL_PASSWORD)
    assert response.status_code == 302
    assert _signed_in(client)


def test_enforced_still_takes_directory_passwords(ldap_on: Slapd, local_clerk: Any, enforced: None) -> None:
    client, response = _sign_in("tanaka", WHO["tanaka"].password)
    assert response.status_code == 302
    assert _signed_in(client)
    page = Client().get(reverse("login")).content.decode()
    assert 'name="password"' in page  # the directory's password, on the same form


def test_enforced_with_oidc_only_shows_no_password_field(enforced: None, oidc_only: None, org: Org) -> None:
    page = Client().get(reverse("login")).content.decode()
    assert "庁内アカウントでログイン" in page
    assert 'name="password"' not in page


def test_break_glass_form_is_folded_away_with_oidc_only(
    enforced: None, oidc_only: None, break_glass: Any
) -> None:
    page = Client().get(reverse("login")).content.decode()
    assert "緊急用の管理者ログイン" in page
    assert 'name="password"' in page
    client, response = _sign_in("rescue", LOCAL_PASSWORD)
    assert response.status_code == 302
    assert _signed_in(client)


def test_enforced_sends_the_admin_login_to_the_sign_in_page(enforced: None, org: Org) -> None:
    response = Client().get(reverse("admin:login"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")
    # Posting a password to the admin's own form does not get around it.
    make_user("staff-admin", is_staff=True, is_superuser=True).set_password(LOCAL_PASSWORD)
    posted = Client().post(reverse("admin:login"), {"username": "staff-admin", "password": LOCAL_PASSWORD})
    assert posted.status_code == 302
    assert posted["Location"].startswith(reverse("login"))


def test_enforced_closes_the_password_change_pages(break_glass: Any, enforced: None) -> None:
    client = Client()
    client.force_login(break_glass)
    assert client.get(reverse("admin:password_change")).status_code == 404
    assert client.get(reverse("admin:password_change_done")).status_code == 404
    assert client.get(reverse("admin:auth_user_password_change", args=[break_glass.pk])).status_code == 404
    assert client.get(reverse("admin:index")).status_code == 200  # the rest of the admin stays


def test_without_enforcement_the_password_change_page_stays(break_glass: Any) -> None:
    client = Client()
    client.force_login(break_glass)
    assert client.get(reverse("admin:password_change")).status_code == 200
