"""The city's directory: who a person is there (LDAP / Active Directory or OpenID Connect claims) and how
that maps onto this project's units and roles.

Both sign-in ways produce a :class:`DirectoryPerson`; :func:`unit_code_for` and :func:`role_for` apply the
settings-driven mapping shared by both (``MACHIDATA_SSO_UNIT_MAP``, ``MACHIDATA_SSO_ROLE_GROUPS``,
``MACHIDATA_SSO_ALLOWED_GROUPS``). The LDAP look-up uses ldap3 (pure Python: nothing to compile on the
city's server); connection problems become :class:`DirectoryUnavailable`, never a wrong-password answer.
"""

from __future__ import annotations

import logging
import math
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from machidata.access.models import Role, StaffRank

logger = logging.getLogger(__name__)

DIRECTORY_DOWN = (
    "庁内のディレクトリ（認証サーバー）に接続できないため、いまはログインできません。"
    "しばらくたってからもう一度お試しください。続く場合はシステム管理者（データ戦略課）に連絡してください。"
)
NOT_ALLOWED = "このアカウントには、まちデータを使う権限がありません。所属の担当者を通じてデータ戦略課に申請してください。"

_RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2}


class DirectoryUnavailable(Exception):  # noqa: N818 - reads as what happened, like Django's PermissionDenied
    """The directory could not be reached or refused the look-up account (not the person's fault)."""


@dataclass(frozen=True)
class DirectoryPerson:
    """One person as the directory describes them."""

    username: str
    full_name: str = ""
    email: str = ""
    unit_value: str = ""  # the 所属 as the directory carries it (a code, or a name mapped by settings)
    groups: frozenset[str] = field(default_factory=frozenset)
    source: str = "ldap"  # "ldap" or "oidc"


def _norm(group: str) -> str:
    return group.strip().lower()


def is_allowed(groups: Iterable[str]) -> bool:
    """Whether a person in ``groups`` may sign in (everyone when no allowed groups are set)."""
    allowed = {_norm(g) for g in settings.MACHIDATA_SSO_ALLOWED_GROUPS}
    return not allowed or bool(allowed & {_norm(g) for g in groups})


def role_for(groups: Iterable[str]) -> str:
    """The highest role any of ``groups`` maps to (``MACHIDATA_SSO_ROLE_GROUPS``); 閲覧 otherwise."""
    mapping = {_norm(g): r for g, r in dict(settings.MACHIDATA_SSO_ROLE_GROUPS).items() if r in Role.values}
    roles = [mapping[_norm(g)] for g in groups if _norm(g) in mapping]
    return max(roles, key=lambda r: _RANK[Role(r)], default=Role.VIEWER)


def rank_for(groups: Iterable[str]) -> str | None:
    """管理職 when one of ``groups`` is a manager group (``MACHIDATA_SSO_MANAGER_GROUPS``), else 一般職;
    None when no manager group is configured (the directory does not say, so the kept rank stays)."""
    managers = {_norm(g) for g in settings.MACHIDATA_SSO_MANAGER_GROUPS}
    if not managers:
        return None
    return StaffRank.MANAGER if managers & {_norm(g) for g in groups} else StaffRank.GENERAL


def unit_code_for(value: str) -> str:
    """The 所属コード the directory's value stands for (``MACHIDATA_SSO_UNIT_MAP``, else the value itself)."""
    value = value.strip()
    mapped = dict(settings.MACHIDATA_SSO_UNIT_MAP).get(value)
    return str(mapped).strip() if mapped else value


# ---- LDAP / Active Directory --------------------------------------------------------------------


def ldap_enabled() -> bool:
    """Whether LDAP sign-in is configured."""
    return bool(settings.MACHIDATA_LDAP_URL and settings.MACHIDATA_LDAP_USER_BASE)


def _first(entry: dict[str, Any], name: str) -> str:
    value = entry.get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "")


