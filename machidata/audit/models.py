"""Append-only audit trail with a hash chain."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One recorded action: who did what to which object, when; chained by hashes so edits show."""

    created_at = models.DateTimeField("日時", db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField("実行者", max_length=150)
    action = models.CharField("操作", max_length=60, db_index=True)
    object_type = models.CharField("対象の種類", max_length=60, blank=True)
    object_id = models.CharField("対象ID", max_length=64, blank=True)
    object_repr = models.CharField("対象", max_length=300, blank=True)
    changes = models.JSONField("内容", default=dict, blank=True)
    request_id = models.CharField("リクエストID", max_length=64, blank=True)
    ip = models.GenericIPAddressField("IPアドレス", null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = "監査ログ"
        verbose_name_plural = "監査ログ"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"

    def save(self, *args: object, **kwargs: object) -> None:
        """Only inserts: an audit event is never changed once written."""
        if self.pk is not None:
            raise RuntimeError("監査ログは変更できません。")
        super().save(*args, **kwargs)  # type: ignore[arg-type,unused-ignore]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        """Audit events are never deleted."""
        raise RuntimeError("監査ログは削除できません。")
