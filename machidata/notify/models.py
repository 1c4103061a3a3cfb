"""Notifications (お知らせ): one row per recipient and message."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Notification(models.Model):
    """A message to one member of staff, with a link to what it is about; unread until read_at is set."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="宛先", on_delete=models.CASCADE, related_name="notifications"
    )
    message = models.CharField("内容", max_length=500)
    link = models.CharField("リンク", max_length=500, blank=True)
    created_at = models.DateTimeField("日時", default=timezone.now, db_index=True)
    read_at = models.DateTimeField("既読日時", null=True, blank=True)

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