def _server() -> Any:
    import ldap3

    # ldap3 validates nothing by default: the directory's certificate must chain to the system's CAs or
    # to MACHIDATA_LDAP_CA_FILE, and name the host (ldaps:// and StartTLS alike).
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=settings.MACHIDATA_LDAP_CA_FILE or None)
    timeout = settings.MACHIDATA_LDAP_TIMEOUT
    return ldap3.Server(settings.MACHIDATA_LDAP_URL, connect_timeout=timeout, get_info=ldap3.NONE, tls=tls)


def _connect(server: Any, user: str | None, password: str | None) -> tuple[Any, bool]:
    """A connection bound as ``user`` (anonymous when None) and whether the bind succeeded."""
    import ldap3

    conn = ldap3.Connection(
        server,
        user=user,
        password=password,
        receive_timeout=max(1, math.ceil(settings.MACHIDATA_LDAP_TIMEOUT)),  # ldap3 packs it as an integer
        read_only=True,
        raise_exceptions=False,
    )
    conn.open()
    plain = not settings.MACHIDATA_LDAP_URL.lower().startswith("ldaps:")
    # Never go on in plain text after a failed StartTLS: the password would travel in the clear.
    if settings.MACHIDATA_LDAP_START_TLS and plain and not conn.start_tls():
        raise DirectoryUnavailable(f"StartTLS refused: {conn.result}")
    return conn, bool(conn.bind())


def ldap_authenticate(username: str, password: str) -> DirectoryPerson | None:
    """The person if ``password`` is theirs in the directory; None for an unknown name or a wrong password.

    Looks the person up with the look-up account, then binds as them (the directory checks the password;
    nothing is compared here). An empty password is refused first: LDAP treats it as an anonymous bind.
    Raises :class:`DirectoryUnavailable` when the directory cannot be reached or refuses the look-up account.
    """
    from ldap3 import SUBTREE
    from ldap3.core.exceptions import LDAPException
    from ldap3.utils.conv import escape_filter_chars

    if not username or not password:
        return None
    name_attr = settings.MACHIDATA_LDAP_USERNAME_ATTRIBUTE
    unit_attr = settings.MACHIDATA_LDAP_UNIT_ATTRIBUTE
    try:
        server = _server()
        lookup, bound = _connect(
            server, settings.MACHIDATA_LDAP_BIND_DN or None, settings.MACHIDATA_LDAP_BIND_PASSWORD or None
        )
        if not bound:
            logger.error("directory refused the look-up account: %s", lookup.result)
            raise DirectoryUnavailable("look-up bind refused")
        try:
            lookup.search(
                settings.MACHIDATA_LDAP_USER_BASE,
                f"({name_attr}={escape_filter_chars(username)})",
                SUBTREE,
                attributes=[name_attr, unit_attr, "displayName", "cn", "mail", "memberOf"],
                size_limit=2,
            )
            found = list(lookup.response or [])
            entries = [e for e in found if e.get("type") == "searchResEntry"]
            if len(entries) != 1:
                return None  # unknown (or ambiguous) name: the same answer as a wrong password
            dn = entries[0]["dn"]
            attrs = entries[0]["attributes"]
            person_conn, ok = _connect(server, dn, password)
            person_conn.unbind()
            if not ok:
                return None
            groups = {str(g) for g in attrs.get("memberOf") or []}
            if settings.MACHIDATA_LDAP_GROUP_BASE:
                lookup.search(
                    settings.MACHIDATA_LDAP_GROUP_BASE,
                    f"(|(member={escape_filter_chars(dn)})(uniqueMember={escape_filter_chars(dn)})"
                    f"(memberUid={escape_filter_chars(_first(attrs, name_attr) or username)}))",
                    SUBTREE,
                    attributes=["cn"],
                )
                groups |= {e["dn"] for e in lookup.response or [] if e.get("type") == "searchResEntry"}
        finally:
            lookup.unbind()
    except LDAPException as exc:
        logger.error("directory unreachable: %s", exc)
        raise DirectoryUnavailable(str(exc)) from exc
    return DirectoryPerson(
        username=_first(attrs, name_attr) or username,
        full_name=_first(attrs, "displayName") or _first(attrs, "cn"),
        email=_first(attrs, "mail"),
        unit_value=_first(attrs, unit_attr),
        groups=frozenset(groups),
        source="ldap",
    )


