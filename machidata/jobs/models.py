"""The Job table: one row per piece of background work, with progress, heartbeat and cancel."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class JobStatus(models.TextChoices):
    """Where a job is in its life."""

    QUEUED = "queued", "待機中"
    RUNNING = "running", "実行中"
    SUCCEEDED = "succeeded", "完了"
    FAILED = "failed", "失敗"
    CANCELLED = "cancelled", "取消"


ACTIVE_STATUSES = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})


class ProgressUnit(models.TextChoices):
    """What the progress counts."""

    ROWS = "rows", "行"
    BYTES = "bytes", "バイト"
    ITEMS = "items", "件"


class Job(models.Model):
    """A piece of background work (an ingest, an export, a scheduled import) and how far it got."""

    kind = models.CharField("種類", max_length=100, db_index=True)
    title = models.CharField("処理名", max_length=200)
    params = models.JSONField("パラメータ", default=dict, blank=True)
    status = models.CharField(
        "状態", max_length=12, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="依頼者",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
    )
    unit = models.ForeignKey(
        "access.Unit",
        verbose_name="所管課",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
    )
    progress_done = models.BigIntegerField("処理済み", default=0)
    progress_total = models.BigIntegerField("全体", null=True, blank=True)
    progress_unit = models.CharField(
        "単位", max_length=10, choices=ProgressUnit.choices, default=ProgressUnit.ITEMS
    )
    phase = models.CharField("段階", max_length=200, blank=True)
    heartbeat_at = models.DateTimeField("最終応答", null=True, blank=True)
    cancel_requested = models.BooleanField("取消依頼", default=False)
    result = models.JSONField("結果", null=True, blank=True)
    error = models.TextField("エラー", blank=True)
    created_at = models.DateTimeField("登録日時", default=timezone.now, db_index=True)
    started_at = models.DateTimeField("開始日時", null=True, blank=True)
    finished_at = models.DateTimeField("終了日時", null=True, blank=True)
    worker_pid = models.IntegerField("処理プロセス番号", null=True, blank=True)
    worker_host = models.CharField("処理ホスト", max_length=255, blank=True)
    attempts = models.PositiveIntegerField("実行回数", default=0)

    class Meta:
        verbose_name = "処理"
        verbose_name_plural = "処理"
        ordering = ["-created_at", "-id"]
        indexes = [
            # stale-job recovery looks for running jobs by heartbeat
            models.Index(fields=["status", "heartbeat_at"], name="job_status_heartbeat"),
            models.Index(fields=["created_by", "-created_at"], name="job_creator_created"),
        ]

    def __str__(self) -> str:
        return f"{self.title}（{self.get_status_display()}）"

    @property
    def is_active(self) -> bool:
        """Queued or running: the page keeps polling and offers to cancel."""
        return self.status in ACTIVE_STATUSES

    @property
    def percent(self) -> int | None:
        """Progress in whole percent, or None when the total is not known."""
        if not self.progress_total or self.progress_total <= 0:
            return None
        return max(0, min(100, int(self.progress_done * 100 / self.progress_total)))
