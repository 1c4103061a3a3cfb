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
        indexes = [
            models.Index(fields=["classification", "owner"]),
            # the newest edit, asked by every cache of public lists (publish.selectors.public_fingerprint)
            models.Index(fields=["updated_at"], name="dataset_updated_at"),
        ]

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


class InventoryTemplate(models.Model):
    """A saved column mapping for one bureau's inventory (棚卸表) layout, reused on the next import."""

    name = models.CharField("テンプレート名", max_length=100, unique=True)
    # Japanese column header in the sheet → catalog field name (e.g. {"データ名": "title"}).
    mapping = models.JSONField("列の対応", default=dict)
    # The headers the template was made from, to recognise the same layout automatically.
    headers = models.JSONField("元の列見出し", default=list)
    sheet = models.CharField("シート名", max_length=100, blank=True)
    header_row = models.PositiveIntegerField("見出し行", default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "棚卸表テンプレート"
        verbose_name_plural = "棚卸表テンプレート"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ValidationPolicy(models.TextChoices):
    """What happens to a new version that breaks the table's 項目定義."""

    REJECT = "reject", "受け付けない"
    WARN = "warn", "警告つきで受け付ける"


class Table(models.Model):
    """A table (表) of a dataset; its data is one Delta table under MACHIDATA_HOME/lake/, written by lake/."""

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="tables")
    name = models.SlugField("表の名前", max_length=100, help_text="半角英数字（URL とファイル名に使います）")
    title = models.CharField("表のタイトル", max_length=200)
    description = models.TextField("説明", blank=True)
    # Frictionless Table Schema (fields with name, title, type, format, unit, constraints, missingValues).
    schema = models.JSONField("項目定義", default=dict, blank=True)
    validation_policy = models.CharField(
        "項目定義に合わない版",
        max_length=10,
        choices=ValidationPolicy.choices,
        default=ValidationPolicy.REJECT,
    )
    storage_key = models.CharField(max_length=64, unique=True, help_text="lake/ 内のフォルダ名（不変）")
    current_version = models.ForeignKey(
        "TableVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Writer lease: only one writer per table at a time (see lake.protocol).
    lease_holder = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "表"
        verbose_name_plural = "表"
        ordering = ["dataset_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "name"], name="table_name_unique_in_dataset")
        ]
        # the newest edit, asked by every cache of public lists (publish.selectors.public_fingerprint)
        indexes = [models.Index(fields=["updated_at"], name="table_updated_at")]

    def __str__(self) -> str:
        return f"{self.dataset.title} / {self.title}"


class VersionStatus(models.TextChoices):
    """Where a version is in the write protocol."""

    PENDING = "pending", "書き込み中"
    COMMITTED = "committed", "確定"
    ABANDONED = "abandoned", "中断（取り消し済み）"
    PURGED = (
        "purged",
        "消去済み",
    )  # removed by lake.protocol.purge_versions (保存期間); the row is the tombstone


class VersionMode(models.TextChoices):
    """How a version was made from the previous one."""

    REPLACE = "replace", "置き換え"
    APPEND = "append", "追加"
    RESTORE = "restore", "過去の版に戻す"


class TableVersion(models.Model):
    """One version (版) of a table: a committed Delta version with who/when/what and its reports."""

    table = models.ForeignKey(Table, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField("版")
    status = models.CharField(max_length=10, choices=VersionStatus.choices, default=VersionStatus.PENDING)
    delta_version = models.BigIntegerField(null=True, blank=True)
    mode = models.CharField("方法", max_length=10, choices=VersionMode.choices, default=VersionMode.REPLACE)
    job_id = models.CharField(max_length=64, blank=True, db_index=True)
    rows = models.BigIntegerField("行数", null=True, blank=True)
    bytes = models.BigIntegerField("サイズ", null=True, blank=True)
    schema = models.JSONField("項目定義", default=dict, blank=True)
    source_name = models.CharField("元ファイル名", max_length=300, blank=True)
    source_sha256 = models.CharField(max_length=64, blank=True)
    note = models.TextField("メモ", blank=True)
    restored_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Reports kept with the version: validation, machine-readability, personal-data screen, ingest options.
    reports = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    committed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "版"
        verbose_name_plural = "版"
        ordering = ["table_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["table", "number"], name="version_number_unique_in_table"),
        ]

    def __str__(self) -> str:
        return f"{self.table} 第{self.number}版"
