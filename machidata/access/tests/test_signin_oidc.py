"""Sign-in with OpenID Connect against a small provider the tests start on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from machidata.access.backends import OIDC_FAILED, OIDC_UNREACHABLE
from machidata.access.directory import NOT_ALLOWED
from machidata.access.models import Membership, Role, StaffRank
from machidata.access.policy import actor_for
from machidata.access.tests.oidc_provider import CLIENT_ID, Provider, new_key, start_provider
from machidata.audit.models import AuditEvent
from machidata.core.testing import Org

pytestmark = pytest.mark.django_db
User = get_user_model()

STAFF_GROUP = "7f1c-machidata-users"  # Entra ID names groups by object id
EDITOR_GROUP = "9a2d-machidata-editors"
MANAGER_GROUP = "3c5e-kachokyu"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    running = start_provider()
    yield running
    running.stop()


@pytest.fixture
def oidc_on(settings: Any, provider: Provider, org: Org) -> Provider:
    """OIDC configured as an administrator would: from the provider's discovery document."""
    found = requests.get(f"{provider.base}/.well-known/openid-configuration", timeout=5).json()
    settings.MACHIDATA_OIDC_CLIENT_ID = CLIENT_ID
    settings.MACHIDATA_OIDC_CLIENT_SECRET = "test-client-secret"
    settings.MACHIDATA_OIDC_ISSUER = found["issuer"]
    settings.MACHIDATA_OIDC_AUTHORIZATION_ENDPOINT = found["authorization_endpoint"]
    settings.MACHIDATA_OIDC_TOKEN_ENDPOINT = found["token_endpoint"]
    settings.MACHIDATA_OIDC_USERINFO_ENDPOINT = found["userinfo_endpoint"]
    settings.MACHIDATA_OIDC_JWKS_ENDPOINT = found["jwks_uri"]
    settings.MACHIDATA_SSO_ALLOWED_GROUPS = [STAFF_GROUP]
    settings.MACHIDATA_SSO_ROLE_GROUPS = {EDITOR_GROUP: "editor"}
    provider.claims, provider.userinfo, provider.signing_key = {}, {}, None
    return provider


def _claims(username: str, unit: str, *groups: str) -> dict[str, Any]:
    return {
        "sub": f"sub-{username}",
        "preferred_username": username,
        "name": f"{username} さん",
        "email": f"{username}@city.example",
        "department": unit,
        "groups": list(groups),
    }


