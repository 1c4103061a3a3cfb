"""The sign-in page (local password, the city's directory, OpenID Connect) and what SSO enforcement closes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from machidata.access.backends import OIDC_FAILED
from machidata.access.directory import (
    DIRECTORY_DOWN,
    DirectoryUnavailable,
    ldap_enabled,
    oidc_enabled,
    oidc_setting,
)
from machidata.access.policy import ANONYMOUS
from machidata.audit.services import audit_record

# Routes that set or change a local password (the Django admin's); closed while SSO is enforced.
PASSWORD_ROUTES = frozenset(
    {"admin:password_change", "admin:password_change_done", "admin:auth_user_password_change"}
)


def sso_configured() -> bool:
    """Whether any directory sign-in is configured."""
    return ldap_enabled() or oidc_enabled()


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str | None:
    """The name django-axes counts failures under: the typed user name for passwords (local or LDAP).

    An OpenID Connect callback has no typed name (the provider checks passwords and locks out on its
    own); counted as "no name", its failures would lock everyone behind the same address (the city's
    proxy) out of OIDC. Each such attempt is counted under its own one-off nonce instead.
    """
    if credentials and credentials.get("nonce") and not credentials.get("username"):
        return f"oidc:{credentials['nonce']}"
    if credentials:
        return credentials.get("username")
    return getattr(request, "POST", {}).get("username")


class SignInForm(AuthenticationForm):
    """User name and password (local, or the directory's); a directory outage is said as such."""

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except DirectoryUnavailable:
            username = str(self.cleaned_data.get("username") or "")[:150]
            with transaction.atomic():
                audit_record(
                    actor=ANONYMOUS,
                    action="auth.login_failed",
                    object_type="auth.user",
                    object_repr=username,
                    changes={"username": username, "reason": "directory unreachable"},
                )
            raise ValidationError(DIRECTORY_DOWN, code="directory_unavailable") from None


class SignInView(auth_views.LoginView):
    """The sign-in page: the password form unless SSO is enforced with OpenID Connect only, and the
    "庁内アカウントでログイン" button when OpenID Connect is configured."""

    form_class = SignInForm
    template_name = "access/login.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        enforced = settings.MACHIDATA_SSO_ENFORCED
        oidc = oidc_enabled()
        context.update(
            {
                "ldap_enabled": ldap_enabled(),
                "oidc_enabled": oidc,
                "sso_enforced": enforced,
                # With OpenID Connect only and SSO enforced, the password form is the break-glass door.
                "password_form": not (enforced and oidc and not ldap_enabled()),
                "break_glass": enforced and bool(settings.MACHIDATA_SSO_BREAK_GLASS_USERS),
                "oidc_url": reverse("sso:oidc_start")
                + ("?" + urlencode({"next": context.get("next")}) if context.get("next") else ""),
            }
        )
        return context


# ---- OpenID Connect -------------------------------------------------------------------------------


def _oidc_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not oidc_enabled():
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


class OidcStartView(OIDCAuthenticationRequestView):
    """Send the browser to the provider (state, nonce and PKCE kept in the session)."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if oidc_enabled():
            super().__init__(*args, **kwargs)


class OidcCallbackView(OIDCAuthenticationCallbackView):
    """The provider sends the browser back here with a code; a failure returns to the sign-in page."""

    get_settings = staticmethod(oidc_setting)

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            return super().get(request)
        except SuspiciousOperation:  # an unknown or replayed state
            return self.login_failure()

    def login_failure(self) -> HttpResponseRedirect:
        messages.error(self.request, getattr(self.request, "sso_error", "") or OIDC_FAILED)
        return redirect("login")


oidc_start = _oidc_only(OidcStartView.as_view())
oidc_callback = _oidc_only(OidcCallbackView.as_view())


# ---- enforcement ----------------------------------------------------------------------------------


class SsoEnforcedMiddleware:
    """With a directory configured, the Django admin signs in through the sign-in page; with SSO
    enforced, the admin's password pages answer 404 (break-glass passwords are changed on the server
    with ``python -m django changepassword``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        enforced = settings.MACHIDATA_SSO_ENFORCED
        if enforced or sso_configured():
            try:
                name = resolve(request.path_info).view_name
            except Resolver404:
                name = ""
            if name == "admin:login":
                target = request.GET.get("next") or reverse("admin:index")
                return HttpResponseRedirect(reverse("login") + "?" + urlencode({"next": target}))
            if enforced and name in PASSWORD_ROUTES:
                raise Http404
        return self.get_response(request)
