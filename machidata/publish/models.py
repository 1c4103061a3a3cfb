"""Publication requests (公開申請・非公開化), their 決裁 steps, gate overrides, published versions and
the aggregated-table declarations used by suppression (課長・代決者 designations live in ``access``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from machidata.catalog.models import Dataset, Licence, Table, TableVersion


class RequestKind(models.TextChoices):
    """Publishing versions or withdrawing publication."""

    PUBLISH = "publish", "公開申請"
    WITHDRAW = "withdraw", "非公開化の申請"


class RequestStatus(models.TextChoices):
    """Where a request stands."""

    PENDING = "pending", "申請中"
    APPROVED = "approved", "決裁済み"
    RETURNED = "returned", "差戻し"
    REJECTED = "rejected", "却下"
    CANCELLED = "cancelled", "取り下げ"


class PublicationRequest(models.Model):
    """A 公開申請 (or 非公開化 request) of a dataset, pinned to table versions, walking a 決裁 route."""

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="publication_requests")
    kind = models.CharField("種別", max_length=10, choices=RequestKind.choices, default=RequestKind.PUBLISH)
    route_name = models.CharField("決裁ルート", max_length=40)
    # The resolved route at filing time: [{key, label, who, unit_id}] (later setting changes do not move it).
    steps = models.JSONField("決裁の段階", default=list)
    current_step = models.PositiveSmallIntegerField("現在の段階", default=0)
    status = models.CharField(
        "状態", max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    licence = models.ForeignKey(
        Licence, verbose_name="ライセンス", null=True, blank=True, on_delete=models.PROTECT
    )
    attribution = models.CharField("出典の表記", max_length=500, blank=True)
    note = models.TextField("備考", blank=True)
    # Gate results and the fingerprint of what they were computed on (versions, reports, dataset fields).
    gate_results = models.JSONField("確認結果", default=list, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True)
    checked_at = models.DateTimeField("確認日時", null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("申請日時", auto_now_add=True)
    decided_at = models.DateTimeField("決裁日時", null=True, blank=True)

    class Meta:
        verbose_name = "公開申請"
        verbose_name_plural = "公開申請"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} {self.dataset}"


class RequestVersion(models.Model):
    """One table version a request asks to publish (exactly these are published on approval)."""

    request = models.ForeignKey(PublicationRequest, on_delete=models.CASCADE, related_name="versions")
    version = models.ForeignKey(TableVersion, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = "申請した版"
        verbose_name_plural = "申請した版"
        constraints = [models.UniqueConstraint(fields=["request", "version"], name="request_version_unique")]

    def __str__(self) -> str:
        return f"#{self.request_id}: {self.version}"


class Decision(models.TextChoices):
    """What an approver did at a step."""

    APPROVE = "approve", "承認"
    RETURN = "return", "差戻し"
    REJECT = "reject", "却下"


class ApprovalAction(models.Model):
    """One decision at one step; ``on_behalf_of`` is set when a deputy decided (代決)."""

    request = models.ForeignKey(PublicationRequest, on_delete=models.CASCADE, related_name="actions")
    step_index = models.PositiveSmallIntegerField()
    step_key = models.CharField(max_length=40)
    decision = models.CharField("判断", max_length=10, choices=Decision.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    comment = models.TextField("コメント", blank=True)
    fingerprint = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "決裁の記録"
        verbose_name_plural = "決裁の記録"
        ordering = ["request_id", "id"]

    def __str__(self) -> str:
        return f"#{self.request_id} {self.step_key}: {self.get_decision_display()}"


class GateOverride(models.Model):
    """A gate let through on purpose: who decided, why (required), for which table (blank = dataset-wide)."""

    request = models.ForeignKey(PublicationRequest, on_delete=models.CASCADE, related_name="overrides")
    gate = models.CharField("確認項目", max_length=40)
    table = models.ForeignKey(Table, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    reason = models.TextField("理由")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "確認項目の例外承認"
        verbose_name_plural = "確認項目の例外承認"

    def __str__(self) -> str:
        return f"#{self.request_id} {self.gate}"


class PublishedVersion(models.Model):
    """A table version made public by an approved request; withdrawn by a 非公開化 or a later approval never."""

    table = models.ForeignKey(Table, on_delete=models.PROTECT, related_name="published_versions")
    version = models.ForeignKey(TableVersion, on_delete=models.PROTECT, related_name="+")
    request = models.ForeignKey(PublicationRequest, on_delete=models.PROTECT, related_name="published")
    published_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        PublicationRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="withdrew"
    )

    class Meta:
        verbose_name = "公開中の版"
        verbose_name_plural = "公開中の版"
        ordering = ["table_id", "-published_at"]
        constraints = [models.UniqueConstraint(fields=["table", "version"], name="published_version_unique")]

    def __str__(self) -> str:
        return str(self.version)


class AggregateSpec(models.Model):
    """A table declared as aggregated (統計表): wide or long, its totals and 小計, and (optionally) a
    stricter small-count threshold than its dataset's."""

    table = models.OneToOneField(Table, on_delete=models.CASCADE, related_name="aggregate_spec")
    dimension = models.CharField("区分の列", max_length=200)
    count_columns = models.JSONField("件数の列", default=list, blank=True)
    # Long format (縦長): the column naming the column 区分, and the count column.
    column_dimension = models.CharField("列の区分の列（縦長の表）", max_length=200, blank=True)
    value_column = models.CharField("件数の列（縦長の表）", max_length=200, blank=True)
    # 小計: {小計の区分名: [内訳の区分名, ...]} for rows, and the same for columns.
    row_subtotals = models.JSONField("小計の行", default=dict, blank=True)
    column_subtotals = models.JSONField("小計の列", default=dict, blank=True)
    total_column = models.CharField("合計の列", max_length=200, blank=True)
    total_row_label = models.CharField("合計の行の区分名", max_length=200, blank=True)
    # Blank: the dataset's threshold (:class:`SmallCountSetting`); set: a stricter one for this table only.
    threshold = models.PositiveIntegerField(
        "秘匿の基準（この値未満を秘匿）", null=True, blank=True, help_text="空のときはデータセットの基準"
    )
    protection = models.PositiveIntegerField("保護幅", default=0, help_text="0 のときは基準値と同じ")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "統計表の設定"
        verbose_name_plural = "統計表の設定"
        constraints = [
            models.CheckConstraint(condition=Q(threshold__gte=1), name="aggregate_threshold_at_least_1")
        ]

    def __str__(self) -> str:
        return f"{self.table} の統計表設定"


