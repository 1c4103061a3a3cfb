"""Notifications (お知らせ): one row per recipient and message."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class EmailStatus(models.TextChoices):
    """Where a notice's e-mail stands."""

    NONE = "none", "送らない"
    PENDING = "pending", "送信待ち"
    SENT = "sent", "送信済み"
    FAILED = "failed", "送れませんでした"


class EmailMode(models.TextChoices):
    """How a member of staff wants notices by e-mail."""

    IMMEDIATE = "immediate", "すぐに1通ずつ"
    DIGEST = "digest", "1日1回まとめて（毎朝）"
    OFF = "off", "メールでは受け取らない"


class Notification(models.Model):
    """A message to one member of staff, with a link to what it is about; unread until read_at is set."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="宛先", on_delete=models.CASCADE, related_name="notifications"
    )
    message = models.CharField("内容", max_length=500)
    link = models.CharField("リンク", max_length=500, blank=True)
    created_at = models.DateTimeField("日時", default=timezone.now, db_index=True)
    read_at = models.DateTimeField("既読日時", null=True, blank=True)
    # E-mail of this notice: none (not wanted), pending (to send now or in the digest), sent, failed (given up).
    email_status = models.CharField(
        "メール", max_length=8, choices=EmailStatus.choices, default=EmailStatus.NONE, db_index=True
    )
    email_attempts = models.PositiveSmallIntegerField("メール送信の試行回数", default=0)
    emailed_at = models.DateTimeField("メール送信日時", null=True, blank=True)
    email_error = models.CharField("メール送信の失敗理由", max_length=500, blank=True)

    class Meta:
        verbose_name = "お知らせ"
        verbose_name_plural = "お知らせ"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notify_recipient_unread")]

    def __str__(self) -> str:
        return self.message[:80]

    @property
    def is_unread(self) -> bool:
        """Whether the recipient has not seen it yet."""
        return self.read_at is None


class EmailPreference(models.Model):
    """A member of staff's choice for notice e-mails (no row: すぐに1通ずつ)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_preference"
    )
    mode = models.CharField("メールの受け取り方", max_length=10, choices=EmailMode.choices)
    updated_at = models.DateTimeField("更新日時", auto_now=True)

    class Meta:
        verbose_name = "メールの受け取り方"
        verbose_name_plural = "メールの受け取り方"

    def __str__(self) -> str:
        return f"{self.user}: {self.get_mode_display()}"