# ---- OpenID Connect -----------------------------------------------------------------------------

# mozilla-django-oidc asks for its settings by these names; they come from MACHIDATA_OIDC_* (or are fixed).
_OIDC_FROM = {
    "OIDC_RP_CLIENT_ID": "MACHIDATA_OIDC_CLIENT_ID",
    "OIDC_RP_CLIENT_SECRET": "MACHIDATA_OIDC_CLIENT_SECRET",
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "MACHIDATA_OIDC_AUTHORIZATION_ENDPOINT",
    "OIDC_OP_TOKEN_ENDPOINT": "MACHIDATA_OIDC_TOKEN_ENDPOINT",
    "OIDC_OP_USER_ENDPOINT": "MACHIDATA_OIDC_USERINFO_ENDPOINT",
    "OIDC_OP_JWKS_ENDPOINT": "MACHIDATA_OIDC_JWKS_ENDPOINT",
    "OIDC_RP_SCOPES": "MACHIDATA_OIDC_SCOPES",
}
_OIDC_FIXED: dict[str, Any] = {
    "OIDC_RP_SIGN_ALGO": "RS256",
    "OIDC_USE_PKCE": True,
    "OIDC_USE_NONCE": True,
    "OIDC_TIMEOUT": 10,
    "OIDC_AUTHENTICATION_CALLBACK_URL": "sso:oidc_callback",
    "OIDC_CREATE_USER": True,
    "OIDC_RP_IDP_SIGN_KEY": None,
    "OIDC_ALLOW_UNSECURED_JWT": False,
    "OIDC_STORE_ACCESS_TOKEN": False,
    "OIDC_STORE_ID_TOKEN": False,
}


def oidc_enabled() -> bool:
    """Whether OpenID Connect sign-in is configured."""
    # The issuer is required: with a provider's shared keys (Entra ID's "common" JWKS) another tenant's
    # token could otherwise pass, and user names are only unique within one issuer.
    return bool(
        settings.MACHIDATA_OIDC_CLIENT_ID
        and settings.MACHIDATA_OIDC_ISSUER
        and settings.MACHIDATA_OIDC_AUTHORIZATION_ENDPOINT
        and settings.MACHIDATA_OIDC_TOKEN_ENDPOINT
        and settings.MACHIDATA_OIDC_JWKS_ENDPOINT
    )


def oidc_setting(attr: str, *default: Any) -> Any:
    """A mozilla-django-oidc setting, read from the MACHIDATA_OIDC_* settings."""
    if attr in _OIDC_FROM:
        return getattr(settings, _OIDC_FROM[attr]) or None
    if attr in _OIDC_FIXED:
        return _OIDC_FIXED[attr]
    if hasattr(settings, attr):
        return getattr(settings, attr)
    if default:
        return default[0]
    raise KeyError(attr)


def oidc_person(claims: dict[str, Any]) -> DirectoryPerson | None:
    """The person the provider's claims describe (None without a user name claim)."""
    username = str(claims.get(settings.MACHIDATA_OIDC_USERNAME_CLAIM) or "").strip()
    if not username:
        return None
    groups = claims.get(settings.MACHIDATA_OIDC_GROUPS_CLAIM) or []
    if isinstance(groups, str):
        groups = [groups]
    return DirectoryPerson(
        username=username[:150],
        full_name=str(claims.get("name") or ""),
        email=str(claims.get("email") or ""),
        unit_value=str(claims.get(settings.MACHIDATA_OIDC_UNIT_CLAIM) or ""),
        groups=frozenset(str(g) for g in groups),
        source="oidc",
    )
