"""Demo content of 利用申請: one access granted through the route and one waiting for the 課長.

``staff`` (警防課) asks for two 所属限定 entries: the 仮名加工 幼児歯科健診結果 of 健康づくり推進課
(approved by 警防課長, decided by ``steward``: granted for 90 days), and the 水道管路台帳 (消火栓と
管路の口径の確認; waiting for 警防課長, account ``keibo-kacho``). Idempotent: a second run changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from machidata.access.models import Membership, Role, Unit
from machidata.access.policy import actor_for
from machidata.catalog.models import Dataset

REQUESTER_UNIT: Final = "70101000"  # 警防課 in the demo organisation
HEAD_USERNAME: Final = "keibo-kacho"
HEAD_PASSWORD: Final = "demo-keibo-kacho-2024"  # noqa: S105 - a published demo password, like the other demo accounts
GRANTED_SLUG: Final = "infant-dental-checkups-pseudonymised"
PENDING_SLUG: Final = "water-pipe-network"


def _head(unit: Unit) -> Any:
    from machidata.access.models import ApproverDesignation, DesignationKind

    user, created = get_user_model().objects.get_or_create(
        username=HEAD_USERNAME, defaults={"first_name": "警防課長", "is_active": True}
    )
    if created:
        user.set_password(HEAD_PASSWORD)
        user.save(update_fields=["password"])
        Membership.objects.create(user=user, unit=unit, role=Role.VIEWER)
    if not ApproverDesignation.objects.filter(unit=unit, user=user, kind=DesignationKind.HEAD).exists():
        ApproverDesignation.objects.create(unit=unit, user=user, kind=DesignationKind.HEAD)
    return user


def load_privacy_demo() -> dict[str, int]:
    """File the two requests (once) and walk the first one to its grant."""
    from machidata.privacy.models import AccessRequest
    from machidata.privacy.services import access_request_act, access_request_create

    done = {"granted": 0, "pending": 0}
    users = get_user_model().objects
    staff_user, steward_user = (
        users.filter(username="staff").first(),
        users.filter(username="steward").first(),
    )
    unit = Unit.objects.filter(code=REQUESTER_UNIT).first()
    granted_ds = Dataset.objects.filter(slug=GRANTED_SLUG).first()
    pending_ds = Dataset.objects.filter(slug=PENDING_SLUG).first()
    if staff_user is None or steward_user is None or unit is None or granted_ds is None or pending_ds is None:
        return done
    with transaction.atomic():
        head = _head(unit)
    staff = actor_for(staff_user)
    today = timezone.localdate()
    if not AccessRequest.objects.filter(dataset=granted_ds, requested_by=staff_user).exists():
        req = access_request_create(
            actor=staff, dataset=granted_ds, starts_on=today, ends_on=today + dt.timedelta(days=90),
            purpose="乳幼児の救急搬送の多い地域と歯科健診の結果に関係があるかを町丁別に集計して調べる"
                    "（庁内の分析のみ。結果は集計値だけを使い、個人を特定しない）。",
            columns=[], legal_basis="other_purpose",
            legal_ground="個人情報保護法第69条第2項第2号（所掌事務の遂行に必要な限度での内部利用で、相当の理由がある）",
        )  # fmt: skip
        access_request_act(
            actor=actor_for(head), request=req, decision="approve", comment="業務上必要と認めます。"
        )
        access_request_act(actor=actor_for(steward_user), request=req, decision="approve",
                           comment="集計値のみの利用を条件に許可します。")  # fmt: skip
        done["granted"] = 1
    if not AccessRequest.objects.filter(dataset=pending_ds, requested_by=staff_user).exists():
        access_request_create(
            actor=staff, dataset=pending_ds, starts_on=today, ends_on=today + dt.timedelta(days=365),
            purpose="消火栓の位置と周辺の水道管の口径を確認し、火災時の水利計画を見直す。",
            legal_basis="internal",
        )  # fmt: skip
        done["pending"] = 1
    return done
