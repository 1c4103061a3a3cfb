"""Models of the 個人情報ファイル簿 (register entries, 法第75条) and of retention (保存期間).

Imported by ``privacy.models`` so Django finds them; kept apart from the 利用申請 models that another
part of the room owns. Both are one row per dataset (``OneToOneField``) rather than fields on
``catalog.Dataset``: only personal-data entries have them, the law's items are the privacy room's
vocabulary, and the catalog (lower in the layering) never needs to read them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from machidata.catalog.models import Dataset

# Above this many people a personal-information file has a register entry (法第75条第2項第1号 →
# 第74条第2項第9号: 本人の数が政令で定める数＝千人に満たないファイルは除く).
REGISTER_THRESHOLD = 1000


class FileKind(models.TextChoices):
    """個人情報ファイルの種別 (法第60条第2項第1号 / 第2号)."""

    ELECTRONIC = "electronic", "電算処理ファイル"
    MANUAL = "manual", "マニュアル処理ファイル"


class RegisterEntry(models.Model):
    """One entry of the 個人情報ファイル簿: the items 法第75条第1項 (第74条第1項各号) asks for.

    Items the catalog already knows (the 課 in charge, 要配慮個人情報) are read from the dataset, not
    copied, so they cannot drift apart.
    """

    dataset = models.OneToOneField(Dataset, on_delete=models.PROTECT, related_name="register_entry")
    name = models.CharField("個人情報ファイルの名称", max_length=200, blank=True)
    agency = models.CharField("行政機関等の名称", max_length=200, blank=True, default="熊本市")
    purpose = models.TextField("利用目的", blank=True)
    items = models.TextField("記録項目", blank=True)
    scope = models.TextField("記録範囲（本人として記録される個人の範囲）", blank=True)
    collection = models.TextField("記録情報の収集方法（収集先）", blank=True)
    ordinance_sensitive = models.BooleanField("条例要配慮個人情報を含む", default=False)
    recipients = models.TextField(
        "記録情報の経常的提供先", blank=True, help_text="ないときは「なし」と書きます。"
    )
    request_office = models.TextField(
        "開示請求等を受理する組織の名称及び所在地",
        blank=True,
        help_text="例: 熊本市 総務局 行政管理部 総務課（熊本市中央区手取本町1-1）",
    )
    special_procedure = models.TextField(
        "訂正及び利用停止に関する他の法令の規定による特別の手続等", blank=True
    )
    file_kind = models.CharField(
        "個人情報ファイルの種別", max_length=12, choices=FileKind.choices, default=FileKind.ELECTRONIC
    )
    omitted = models.TextField("記載しない事項とその理由（法第75条第3項）", blank=True)
    anonymisation = models.TextField("行政機関等匿名加工情報の提案の募集に関する事項", blank=True)
    remarks = models.TextField("備考", blank=True)
    people_declared = models.PositiveIntegerField("本人の数（所管課の申告）", null=True, blank=True)
    public = models.BooleanField("ポータルで公表する", default=False)
    published_at = models.DateTimeField("公表の登録日時", null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField("更新日時", auto_now=True)

    class Meta:
        verbose_name = "個人情報ファイル簿の記載"
        verbose_name_plural = "個人情報ファイル簿"
        ordering = ["dataset__title", "id"]

    def __str__(self) -> str:
        return self.name or self.dataset.title


class RetentionClock(models.TextChoices):
    """From when a version's 保存期間 runs."""

    CREATED = "created", "版の作成日から"
    PERIOD_END = "period_end", "データの対象期間の終了日から"


class RetentionRule(models.Model):
    """A dataset's 保存期間: its versions expire ``years`` after the clock's date. No rule = keep."""

    dataset = models.OneToOneField(Dataset, on_delete=models.PROTECT, related_name="retention_rule")
    years = models.PositiveSmallIntegerField("保存期間（年）")
    clock = models.CharField(
        "起算日", max_length=12, choices=RetentionClock.choices, default=RetentionClock.CREATED
    )
    basis = models.TextField("根拠（文書管理規程の区分など）", blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField("更新日時", auto_now=True)

    class Meta:
        verbose_name = "保存期間"
        verbose_name_plural = "保存期間"
        constraints = [
            models.CheckConstraint(condition=models.Q(years__gte=1), name="retention_years_positive")
        ]

    def __str__(self) -> str:
        return f"{self.dataset}: {self.years}年（{self.get_clock_display()}）"

    def label(self) -> str:
        """「保存期間5年・版の作成日から」."""
        return f"保存期間{self.years}年・{self.get_clock_display()}"
