"""Catalog entries (Dataset), their managed vocabularies, and per-dataset access grants."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from machidata.access.models import Classification, PersonalData, Unit


class Category(models.Model):
    """分野: a managed list of categories (e.g. 健康・福祉, 防災)."""

    code = models.SlugField("コード", max_length=40, unique=True)
    name = models.CharField("分野名", max_length=100, unique=True)
    order = models.PositiveSmallIntegerField("表示順", default=0)

    class Meta:
        verbose_name = "分野"
        verbose_name_plural = "分野"
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.name


class Licence(models.Model):
    """A licence under which data may be used (CC BY 4.0, PDL1.0, 庁内利用のみ, …)."""

    code = models.SlugField("コード", max_length=40, unique=True)
    name = models.CharField("名称", max_length=200)
    url = models.URLField("URL", blank=True)
    is_open = models.BooleanField("オープンライセンス", default=False)

    class Meta:
        verbose_name = "ライセンス"
        verbose_name_plural = "ライセンス"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class DataFormat(models.Model):
    """A file or storage format a dataset is kept in (CSV, Excel, PDF, 紙, システム)."""

    code = models.SlugField("コード", max_length=20, unique=True)
    name = models.CharField("名称", max_length=50)

    class Meta:
        verbose_name = "形式"
        verbose_name_plural = "形式"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Location(models.TextChoices):
    """Where the data itself lives."""

    MACHIDATA = "machidata", "まちデータ（本システム）"
    FILE_SHARE = "file_share", "共有フォルダ"
    BUSINESS_SYSTEM = "business_system", "業務システム"
    EXTERNAL_URL = "external_url", "外部サイト"
    PAPER = "paper", "紙"


class Frequency(models.TextChoices):
    """How often the data is updated."""

    REALTIME = "realtime", "随時"
    DAILY = "daily", "毎日"
    WEEKLY = "weekly", "毎週"
    MONTHLY = "monthly", "毎月"
    QUARTERLY = "quarterly", "四半期ごと"
    YEARLY = "yearly", "毎年度"
    IRREGULAR = "irregular", "不定期"
    NONE = "none", "更新なし"


class Source(models.TextChoices):
    """Who produced the data."""

    CITY = "city", "本市"
    NATIONAL = "national", "国"
    PREFECTURE = "prefecture", "県"
    OTHER_LG = "other_lg", "他自治体"
    PRIVATE = "private", "民間"


class DatasetQuerySet(models.QuerySet["Dataset"]):
    def live(self) -> DatasetQuerySet:
        """Entries that are not retired."""
        return self.filter(retired_at__isnull=True)


class Dataset(models.Model):
    """A catalog entry: what data exists, who owns it and where it lives."""

    identifier = models.CharField(
        "識別子", max_length=64, unique=True, help_text="棚卸表などで使う一意の番号（例: 431001-0001）"
    )
    slug = models.SlugField("URL名", max_length=100, unique=True, allow_unicode=False)
    title = models.CharField("タイトル", max_length=200)
    title_en = models.CharField("英語タイトル", max_length=200, blank=True)
    description = models.TextField("説明", blank=True, help_text="Markdown で書けます。")
    description_en = models.TextField("英語の説明", blank=True)
    owner = models.ForeignKey(
        Unit, verbose_name="データ所有者（所管課）", on_delete=models.PROTECT, related_name="datasets"
    )
    contact_email = models.EmailField("問い合わせ先メール", blank=True)
    contact_phone = models.CharField("問い合わせ先電話", max_length=40, blank=True)
    category = models.ForeignKey(
        Category,
        verbose_name="分野",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="datasets",
    )
    keywords = models.JSONField("キーワード", default=list, blank=True)
    formats = models.ManyToManyField(DataFormat, verbose_name="形式", blank=True, related_name="datasets")
    classification = models.CharField(
        "公開区分（機密性）",
        max_length=20,
        choices=Classification.choices,
        default=Classification.RESTRICTED,
    )
    discoverable = models.BooleanField(
        "機密でも存在を庁内に示す",
        default=False,
        help_text="機密の場合、タイトルと所管課だけを庁内の職員に表示します。",
    )
    personal_data = models.CharField(
        "個人情報の区分", max_length=20, choices=PersonalData.choices, default=PersonalData.NONE
    )
    location = models.CharField(
        "データの所在", max_length=20, choices=Location.choices, default=Location.MACHIDATA
    )
    location_detail = models.CharField(
        "所在の詳細", max_length=500, blank=True, help_text="共有フォルダのパス、システム名、URL など"
    )
    frequency = models.CharField(
        "更新頻度", max_length=20, choices=Frequency.choices, default=Frequency.IRREGULAR
    )
    source = models.CharField("出典", max_length=20, choices=Source.choices, default=Source.CITY)
    source_detail = models.CharField("出典の詳細", max_length=500, blank=True)
    licence = models.ForeignKey(
        Licence, verbose_name="ライセンス", null=True, blank=True, on_delete=models.PROTECT
    )
    temporal_start = models.DateField("対象期間（開始）", null=True, blank=True)
    temporal_end = models.DateField("対象期間（終了）", null=True, blank=True)
    spatial = models.CharField("対象地域", max_length=200, blank=True)
    lg_code = models.CharField("全国地方公共団体コード", max_length=6, blank=True)
    is_synthetic = models.BooleanField("合成データ（デモ用）", default=False)
    created_at = models.DateTimeField("登録日時", auto_now_add=True)
    updated_at = models.DateTimeField("更新日時", auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    retired_at = models.DateTimeField("廃止日時", null=True, blank=True)
    retired_reason = models.CharField("廃止理由", max_length=500, blank=True)
    # Optimistic locking: every update must carry the lock_version it read; a stale one is refused.
    lock_version = models.PositiveIntegerField(default=1)

    objects = DatasetQuerySet.as_manager()

    class Meta:
        verbose_name = "データセット"
        verbose_name_plural = "データセット"
        ordering = ["-updated_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(classification=Classification.PUBLIC)
                | Q(personal_data__in=[PersonalData.NONE, PersonalData.ANONYMISED]),
                name="dataset_public_without_personal_data",
            ),
        ]
        indexes = [models.Index(fields=["classification", "owner"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_retired(self) -> bool:
        """Whether the entry has been retired (kept for the record, hidden from default lists)."""
        return self.retired_at is not None


class GrantLevel(models.TextChoices):
    """What a grant gives beyond the classification's default."""

    READ = "read", "閲覧（データの利用）"
    EDIT = "edit", "編集"


class DatasetGrant(models.Model):
    """Access granted on one dataset to a person or a whole unit (e.g. after a 利用申請)."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    level = models.CharField("権限", max_length=10, choices=GrantLevel.choices, default=GrantLevel.READ)
    expires_on = models.DateField("有効期限", null=True, blank=True)
    note = models.CharField("理由", max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "個別の利用許可"
        verbose_name_plural = "個別の利用許可"
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, unit__isnull=True) | Q(user__isnull=True, unit__isnull=False),
                name="grant_user_xor_unit",
            )
        ]

    def __str__(self) -> str:
        who = self.user or self.unit
        return f"{self.dataset} → {who}（{self.get_level_display()}）"
