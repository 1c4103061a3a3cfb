"""A saved analysis: what was asked (spec), on which data (table and version), what came out (result), by whom."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Design(models.TextChoices):
    BEFORE_AFTER = "before_after", "介入前後の比較"
    DID = "did_twfe", "差の差分析（二方向固定効果）"
    DID_2X2 = "did_2x2", "差の差分析（2群×2期間）"
    DID_STAGGERED = "did_staggered", "差の差分析（介入の時期が単位ごとに違う）"
    ITS = "its", "中断時系列分析"
    SYNTH = "synthetic_control", "合成コントロール法"
    FORECAST = "forecast", "需要の予測"


class Status(models.TextChoices):
    RUNNING = "running", "実行中"
    DONE = "done", "完了"
    FAILED = "failed", "実行できませんでした"


class Analysis(models.Model):
    """One run of one design on one catalog table version; the result JSON is the estimator's ``to_dict()``."""

    title = models.CharField("題名", max_length=200)
    design = models.CharField("分析の方法", max_length=40, choices=Design.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="作成者", on_delete=models.PROTECT, related_name="+"
    )
    table = models.ForeignKey(
        "catalog.Table", verbose_name="表", on_delete=models.PROTECT, related_name="analyses"
    )
    table_version = models.ForeignKey(
        "catalog.TableVersion",
        verbose_name="表の版",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    spec = models.JSONField("指定", default=dict, help_text="列・介入時点などの指定（JSON）")
    result = models.JSONField("結果", default=dict, blank=True)
    library_versions = models.JSONField("ライブラリの版", default=dict, blank=True)
    status = models.CharField("状態", max_length=20, choices=Status.choices, default=Status.RUNNING)
    error = models.TextField("実行できなかった理由", blank=True)
    job = models.ForeignKey(
        "jobs.Job", verbose_name="ジョブ", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("作成日時", auto_now_add=True)
    updated_at = models.DateTimeField("更新日時", auto_now=True)

    class Meta:
        verbose_name = "分析"
        verbose_name_plural = "分析"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title
