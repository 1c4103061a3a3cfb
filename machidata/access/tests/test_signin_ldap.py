"""Sign-in with the city's directory (LDAP) against a real OpenLDAP slapd started by the tests."""

from __future__ import annotations

import datetime as dt
import socket
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from machidata.access.directory import DIRECTORY_DOWN, DirectoryUnavailable, ldap_authenticate
from machidata.access.models import Membership, Role
from machidata.access.policy import actor_for
from machidata.access.tests.slapd import PEOPLE, USERS_GROUP, Person, Slapd, modify
from machidata.audit.models import AuditEvent
from machidata.core.testing import Org, make_user

pytestmark = pytest.mark.django_db
User = get_user_model()
WHO = {p.uid: p for p in PEOPLE}


def _sign_in(
    person: Person | str, password: str | None = None, *, address: str = "10.0.0.1"
) -> tuple[Client, Any]:
    uid = person.uid if isinstance(person, Person) else person
    client = Client(REMOTE_ADDR=address)
    secret = password if password is not None else WHO[uid].password
    return client, client.post(reverse("login"), {"username": uid, "password": secret})


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _active(user: Any) -> list[tuple[str, str]]:
    return [
        (m.unit.code, m.role) for m in Membership.objects.active_on().filter(user=user).select_related("unit")
    ]


def test_a_good_sign_in_creates_the_account_and_its_membership(ldap_on: Slapd, org: Org) -> None:
    client, response = _sign_in(WHO["tanaka"])
    assert response.status_code == 302
    assert _signed_in(client)
    user = User.objects.get(username="tanaka")
    assert user.get_full_name() == "田中 一郎"
    assert user.email == "tanaka@city.example"
    assert not user.has_usable_password()  # the directory keeps the password, not machidata
    assert _active(user) == [("200100", Role.EDITOR)]  # departmentNumber and machidata-editors
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"user.create", "membership.change", "auth.login"} <= actions
    creator = AuditEvent.objects.get(action="user.create")
    assert creator.actor_label == "directory:ldap"
    # The account reaches its 課's pages as an 編集 of 健康づくり推進課.
    actor = actor_for(user)
    assert org.health_div.pk in actor.editor_unit_ids


def test_the_admins_group_gives_the_admin_role(ldap_on: Slapd, org: Org) -> None:
    _client, response = _sign_in(WHO["watanabe"])
    assert response.status_code == 302
    user = User.objects.get(username="watanabe")
    assert _active(user) == [("100100", Role.ADMIN)]
    assert actor_for(user).is_admin
    assert not user.is_superuser  # the directory never makes superusers


def test_a_wrong_password_is_refused_and_audited(ldap_on: Slapd) -> None:
    client, response = _sign_in("tanaka", "not-the-password")
    assert response.status_code == 200
    assert "正しいユーザー名とパスワードを入力してください" in response.content.decode()
    assert not _signed_in(client)
    assert not User.objects.filter(username="tanaka").exists()
    failed = AuditEvent.objects.get(action="auth.login_failed")
    assert failed.object_repr == "tanaka"
    assert "not-the-password" not in str(failed.changes)


def test_an_unknown_name_and_an_empty_password_are_refused(ldap_on: Slapd) -> None:
    client, response = _sign_in("nobody", "whatever-it-is")
    assert response.status_code == 200
    assert not _signed_in(client)
    # An empty password would be an anonymous bind, which LDAP accepts: refused before asking.
    assert ldap_authenticate("tanaka", "") is None
    assert ldap_authenticate("tanaka", WHO["tanaka"].password) is not None


def test_a_name_with_filter_characters_finds_nobody(ldap_on: Slapd) -> None:
    assert ldap_authenticate("*", WHO["tanaka"].password) is None
    assert ldap_authenticate("tanaka)(uid=*", WHO["tanaka"].password) is None


def test_a_person_moved_in_the_directory_loses_the_old_membership(ldap_on: Slapd, org: Org) -> None:
    suzuki = WHO["suzuki"]
    _sign_in(suzuki)
    user = User.objects.get(username="suzuki")
    assert _active(user) == [("300100", Role.VIEWER)]
    last_april = dt.date(timezone.localdate().year - 1, 4, 1)
    Membership.objects.filter(user=user).update(valid_from=last_april)  # signed in since last year
    modify(ldap_on, suzuki.dn, {"departmentNumber": [("MODIFY_REPLACE", ["200101"])]})
    try:
        _client, response = _sign_in(suzuki)
    finally:
        modify(ldap_on, suzuki.dn, {"departmentNumber": [("MODIFY_REPLACE", [suzuki.unit])]})
    assert response.status_code == 302
    today = timezone.localdate()
    assert _active(user) == [("200101", Role.VIEWER)]
    old = Membership.objects.get(user=user, unit=org.fire_div)
    assert old.valid_to == today - dt.timedelta(days=1)  # effective-dated, not deleted
    new = Membership.objects.get(user=user, unit=org.health_sec)
    assert (new.valid_from, new.valid_to) == (today, None)
    assert org.fire_div.pk not in actor_for(user).unit_ids


def test_a_person_removed_from_the_allowed_group_is_refused(ldap_on: Slapd, org: Org) -> None:
    sato = WHO["sato"]
    _first, response = _sign_in(sato)
    assert response.status_code == 302
    user = User.objects.get(username="sato")
    assert _active(user) == [("300100", Role.VIEWER)]
    modify(ldap_on, USERS_GROUP, {"member": [("MODIFY_DELETE", [sato.dn])]})
    try:
        client, response = _sign_in(sato)
    finally:
        modify(ldap_on, USERS_GROUP, {"member": [("MODIFY_ADD", [sato.dn])]})
    assert response.status_code == 200
    assert not _signed_in(client)
    assert _active(user) == []  # the memberships end with the permission
    assert AuditEvent.objects.filter(action="auth.directory_refused", object_repr="sato").exists()
    assert AuditEvent.objects.filter(action="auth.login_failed", object_repr="sato").exists()


