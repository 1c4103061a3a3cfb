"""利用申請 (access requests): a member of staff asks to read a dataset they may discover but not read.

The request walks a 決裁 route (the publication room's route module, ``MACHIDATA_ACCESS_REQUEST_ROUTES``);
the last decision creates a read grant (``catalog.DatasetGrant``) that ends on the request's end date.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from machidata.access.models import Unit
from machidata.catalog.models import Dataset, DatasetGrant


class LegalBasis(models.TextChoices):
    """Why the law lets the requester use the data (個人情報保護法第69条)."""

    INTERNAL = "internal", "所掌事務の範囲内の内部利用"
    OTHER_PURPOSE = "other_purpose", "目的外利用（第69条第2項各号の根拠による）"


class AccessStatus(models.TextChoices):
    """Where a request stands."""

    PENDING = "pending", "申請中"
    APPROVED = "approved", "許可"
    RETURNED = "returned", "差戻し"
    REJECTED = "rejected", "却下"
    CANCELLED = "cancelled", "取り下げ"
    REVOKED = "revoked", "許可の取消し"


class AccessDecision(models.TextChoices):
    """What an approver did at a step."""

    APPROVE = "approve", "承認"
    RETURN = "return", "差戻し"
    REJECT = "reject", "却下"


class AccessRequest(models.Model):
    """One 利用申請 on one dataset, with its resolved route and, once approved, its grant."""

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="access_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requester_unit = models.ForeignKey(
        Unit, verbose_name="申請者の所属", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    purpose = models.TextField("利用目的")
    columns = models.JSONField("必要な項目", default=list, blank=True)
    starts_on = models.DateField("利用開始日")
    ends_on = models.DateField("利用終了日")
    legal_basis = models.CharField("法的根拠", max_length=20, choices=LegalBasis.choices)
    legal_ground = models.TextField("目的外利用の根拠", blank=True)
    route_name = models.CharField("決裁ルート", max_length=40)
    steps = models.JSONField("決裁の段階", default=list)
    current_step = models.PositiveSmallIntegerField("現在の段階", default=0)
    status = models.CharField(
        "状態", max_length=10, choices=AccessStatus.choices, default=AccessStatus.PENDING
    )
    grant = models.ForeignKey(
        DatasetGrant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_use = models.ForeignKey(
        "privacy.ApprovedUse", verbose_name="承認された利用", null=True, blank=True,
        on_delete=models.SET_NULL, related_name="access_requests",
    )  # fmt: skip
    created_at = models.DateTimeField("申請日時", auto_now_add=True)
    decided_at = models.DateTimeField("決定日時", null=True, blank=True)
    revoked_at = models.DateTimeField("取消日時", null=True, blank=True)

    class Meta:
        verbose_name = "利用申請"
        verbose_name_plural = "利用申請"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"利用申請 #{self.pk} {self.dataset}"


class AccessAction(models.Model):
    """One decision at one step (or a renewal / revocation); ``on_behalf_of`` is set for a 代決."""

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="actions")
    step_index = models.PositiveSmallIntegerField(null=True, blank=True)
    step_key = models.CharField(max_length=40)
    decision = models.CharField("判断", max_length=10)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    comment = models.TextField("コメント", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "利用申請の決裁の記録"
        verbose_name_plural = "利用申請の決裁の記録"
        ordering = ["request_id", "id"]

    def __str__(self) -> str:
        return f"#{self.request_id} {self.step_key}: {self.decision}"


# The 個人情報ファイル簿 and retention models live in their own module (issue 12, points 6-7).
from machidata.privacy.records import RegisterEntry, RetentionClock, RetentionRule  # noqa: E402, F401
from machidata.privacy.use_records import ApprovedUse  # noqa: E402, F401
