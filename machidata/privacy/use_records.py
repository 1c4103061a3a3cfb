"""Model of the register of approved uses of personal data (承認された利用).

Imported by ``privacy.models`` so Django finds it. One entry is one approved use: its purpose, legal
basis (the 利用申請's choices), the datasets it covers, its period and the decision that allowed it
(an ethics committee's or a 課長's: body, date, number, the attached document). An approved 利用申請
on personal data creates its entry, or adds its dataset to the entry it was filed under.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from machidata.access.models import Unit
from machidata.catalog.models import Dataset

DOCUMENT_MAX_BYTES = 20 * 1024 * 1024  # a decision's PDF or scan; larger files belong in the 文書管理システム
DOCUMENT_SUFFIXES = (".pdf", ".docx", ".xlsx", ".png", ".jpg", ".jpeg", ".txt")


class ApprovedUse(models.Model):
    """One approved use of personal data (承認された利用)."""

    title = models.CharField("利用の名称", max_length=200)
    purpose = models.TextField("利用目的")
    legal_basis = models.CharField("法的根拠", max_length=20)  # privacy.models.LegalBasis
    legal_ground = models.TextField("目的外利用・提供の根拠", blank=True)
    datasets = models.ManyToManyField(Dataset, related_name="approved_uses", verbose_name="対象データセット")
    unit = models.ForeignKey(
        Unit, verbose_name="利用する課", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="利用者", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    starts_on = models.DateField("利用開始日")
    ends_on = models.DateField("利用終了日")
    decision_body = models.CharField("決定した機関（倫理審査委員会など）", max_length=200, blank=True)
    decision_date = models.DateField("決定日", null=True, blank=True)
    decision_number = models.CharField("決定番号", max_length=100, blank=True)
    decision_note = models.TextField("決定の内容・条件", blank=True)
    document = models.FileField("決定の記録（添付文書）", upload_to="privacy/decisions/%Y/", blank=True)
    document_name = models.CharField("添付文書の元の名前", max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("登録日時", auto_now_add=True)
    updated_at = models.DateTimeField("更新日時", auto_now=True)

    class Meta:
        verbose_name = "承認された利用"
        verbose_name_plural = "承認された利用"
        ordering = ["-starts_on", "-id"]

    def __str__(self) -> str:
        return f"承認された利用 #{self.pk} {self.title}"
