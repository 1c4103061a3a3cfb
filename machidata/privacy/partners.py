"""外部協力者 (university and company partners): creating and ending their accounts, and their own page.

A partner is a sign-in scoped to one approved use (``privacy.ApprovedUse``, the register entry of the
study) and a period inside it: it reads only the de-identified (仮名加工・匿名加工) datasets of that
use and nothing else of the city's (``access.policy``: the ``partner`` standing and
``PARTNER_ROUTES``; ``access.partners``: the gate). データ戦略課 (管理) and the privacy officer create
and end the accounts; every change is audited (``partner.create``, ``partner.end``).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any, Final

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from machidata.access.models import ApiToken, Partner
from machidata.access.policy import DEIDENTIFIED, Action, Actor, restrict
from machidata.audit.services import audit_record
from machidata.catalog.models import Dataset
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied
from machidata.core.text import typed_text
from machidata.privacy import uses
from machidata.privacy.fields import parse_date as _date
from machidata.privacy.use_records import ApprovedUse

KEEPERS_ONLY: Final = "外部協力者のアカウントを作成・終了できるのは、データ戦略課と個人情報保護担当です。"
USERNAME: Final = re.compile(r"^[A-Za-z0-9._@+-]{3,150}$")
STATES: Final = {"": "すべて", "open": "利用中", "closed": "終了・期間外"}


def partner_state(partner: Partner, today: dt.date | None = None) -> str:
    """利用中 / 開始前 / 期間終了 / 終了."""
    today = today or timezone.localdate()
    if partner.ended_at is not None:
        return "終了"
    if partner.ends_on < today:
        return "期間終了"
    if partner.starts_on > today:
        return "開始前"
    return "利用中"


def _require_keeper(actor: Actor) -> None:
    if not uses.is_keeper(actor):
        raise NotFound("ページが見つかりません。")


def partner_list(*, actor: Actor, state: str = "") -> QuerySet[Partner]:
    """Every partner account, newest first (the keepers only; anyone else: 404)."""
    _require_keeper(actor)
    rows = Partner.objects.select_related("user", "use", "created_by").order_by("-created_at", "-id")
    today = timezone.localdate()
    if state == "open":
        rows = rows.filter(ended_at__isnull=True, starts_on__lte=today, ends_on__gte=today)
    elif state == "closed":
        rows = rows.exclude(
            pk__in=rows.filter(ended_at__isnull=True, starts_on__lte=today, ends_on__gte=today)
        )
    return rows


def partner_get(*, actor: Actor, pk: int) -> Partner:
    """One partner account (the keepers only)."""
    _require_keeper(actor)
    partner = Partner.objects.select_related("user", "use").filter(pk=pk).first()
    if partner is None:
        raise NotFound("外部協力者が見つかりません。")
    return partner


def _audit_view(partner: Partner) -> dict[str, Any]:
    return {
        "username": partner.user.get_username(), "organisation": partner.organisation, "use": partner.use_id,
        "starts_on": partner.starts_on.isoformat(), "ends_on": partner.ends_on.isoformat(),
    }  # fmt: skip


@transaction.atomic
def partner_create(*, actor: Actor, use_id: Any, data: dict[str, Any]) -> tuple[Partner, str]:
    """Create a partner's sign-in for one approved use and a period inside it; returns the account and
    its first password (shown once, never stored in clear nor audited)."""
    _require_keeper(actor)
    use = (
        ApprovedUse.objects.select_for_update().filter(pk=int(use_id)).first()
        if str(use_id).isdigit() and int(use_id) < 2**31
        else None
    )
    if use is None or actor.user_id is None:
        raise InvalidInput("承認された利用が見つかりません。", details={"use": "不明です。"})
    username = typed_text(data.get("username"), "ログイン名", "username", limit=150, required=True)
    if not USERNAME.match(username):
        raise InvalidInput("ログイン名は半角の英数字と . _ @ + - で3〜150文字にしてください。",
                           details={"username": "使えない文字があります。"})  # fmt: skip
    user_model = get_user_model()
    if user_model.objects.filter(username__iexact=username).exists():
        raise InvalidInput("そのログイン名はもう使われています。", details={"username": "使われています。"})
    organisation = typed_text(data.get("organisation"), "所属機関", "organisation", limit=200, required=True)
    name = typed_text(data.get("name"), "氏名", "name", limit=150, required=True)
    email = typed_text(data.get("email"), "メールアドレス", "email", limit=254)
    start = _date(data.get("starts_on"), "利用開始日", "starts_on")
    end = _date(data.get("ends_on"), "利用終了日", "ends_on")
    if end < start:
        raise InvalidInput(
            "利用終了日は利用開始日より後の日付にしてください。", details={"ends_on": "開始日より前です。"}
        )
    if start < use.starts_on or end > use.ends_on:
        raise InvalidInput(
            f"外部協力者の利用期間は、承認された利用の期間（{use.starts_on}〜{use.ends_on}）の中にしてください。",
            details={"ends_on": "利用の期間の外です。"},
        )
    if not use.datasets.filter(personal_data__in=DEIDENTIFIED).exists():
        raise InvalidInput(
            "この承認された利用には仮名加工・匿名加工のデータセットがありません。外部協力者はそれだけを見られるため、"
            "先に利用の対象データセットに加えてください。", details={"use": "対象のデータがありません。"},
        )  # fmt: skip
    password = secrets.token_urlsafe(12)
    family, _, given = name.partition(" ")
    user = user_model.objects.create_user(username=username, email=email, password=password,
                                          last_name=family[:150], first_name=given[:150])  # fmt: skip
    partner = Partner.objects.create(
        user=user,
        organisation=organisation,
        use=use,
        starts_on=start,
        ends_on=end,
        created_by_id=actor.user_id,
    )
    audit_record(actor=actor, action="partner.create", obj=partner, changes=_audit_view(partner))
    return partner, password


@transaction.atomic
def partner_end(*, actor: Actor, partner: Partner, reason: str = "") -> Partner:
    """End a partner's account now (its sessions and API tokens stop working at once); audited."""
    _require_keeper(actor)
    current = Partner.objects.select_for_update().get(pk=partner.pk)
    if current.ended_at is not None:
        raise InvalidInput("この外部協力者のアカウントはすでに終了しています。")
    current.ended_at = timezone.now()
    current.ended_by_id = actor.user_id
    current.end_reason = typed_text(reason, "終了の理由", "reason", limit=2000)
    current.save(update_fields=["ended_at", "ended_by", "end_reason"])
    revoked = ApiToken.objects.filter(user_id=current.user_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    audit_record(actor=actor, action="partner.end", obj=current,
                 changes={**_audit_view(current), "reason": current.end_reason, "tokens_revoked": revoked})  # fmt: skip
    return current


def partner_home(*, actor: Actor) -> dict[str, Any]:
    """A partner's own page: its account, its use and the datasets it may read (partners only)."""
    if not actor.is_partner:
        raise NotFound("ページが見つかりません。")
    partner = Partner.objects.select_related("use").get(user_id=actor.user_id or 0)
    if not actor.partner_open:
        raise PermissionDenied("外部協力者としての利用期間が終わりました。")
    datasets = restrict(Dataset.objects.select_related("owner"), actor, Action.READ).order_by("title")
    return {"partner": partner, "use": partner.use, "datasets": datasets}
