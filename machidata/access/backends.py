"""Sign-in backends: local passwords, the city's LDAP / Active Directory, and OpenID Connect.

All three sit behind django-axes' backend in ``AUTHENTICATION_BACKENDS``, so the lockout counts and
stops every way of signing in with a password, and Django's sign-in signals write the audit trail for
each. The directory backends hand the person to :func:`machidata.access.services.directory_sign_in`,
which applies the mapping to units and roles shared by both.
"""

from __future__ import annotations

import logging
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from machidata.access import services
from machidata.access.directory import (
    ldap_authenticate,
    ldap_enabled,
    oidc_enabled,
    oidc_person,
    oidc_setting,
)
from machidata.core.errors import PermissionDenied

logger = logging.getLogger(__name__)

OIDC_FAILED = "庁内アカウントでのログインに失敗しました。もう一度お試しください。続く場合はデータ戦略課に連絡してください。"
OIDC_UNREACHABLE = (
    "認証サーバーに接続できないため、いまはログインできません。しばらくたってからもう一度お試しください。"
)


def is_break_glass(user: Any) -> bool:
    """A local superuser named in MACHIDATA_SSO_BREAK_GLASS_USERS (may use a password when SSO is enforced)."""
    return bool(
        user is not None
        and user.is_superuser
        and user.get_username() in set(settings.MACHIDATA_SSO_BREAK_GLASS_USERS)
    )


class LocalPasswordBackend(ModelBackend):
    """Django's own accounts; when SSO is enforced, only the break-glass superusers."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None and settings.MACHIDATA_SSO_ENFORCED and not is_break_glass(user):
            return None  # the directory decides (the next backend)
        return user


def _refuse(request: HttpRequest | None, exc: PermissionDenied) -> DjangoPermissionDenied:
    """Stop the other backends, keep the reason for the page (the failure is signalled and audited)."""
    if request is not None:
        request.sso_error = exc.message  # type: ignore[attr-defined]
    return DjangoPermissionDenied(exc.message)


class LdapBackend(BaseBackend):
    """LDAP / Active Directory: the directory checks the password; the account follows the directory.

    Raises :class:`~machidata.access.directory.DirectoryUnavailable` when the directory cannot be
    reached (the sign-in page says so in Japanese rather than "wrong password").
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if not ldap_enabled() or not username or not password:
            return None
        person = ldap_authenticate(username, password)
        if person is None:
            return None
        try:
            user = services.directory_sign_in(person=person)
        except PermissionDenied as exc:
            raise _refuse(request, exc) from exc
        return user if user.is_active else None

    def get_user(self, user_id: int) -> Any:
        user = get_user_model()._default_manager.filter(pk=user_id).first()
        return user if user is not None and user.is_active else None


class OidcBackend(OIDCAuthenticationBackend):
    """OpenID Connect (authorization code with PKCE), e.g. Entra ID; off until configured.

    Checks what mozilla-django-oidc leaves out: the ID token's audience is this client and its issuer
    is the configured one. Claims from the ID token and the userinfo answer are merged (Entra ID puts
    the groups in the ID token only).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.UserModel = get_user_model()
        self.enabled = oidc_enabled()
        if self.enabled:
            super().__init__(*args, **kwargs)

    @staticmethod
    def get_settings(attr: str, *args: Any) -> Any:
        return oidc_setting(attr, *args)

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> Any:
        if not self.enabled or request is None or "nonce" not in kwargs:
            return None
        try:
            return super().authenticate(request, **kwargs)
        except requests.RequestException as exc:
            logger.error("OpenID provider unreachable or refused the code: %s", exc)
            request.sso_error = OIDC_UNREACHABLE  # type: ignore[attr-defined]
        except (SuspiciousOperation, jwt.InvalidTokenError, ValueError, KeyError) as exc:
            logger.warning("OpenID sign-in refused: %s", exc)
            request.sso_error = OIDC_FAILED  # type: ignore[attr-defined]
        return None

    def verify_token(self, token: str, **kwargs: Any) -> Any:
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if settings.MACHIDATA_OIDC_CLIENT_ID not in audiences:
            raise SuspiciousOperation("ID token audience is not this client")
        if payload.get("iss") != settings.MACHIDATA_OIDC_ISSUER:
            raise SuspiciousOperation("ID token issuer is not the configured one")
        if "exp" not in payload:
            raise SuspiciousOperation("ID token without expiry")
        return payload

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> dict[str, Any]:
        claims = dict(payload)
        if settings.MACHIDATA_OIDC_USERINFO_ENDPOINT:
            extra = super().get_userinfo(access_token, id_token, payload)
            if extra.get("sub") not in (None, payload.get("sub")):
                raise SuspiciousOperation("userinfo is about someone else")
            claims.update(extra)
        return claims

    def get_user(self, user_id: int) -> Any:
        # mozilla-django-oidc's would keep a disabled account's session alive.
        user = self.UserModel._default_manager.filter(pk=user_id).first()
        return user if user is not None and user.is_active else None

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> Any:
        person = oidc_person(self.get_userinfo(access_token, id_token, payload))
        if person is None:
            raise SuspiciousOperation("no user name claim")
        try:
            user = services.directory_sign_in(person=person)
        except PermissionDenied as exc:
            raise _refuse(self.request, exc) from exc
        return user if user.is_active else None
