"""API authentication: personal bearer tokens and the browser session (CSRF-checked)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer

from machidata.access.models import ApiToken, hash_token
from machidata.access.partners import partner_refusal
from machidata.access.policy import ANONYMOUS, Actor, actor_for

INVALID_TOKEN = "APIトークンが無効です（取り消されたか、誤っています）。新しいトークンを発行してください。"  # noqa: S105 - a message
# A token's 最終使用日時 is kept to this precision: writing it on every call would make each API read a
# database write (on SQLite a lock every concurrent request waits for).
LAST_USED_PRECISION = dt.timedelta(minutes=1)
SIGN_IN = "ログインするか、APIトークン（Authorization: Bearer …）を指定してください。"


def api_actor(request: HttpRequest) -> Actor:
    """The API caller (bearer token, else session, else the anonymous public)."""
    actor = getattr(request, "auth", None)
    return actor if isinstance(actor, Actor) else ANONYMOUS


def api_staff(request: HttpRequest) -> Actor:
    """The API caller, who must be signed-in staff (401 otherwise)."""
    actor = api_actor(request)
    if not actor.is_authenticated:
        raise HttpError(401, SIGN_IN)
    return actor


class BearerTokenAuth(HttpBearer):
    """``Authorization: Bearer mdt_…`` with a personal token that has not been revoked."""

    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        found = (
            ApiToken.objects.select_related("user")
            .filter(token_hash=hash_token(token), revoked_at__isnull=True, user__is_active=True)
            .first()
        )
        if found is None:
            # The caller meant to be someone: refuse rather than serve them as the anonymous public.
            raise HttpError(401, INVALID_TOKEN)
        now = timezone.now()
        if found.last_used_at is None or now - found.last_used_at >= LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        actor = actor_for(found.user)
        request.user = found.user
        request.actor = actor  # type: ignore[attr-defined]
        if actor.is_partner:  # an 外部協力者 reaches only its use's data (audited by PartnerGateMiddleware)
            refusal = partner_refusal(request, actor)
            if refusal is not None:
                raise HttpError(*refusal)
        return actor


class SessionActorAuth(APIKeyCookie):
    """The browser session; state-changing calls are CSRF-checked by django-ninja. Anonymous allowed."""

    param_name = "sessionid"

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        super()._get_key(request)  # runs django-ninja's CSRF check on unsafe methods
        return "session"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        actor = getattr(request, "actor", None) or actor_for(getattr(request, "user", None))
        # Anonymous callers reach public data only; the policy decides per object.
        return actor if actor is not None else ANONYMOUS