def test_a_person_outside_the_allowed_group_never_gets_an_account(ldap_on: Slapd) -> None:
    client, response = _sign_in(WHO["yamada"])
    assert response.status_code == 200
    assert not _signed_in(client)
    assert not User.objects.filter(username="yamada").exists()


def test_a_unit_unknown_here_signs_in_without_membership(ldap_on: Slapd) -> None:
    _client, response = _sign_in(WHO["nomura"])
    assert response.status_code == 302
    user = User.objects.get(username="nomura")
    assert _active(user) == []
    assert actor_for(user).unit_ids == frozenset()


def test_the_directory_cannot_sign_in_as_a_local_superuser(ldap_on: Slapd) -> None:
    User.objects.create_superuser("admin", "admin@example.jp", "local-break-glass-password-2024")
    client, response = _sign_in(WHO["admin"])  # the directory's own "admin" with its directory password
    assert response.status_code == 200
    assert not _signed_in(client)


def test_a_locally_disabled_account_stays_out(ldap_on: Slapd) -> None:
    make_user("inoue", is_active=False)
    client, response = _sign_in(WHO["inoue"])
    assert response.status_code == 200
    assert not _signed_in(client)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_directory_down_gives_a_clear_japanese_error(ldap_on: Slapd, settings: Any) -> None:
    settings.MACHIDATA_LDAP_URL = f"ldap://127.0.0.1:{_closed_port()}"
    settings.MACHIDATA_LDAP_TIMEOUT = 2
    client, response = _sign_in(WHO["tanaka"])
    assert response.status_code == 200
    assert DIRECTORY_DOWN in response.content.decode()
    assert not _signed_in(client)
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.changes["reason"] == "directory unreachable"
    assert not AccessAttempt.objects.exists()  # not the person's fault: no step towards a lockout


def test_local_accounts_still_sign_in_while_the_directory_is_down(ldap_on: Slapd, settings: Any) -> None:
    settings.MACHIDATA_LDAP_URL = f"ldap://127.0.0.1:{_closed_port()}"
    person = make_user("local-clerk")
    person.set_password("a-local-password-2024")
    person.save()
    client, response = _sign_in("local-clerk", "a-local-password-2024")
    assert response.status_code == 302
    assert _signed_in(client)


def test_repeated_wrong_passwords_lock_directory_sign_in(ldap_on: Slapd, settings: Any) -> None:
    kato = WHO["kato"]
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _sign_in(kato, "wrong-password")[1].status_code == 200
    assert _sign_in(kato, "wrong-password")[1].status_code == 429
    client, response = _sign_in(kato)  # even the right directory password, while locked
    assert response.status_code == 429
    assert "ログインを一時停止しています" in response.content.decode()
    assert not _signed_in(client)
    assert not User.objects.filter(username="kato").exists()
    # Another address is not locked.
    _other, response = _sign_in(kato, address="10.0.0.2")
    assert response.status_code == 302


def test_the_admin_login_goes_through_the_sign_in_page(ldap_on: Slapd) -> None:
    response = Client().get(reverse("admin:login") + "?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == reverse("login") + "?next=%2Fadmin%2F"


def test_ldaps_with_the_directory_ca_signs_in(ldap_on: Slapd, settings: Any) -> None:
    settings.MACHIDATA_LDAP_URL = ldap_on.tls_url
    settings.MACHIDATA_LDAP_CA_FILE = str(ldap_on.ca_file)
    client, response = _sign_in(WHO["tanaka"])
    assert response.status_code == 302
    assert _signed_in(client)


def test_start_tls_with_the_directory_ca_signs_in(ldap_on: Slapd, settings: Any) -> None:
    settings.MACHIDATA_LDAP_START_TLS = True
    settings.MACHIDATA_LDAP_CA_FILE = str(ldap_on.ca_file)
    client, response = _sign_in(WHO["tanaka"])
    assert response.status_code == 302
    assert _signed_in(client)


def test_an_untrusted_directory_certificate_is_refused(ldap_on: Slapd, settings: Any) -> None:
    settings.MACHIDATA_LDAP_URL = ldap_on.tls_url  # its CA is not in the system's store
    client, response = _sign_in(WHO["tanaka"])
    assert response.status_code == 200
    assert DIRECTORY_DOWN in response.content.decode()
    assert not _signed_in(client)
    assert not User.objects.filter(username="tanaka").exists()


def test_start_tls_with_an_untrusted_certificate_never_sends_the_password(
    ldap_on: Slapd, settings: Any
) -> None:
    settings.MACHIDATA_LDAP_START_TLS = True
    client, response = _sign_in(WHO["tanaka"])
    assert DIRECTORY_DOWN in response.content.decode()
    assert not _signed_in(client)


def test_a_certificate_for_another_host_name_is_refused(ldap_on: Slapd, settings: Any) -> None:
    # The certificate names 127.0.0.1 only; the right CA does not make "localhost" acceptable.
    settings.MACHIDATA_LDAP_URL = ldap_on.tls_url.replace("127.0.0.1", "localhost")
    settings.MACHIDATA_LDAP_CA_FILE = str(ldap_on.ca_file)
    with pytest.raises(DirectoryUnavailable, match=r"(?i)hostname|host name|match"):
        ldap_authenticate("tanaka", WHO["tanaka"].password)
    client, response = _sign_in(WHO["tanaka"])
    assert DIRECTORY_DOWN in response.content.decode()
    assert not _signed_in(client)