def _sign_in(provider: Provider, claims: dict[str, Any], client: Client | None = None) -> tuple[Client, Any]:
    client = client or Client(REMOTE_ADDR="10.0.0.1")
    start = client.get(reverse("sso:oidc_start") + "?next=/catalog/")
    assert start.status_code == 302
    location = urlparse(start["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{provider.base}/authorize"
    query = parse_qs(location.query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["code_challenge_method"] == ["S256"]  # PKCE
    provider.nonce = query["nonce"][0]
    provider.claims = claims
    response = client.get(reverse("sso:oidc_callback"), {"code": "a-code", "state": query["state"][0]})
    return client, response


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _active(user: Any) -> list[tuple[str, str]]:
    return [
        (m.unit.code, m.role) for m in Membership.objects.active_on().filter(user=user).select_related("unit")
    ]


def _message(client: Client) -> str:
    return client.get(reverse("login")).content.decode()


def test_a_good_sign_in_creates_the_account_with_the_shared_mapping(oidc_on: Provider) -> None:
    client, response = _sign_in(oidc_on, _claims("mori", "200100", STAFF_GROUP, EDITOR_GROUP))
    assert response.status_code == 302
    assert response["Location"] == "/catalog/"
    assert _signed_in(client)
    user = User.objects.get(username="mori")
    assert (user.email, user.get_full_name()) == ("mori@city.example", "mori さん")
    assert not user.has_usable_password()
    assert _active(user) == [("200100", Role.EDITOR)]
    assert AuditEvent.objects.filter(action="auth.login", object_id=str(user.pk)).exists()
    assert AuditEvent.objects.get(action="user.create").actor_label == "directory:oidc"
    assert oidc_on.token_requests[-1]["code_verifier"]  # the code was exchanged with PKCE


def test_the_manager_group_sets_the_rank_at_each_sign_in(oidc_on: Provider, settings: Any) -> None:
    _sign_in(oidc_on, _claims("kacho", "200100", STAFF_GROUP))
    user = User.objects.get(username="kacho")
    Membership.objects.filter(user=user).update(rank=StaffRank.MANAGER)  # set by hand in the admin
    _sign_in(oidc_on, _claims("kacho", "200100", STAFF_GROUP))
    assert (
        Membership.objects.get(user=user, valid_to=None).rank == StaffRank.MANAGER
    )  # no manager groups: kept
    settings.MACHIDATA_SSO_MANAGER_GROUPS = [MANAGER_GROUP.upper()]  # group names compare without case
    _sign_in(oidc_on, _claims("kacho", "200100", STAFF_GROUP))
    assert Membership.objects.get(user=user, valid_to=None).rank == StaffRank.GENERAL  # not in the group
    _sign_in(oidc_on, _claims("kacho", "200100", STAFF_GROUP, MANAGER_GROUP))
    assert Membership.objects.get(user=user, valid_to=None).rank == StaffRank.MANAGER
    assert actor_for(user).manager_unit_ids


def test_a_moved_person_loses_the_old_membership(oidc_on: Provider, org: Org) -> None:
    _sign_in(oidc_on, _claims("ueda", "300100", STAFF_GROUP))
    user = User.objects.get(username="ueda")
    Membership.objects.filter(user=user).update(valid_from=dt.date(2024, 4, 1))
    _client, response = _sign_in(oidc_on, _claims("ueda", "200101", STAFF_GROUP))
    assert response.status_code == 302
    assert _active(user) == [("200101", Role.VIEWER)]
    old = Membership.objects.get(user=user, unit=org.fire_div)
    assert old.valid_to == timezone.localdate() - dt.timedelta(days=1)


def test_a_person_outside_the_allowed_groups_is_refused_with_a_reason(oidc_on: Provider) -> None:
    client, response = _sign_in(oidc_on, _claims("ogawa", "200100", "some-other-group"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert not _signed_in(client)
    assert NOT_ALLOWED in _message(client)
    assert not User.objects.filter(username="ogawa").exists()
    assert AuditEvent.objects.filter(action="auth.login_failed").exists()


def test_a_token_for_another_client_is_refused(oidc_on: Provider) -> None:
    claims = {**_claims("kudo", "200100", STAFF_GROUP), "aud": "someone-elses-app"}
    client, response = _sign_in(oidc_on, claims)
    assert response["Location"] == reverse("login")
    assert not _signed_in(client)
    assert OIDC_FAILED in _message(client)
    assert not User.objects.filter(username="kudo").exists()


def test_a_token_from_another_issuer_is_refused(oidc_on: Provider) -> None:
    claims = {**_claims("kudo", "200100", STAFF_GROUP), "iss": "https://evil.example"}
    client, _response = _sign_in(oidc_on, claims)
    assert not _signed_in(client)
    assert not User.objects.filter(username="kudo").exists()


def test_a_token_signed_with_another_key_is_refused(oidc_on: Provider) -> None:
    oidc_on.signing_key = new_key()
    client, response = _sign_in(oidc_on, _claims("kudo", "200100", STAFF_GROUP))
    assert response.status_code == 302
    assert not _signed_in(client)
    assert not User.objects.filter(username="kudo").exists()


def test_a_replayed_state_is_refused_without_an_error_page(oidc_on: Provider) -> None:
    client = Client()
    start = client.get(reverse("sso:oidc_start"))
    query = parse_qs(urlparse(start["Location"]).query)
    oidc_on.nonce, oidc_on.claims = query["nonce"][0], _claims("hara", "200100", STAFF_GROUP)
    first = client.get(reverse("sso:oidc_callback"), {"code": "c", "state": query["state"][0]})
    assert first.status_code == 302
    assert _signed_in(client)
    other = Client()
    other.get(reverse("sso:oidc_start"))
    replay = other.get(reverse("sso:oidc_callback"), {"code": "c", "state": query["state"][0]})
    assert replay.status_code == 302
    assert replay["Location"] == reverse("login")
    assert not _signed_in(other)


def test_the_provider_down_gives_a_clear_japanese_error(oidc_on: Provider, settings: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    settings.MACHIDATA_OIDC_TOKEN_ENDPOINT = f"http://127.0.0.1:{closed}/token"
    client, response = _sign_in(oidc_on, _claims("kudo", "200100", STAFF_GROUP))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert OIDC_UNREACHABLE in _message(client)
    assert not _signed_in(client)


def test_the_sign_in_page_offers_the_button(oidc_on: Provider) -> None:
    page = Client().get(reverse("login") + "?next=/catalog/").content.decode()
    assert "庁内アカウントでログイン" in page
    assert reverse("sso:oidc_start") + "?next=%2Fcatalog%2F" in page
    assert 'name="password"' in page  # local accounts remain while SSO is not enforced


def test_oidc_routes_are_closed_until_configured(org: Org) -> None:
    client = Client()
    assert client.get(reverse("sso:oidc_start")).status_code == 404
    assert client.get(reverse("sso:oidc_callback"), {"code": "c", "state": "s"}).status_code == 404
    assert "庁内アカウントでログイン" not in client.get(reverse("login")).content.decode()


def test_refused_oidc_sign_ins_do_not_lock_out_colleagues_behind_the_same_address(
    oidc_on: Provider, settings: Any
) -> None:
    # Behind the city's proxy everyone has one address; OIDC failures carry no user name to count on.
    for n in range(settings.AXES_FAILURE_LIMIT + 1):
        client, _response = _sign_in(oidc_on, _claims(f"outsider{n}", "200100", "no-group"))
        assert not _signed_in(client)
    client, response = _sign_in(oidc_on, _claims("tsuji", "200100", STAFF_GROUP))
    assert response.status_code == 302
    assert _signed_in(client)


def test_a_disabled_account_loses_its_open_oidc_session(oidc_on: Provider) -> None:
    client, _response = _sign_in(oidc_on, _claims("sakai", "200100", STAFF_GROUP))
    assert client.get(reverse("access:tokens")).status_code == 200
    User.objects.filter(username="sakai").update(is_active=False)
    response = client.get(reverse("access:tokens"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