DEFAULT_THRESHOLD = 10


class SmallCountSetting(models.Model):
    """A dataset's small-count threshold (小さい数の基準, default 10): cells 1 ≤ v < threshold are hidden."""

    dataset = models.OneToOneField(Dataset, on_delete=models.CASCADE, related_name="small_count_setting")
    threshold = models.PositiveIntegerField("秘匿の基準（この値未満を秘匿）", default=DEFAULT_THRESHOLD)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "小さい数の基準"
        verbose_name_plural = "小さい数の基準"
        constraints = [
            models.CheckConstraint(condition=Q(threshold__gte=1), name="small_count_threshold_at_least_1")
        ]

    def __str__(self) -> str:
        return f"{self.dataset} の小さい数の基準 {self.threshold}"


class SuppressionRun(models.Model):
    """One run of the suppression tool: the version it read, the version it wrote, and the LP audit."""

    table = models.ForeignKey(Table, on_delete=models.CASCADE, related_name="+")
    source_version = models.ForeignKey(TableVersion, on_delete=models.PROTECT, related_name="+")
    result_version = models.ForeignKey(TableVersion, null=True, on_delete=models.PROTECT, related_name="+")
    report = models.JSONField("監査結果", default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "秘匿処理の記録"
        verbose_name_plural = "秘匿処理の記録"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.table} 秘匿処理 #{self.pk}"
