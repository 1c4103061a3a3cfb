"""Data requests (データの要望): what a member of staff could not find, routed to a 課 and answered."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class RequestStatus(models.TextChoices):
    """Where a request stands: 受付 → 担当課へ回付 → 回答済み, or 取り下げ by the requester."""

    RECEIVED = "received", "受付"
    ROUTED = "routed", "担当課へ回付"
    ANSWERED = "answered", "回答済み"
    WITHDRAWN = "withdrawn", "取り下げ"


class AnswerKind(models.TextChoices):
    """The department's answer."""

    EXISTS = "exists", "データがあります"
    WILL_CREATE = "will_create", "作成します"
    CANNOT_PROVIDE = "cannot_provide", "提供できません"


class DataRequest(models.Model):
    """A request for data a member of staff could not find in the catalog."""

    title = models.CharField("欲しいデータ", max_length=200)
    description = models.TextField("内容の詳細", max_length=5000)
    purpose = models.TextField("利用目的", max_length=2000)
    period = models.CharField("必要な期間", max_length=200, blank=True)
    suggested_unit = models.ForeignKey(
        "access.Unit",
        verbose_name="持っていそうな課",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    search_query = models.CharField("見つからなかった検索語", max_length=200, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="依頼者",
        on_delete=models.PROTECT,
        related_name="data_requests",
    )
    # The requester's 課 when the request was made (staff move every April; the KPI counts by then).
    requester_unit = models.ForeignKey(
        "access.Unit",
        verbose_name="依頼者の所属",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status = models.CharField(
        "状態", max_length=12, choices=RequestStatus.choices, default=RequestStatus.RECEIVED, db_index=True
    )
    routed_unit = models.ForeignKey(
        "access.Unit",
        verbose_name="担当課",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="routed_data_requests",
    )
    routed_at = models.DateTimeField("回付日時", null=True, blank=True)
    answer_kind = models.CharField("回答の種類", max_length=20, choices=AnswerKind.choices, blank=True)
    answer_text = models.TextField("回答", max_length=5000, blank=True)
    answer_dataset = models.ForeignKey(
        "catalog.Dataset",
        verbose_name="該当するデータセット",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    answer_expected_on = models.DateField("作成の見込み日", null=True, blank=True)
    answered_at = models.DateTimeField("回答日時", null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="回答者",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    withdrawn_at = models.DateTimeField("取り下げ日時", null=True, blank=True)
    created_at = models.DateTimeField("受付日時", default=timezone.now, db_index=True)
    updated_at = models.DateTimeField("更新日時", auto_now=True)

    class Meta:
        verbose_name = "データの要望"
        verbose_name_plural = "データの要望"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"要望{self.pk}: {self.title}"

    @property
    def is_open(self) -> bool:
        """Still waiting for routing or an answer."""
        return self.status in {RequestStatus.RECEIVED, RequestStatus.ROUTED}


class EventKind(models.TextChoices):
    """What happened on a request (its timeline)."""

    CREATED = "created", "受付"
    ROUTED = "routed", "担当課へ回付"
    ANSWERED = "answered", "回答"
    WITHDRAWN = "withdrawn", "取り下げ"
    COMMENT = "comment", "コメント"


class DataRequestEvent(models.Model):
    """One entry of a request's timeline: a status change or a comment."""

    request = models.ForeignKey(DataRequest, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField("種類", max_length=12, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="操作者",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField("操作者の表示名", max_length=200, blank=True)
    body = models.TextField("本文", max_length=5000, blank=True)
    unit = models.ForeignKey(
        "access.Unit",
        verbose_name="回付先",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status_from = models.CharField("変更前の状態", max_length=12, choices=RequestStatus.choices, blank=True)
    status_to = models.CharField("変更後の状態", max_length=12, choices=RequestStatus.choices, blank=True)
    created_at = models.DateTimeField("日時", default=timezone.now)

    class Meta:
        verbose_name = "データの要望の経過"
        verbose_name_plural = "データの要望の経過"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.created_at:%Y-%m-%d %H:%M})"
