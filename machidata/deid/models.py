"""仮名加工・匿名加工: a plan (what to do with which columns of a periodic extract) and its runs.

The processing kind is the target dataset's 個人情報の区分 (``catalog.Dataset.personal_data``:
仮名加工情報 or 匿名加工情報), which the access policy and the publication gates already read; the plan
copies it in ``kind`` so a run can refuse a dataset whose class was changed since.

A run keeps the 加工方法等情報 (``record``: columns, methods, thresholds, the key's id, never the key
and never a value) in the database, apart from the lake; the HMAC key of a 仮名加工 run lives in a
file under ``MACHIDATA_HOME/keys/deid`` (see :mod:`machidata.deid.keys`). Both are shown to the privacy
officer only (``access.policy.is_privacy_officer``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from machidata.catalog.models import Dataset, TableVersion


class Kind(models.TextChoices):
    """What the plan produces."""

    PSEUDONYMISED = "pseudonymised", "仮名加工（庁内の分析用）"
    ANONYMISED = "anonymised", "匿名加工（公開・提供用）"


class RunStatus(models.TextChoices):
    """What became of one extract."""

    DONE = "done", "完了"
    REFUSED = "refused", "受け付けず（何も保存していません）"


class DeidPlan(models.Model):
    """How one kind of extract is processed into one table of a 仮名加工 / 匿名加工 dataset.

    ``identifiers``: direct identifiers (氏名, 宛名番号 …), replaced by keyed pseudonyms (仮名加工) or
    removed (匿名加工). ``quasi``: ``[{"column", "method"}]`` quasi-identifiers and how each is made
    coarser (see :data:`machidata.deid.pipeline.METHODS`). ``drop``: other columns removed
    (個人識別符号 such as 被保険者番号, free text). ``top_code``: ``[{"column", "cap"}]`` numbers above
    ``cap`` become ``cap`` (特異な記述). ``k``: every combination of the quasi-identifiers must be
    shared by at least ``k`` rows.
    """

    dataset = models.ForeignKey(
        Dataset, verbose_name="保存先のデータセット", on_delete=models.PROTECT, related_name="deid_plans"
    )
    table_name = models.SlugField("表の名前", max_length=60)
    title = models.CharField("加工の名前", max_length=200)
    kind = models.CharField("加工の種類", max_length=20, choices=Kind.choices)
    source_dataset = models.ForeignKey(
        Dataset,
        verbose_name="元データ（業務システムの台帳）",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="元の個人情報のデータセット。仮名加工の表とは結合できなくなります。",
    )
    identifiers = models.JSONField("識別子の列", default=list)
    quasi = models.JSONField("準識別子の列と粗くする方法", default=list)
    drop = models.JSONField("削除する列", default=list, blank=True)
    top_code = models.JSONField("上限でまとめる列", default=list, blank=True)
    unusual_note = models.TextField("特異な値の扱い（上限でまとめない理由）", blank=True)
    k = models.PositiveSmallIntegerField("k（同じ組合せの最少人数）", default=5)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("作成日時", auto_now_add=True)
    updated_at = models.DateTimeField("更新日時", auto_now=True)

    class Meta:
        verbose_name = "加工の設定"
        verbose_name_plural = "加工の設定"
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "table_name"], name="deid_plan_one_per_table"),
        ]

    def __str__(self) -> str:
        return f"{self.title}（{self.get_kind_display()}）"


class DeidRun(models.Model):
    """One extract through a plan: refused whole (nothing stored) or committed as one table version."""

    plan = models.ForeignKey(DeidPlan, on_delete=models.PROTECT, related_name="runs")
    status = models.CharField("結果", max_length=10, choices=RunStatus.choices)
    as_of = models.DateField("基準日")
    source_name = models.CharField("元ファイル名", max_length=300)
    source_sha256 = models.CharField("元ファイルのSHA-256", max_length=64, blank=True)
    rows_in = models.PositiveIntegerField("元の行数", default=0)
    rows_out = models.PositiveIntegerField("保存した行数", default=0)
    k_found = models.PositiveIntegerField("確認したk", null=True, blank=True)
    key_id = models.CharField("鍵の番号", max_length=64, blank=True)
    version = models.ForeignKey(
        TableVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    checks = models.JSONField("確認の結果", default=list)
    record = models.JSONField("加工方法等情報", default=dict)
    message = models.TextField("受け付けなかった理由", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("実行日時", auto_now_add=True)

    class Meta:
        verbose_name = "加工の実行"
        verbose_name_plural = "加工の実行"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.plan.title} {self.as_of:%Y-%m-%d}（{self.get_status_display()}）"

    @property
    def complete(self) -> bool:
        """Whether every check passed (for 匿名加工: every criterion of 施行規則第62条 is recorded as met)."""
        return (
            self.status == RunStatus.DONE and bool(self.checks) and all(c.get("passed") for c in self.checks)
        )
