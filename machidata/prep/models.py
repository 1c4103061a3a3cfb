"""Recipes (加工の手順) that derive tables, code lists (コード表) and the shared item dictionary (項目の辞書)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class CodeList(models.Model):
    """A managed list of codes and names (e.g. 全国地方公共団体コード → 名称), shared across departments."""

    slug = models.SlugField("識別名", max_length=100, unique=True, help_text="半角英数字（手順で使う名前）")
    title = models.CharField("名前", max_length=200)
    description = models.TextField("説明", blank=True)
    source = models.TextField("出典", blank=True, help_text="どこから取ったか（出典・利用条件）")
    unit = models.ForeignKey(
        "access.Unit",
        verbose_name="管理する課",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "コード表"
        verbose_name_plural = "コード表"
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.title


class CodeEntry(models.Model):
    """One code of a code list with its name and the dates it is valid."""

    codelist = models.ForeignKey(CodeList, on_delete=models.CASCADE, related_name="entries")
    code = models.CharField("コード", max_length=100)
    name = models.CharField("名称", max_length=300)
    valid_from = models.DateField("適用開始日", null=True, blank=True)
    valid_to = models.DateField("適用終了日", null=True, blank=True)
    note = models.CharField("備考", max_length=300, blank=True)

    class Meta:
        verbose_name = "コード"
        verbose_name_plural = "コード"
        ordering = ["codelist_id", "code", "valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["codelist", "code", "valid_from"], name="code_unique_in_list_and_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ItemDefinition(models.Model):
    """A shared item definition (庁内で共有すべきデータ項目の定義) that table schemas can refer to."""

    slug = models.SlugField("識別名", max_length=100, unique=True)
    title = models.CharField("項目名", max_length=200)
    description = models.TextField("定義", blank=True)
    type = models.CharField("型", max_length=20, default="string")
    format = models.CharField(
        "書き方", max_length=200, blank=True, help_text="例: 6桁の数字（検査数字を含む）"
    )
    example = models.CharField("例", max_length=200, blank=True)
    codelist = models.ForeignKey(
        CodeList,
        verbose_name="コード表",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="items",
    )
    source = models.TextField("出典", blank=True)

    class Meta:
        verbose_name = "共通項目"
        verbose_name_plural = "共通項目"
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.title


class RunStatus(models.TextChoices):
    """The outcome of a recipe's last run."""

    NEVER = "never", "未実行"
    QUEUED = "queued", "実行待ち"
    OK = "ok", "成功"
    FAILED = "failed", "失敗"


class Recipe(models.Model):
    """A derived table's recipe: sources and steps as JSON (engine.recipes.Recipe), owned by a 課."""

    title = models.CharField("名前", max_length=200)
    description = models.TextField("説明", blank=True)
    unit = models.ForeignKey("access.Unit", verbose_name="所管課", on_delete=models.PROTECT, related_name="+")
    dataset = models.ForeignKey(
        "catalog.Dataset",
        verbose_name="作った表を入れるデータセット",
        on_delete=models.PROTECT,
        related_name="recipes",
    )
    table_name = models.SlugField("作る表の名前", max_length=100)
    output_table = models.ForeignKey(
        "catalog.Table", null=True, blank=True, on_delete=models.SET_NULL, related_name="recipes"
    )
    definition = models.JSONField("手順", default=dict)
    auto_rerun = models.BooleanField("元の表が更新されたら作り直す", default=True)
    lock_version = models.PositiveIntegerField(default=0)  # optimistic locking of edits
    status = models.CharField("状態", max_length=10, choices=RunStatus.choices, default=RunStatus.NEVER)
    last_error = models.TextField("最後のエラー", blank=True)
    last_steps = models.JSONField("各手順の行数", default=list, blank=True)
    last_run_at = models.DateTimeField("最後の実行", null=True, blank=True)
    certified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    certified_at = models.DateTimeField("認定日時", null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "加工の手順"
        verbose_name_plural = "加工の手順"
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.title
