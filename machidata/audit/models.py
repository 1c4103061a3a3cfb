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
    # Before seals (release 0.1.0) each event chained the previous one's hash; new events leave it
    # empty and ``hash`` is the SHA-256 of their own content, so writers never wait for each other.
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, db_index=True)

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


class AuditSeal(models.Model):
    """A batch of audit events sealed together, chained to the previous seal.

    ``events_digest`` is the SHA-256 over the ids and hashes of exactly the events with
    ``first_event_id <= id <= last_event_id``; each seal is also appended to a file outside the
    database (``MACHIDATA_AUDIT_SEAL_FILE``), so deleting the newest rows and their seals shows too.
    """

    number = models.PositiveIntegerField("封印番号", unique=True)
    first_event_id = models.BigIntegerField()
    last_event_id = models.BigIntegerField()
    count = models.PositiveIntegerField("件数")
    events_digest = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField("封印日時")

    class Meta:
        verbose_name = "監査ログの封印"
        verbose_name_plural = "監査ログの封印"
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"封印{self.number}（ID {self.first_event_id}〜{self.last_event_id}、{self.count}件）"

    def save(self, *args: object, **kwargs: object) -> None:
        """Only inserts."""
        if self.pk is not None:
            raise RuntimeError("監査ログの封印は変更できません。")
        super().save(*args, **kwargs)  # type: ignore[arg-type,unused-ignore]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        """Seals are never deleted."""
        raise RuntimeError("監査ログの封印は削除できません。")
