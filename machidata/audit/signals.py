"""Sign-in events (login, logout, failed login) written to the audit trail.

Each receiver opens its own transaction around :func:`audit_record`, as every write must; if the audit
row cannot be written the sign-in fails instead of going unrecorded.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction

from machidata.access.policy import ANONYMOUS, actor_for
from machidata.audit.services import audit_record

_MAX_USERNAME = 150


def on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Record a successful sign-in."""
    with transaction.atomic():
        audit_record(actor=actor_for(user), action="auth.login", obj=user)


def on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Record a sign-out (``user`` is None when the session had already expired)."""
    if user is None:
        return
    with transaction.atomic():
        audit_record(actor=actor_for(user), action="auth.logout", obj=user)


def on_login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    """Record a failed sign-in with the attempted user name only — never the password."""
    field = get_user_model().USERNAME_FIELD
    attempted = str(credentials.get(field) or credentials.get("username") or "")[:_MAX_USERNAME]
    with transaction.atomic():
        audit_record(
            actor=ANONYMOUS,
            action="auth.login_failed",
            object_type="auth.user",
            object_repr=attempted,
            changes={"username": attempted},
        )


def connect() -> None:
    """Connect the receivers once (dispatch_uid guards against double registration)."""
    user_logged_in.connect(on_login, dispatch_uid="machidata.audit.login")
    user_logged_out.connect(on_logout, dispatch_uid="machidata.audit.logout")
    user_login_failed.connect(on_login_failed, dispatch_uid="machidata.audit.login_failed")
