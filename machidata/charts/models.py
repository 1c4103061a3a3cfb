"""Charts stored as data: a JSON document (query, visual, meta) owned by a person and their 課."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Sharing(models.TextChoices):
    """Who may see a chart (besides its owner and 管理); always also only if they may read its table."""

    PRIVATE = "private", "自分だけ"
    DEPARTMENT = "department", "所属課で共有"
    STAFF = "staff", "職員全体で共有"
    # 公開 (public) is not a sharing level one picks: it comes only through a 公開申請 walking the publication's
    # 決裁 route (ShareRequest → PublicShare below) and lasts only while every source table is published.


class Chart(models.Model):
    """One chart: the query on a table, how it is drawn, and its title, description and source."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField("題名", max_length=200)
    description = models.TextField("説明", max_length=2000, blank=True)
    source = models.CharField("出典", max_length=300, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="作成者", on_delete=models.PROTECT, related_name="charts"
    )
    # The owner's 課 when the chart was made: "shared with the department" means this 課 (係 included).
    unit = models.ForeignKey(
        "access.Unit",
        verbose_name="所属課",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    table = models.ForeignKey(
        "catalog.Table", verbose_name="表", on_delete=models.CASCADE, related_name="charts"
    )
    # A pinned version (版) number, or None for the latest one at view time.
    version_number = models.PositiveIntegerField("版", null=True, blank=True)
    document = models.JSONField("グラフの定義", default=dict)
    sharing = models.CharField("共有", max_length=12, choices=Sharing.choices, default=Sharing.PRIVATE)
    lock_version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "グラフ"
        verbose_name_plural = "グラフ"
        ordering = ("-updated_at", "-id")

    def __str__(self) -> str:
        return self.title


class Dashboard(models.Model):
    """Charts and text blocks on a grid, with filters applied to every chart whose table has the field."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField("題名", max_length=200)
    description = models.TextField("説明", max_length=2000, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="作成者", on_delete=models.PROTECT, related_name="dashboards"
    )
    unit = models.ForeignKey(
        "access.Unit",
        verbose_name="所属課",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # [{"kind": "chart", "chart": "<uuid>", "width": 6} | {"kind": "text", "text": "…", "width": 12}], in order.
    items = models.JSONField("並べるもの", default=list)
    # [{"column": "区", "kind": "value"} | {"column": "覚知日時", "kind": "date_range"}]
    filters = models.JSONField("ダッシュボードの絞り込み", default=list)
    sharing = models.CharField("共有", max_length=12, choices=Sharing.choices, default=Sharing.PRIVATE)
    lock_version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "ダッシュボード"
        verbose_name_plural = "ダッシュボード"
        ordering = ("-updated_at", "-id")

    def __str__(self) -> str:
        return self.title


class BoundarySet(models.Model):
    """A set of areas the city uploads (町丁・字, 校区, …) for choropleth maps, kept in versions."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField("名前", max_length=100, unique=True)
    description = models.TextField("説明", max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "境界データ"
        verbose_name_plural = "境界データ"
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class BoundaryVersion(models.Model):
    """One uploaded file of a boundary set: features simplified for display, with the keys and the attribution."""

    boundary_set = models.ForeignKey(BoundarySet, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField("版")
    # [{"type": "Feature", "properties": {"code": "…", "name": "…"}, "geometry": {...}}], rings for Vega.
    features = models.JSONField("区域", default=list)
    code_property = models.CharField("コードの属性", max_length=100, blank=True)
    name_property = models.CharField("名前の属性", max_length=100, blank=True)
    attribution = models.CharField("出典・著作権表示", max_length=500)
    source_name = models.CharField("元のファイル名", max_length=255, blank=True)
    points_before = models.PositiveIntegerField("元の頂点数", default=0)
    points_after = models.PositiveIntegerField("簡略化後の頂点数", default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="登録者", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "境界データの版"
        verbose_name_plural = "境界データの版"
        ordering = ("boundary_set", "-number")
        constraints = [
            models.UniqueConstraint(fields=["boundary_set", "number"], name="charts_boundary_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.boundary_set} 第{self.number}版"


# ---- public sharing (公開) of a chart or a dashboard, only through the publication route --------------


class ShareRequestKind(models.TextChoices):
    """What a 公開申請 of the charts room is about."""

    CHART = "chart", "グラフ"
    DASHBOARD = "dashboard", "ダッシュボード"


class ShareRequestStatus(models.TextChoices):
    """Where a 公開申請 of a chart or dashboard stands."""

    PENDING = "pending", "決裁中"
    APPROVED = "approved", "決裁済み"
    RETURNED = "returned", "差戻し"
    REJECTED = "rejected", "却下"
    CANCELLED = "cancelled", "取り下げ"


class ShareDecision(models.TextChoices):
    """What an approver did at a step."""

    APPROVE = "approve", "承認"
    RETURN = "return", "差戻し"
    REJECT = "reject", "却下"


class ShareRequest(models.Model):
    """A 公開申請 of a chart or a dashboard, walking the publication's 決裁 route (課長 → データ戦略課).

    ``snapshot`` is what would be published, taken at filing: the chart document(s), titles, descriptions,
    sources (and a dashboard's grid); ``fingerprint`` is its SHA-256. Every approval takes it again and
    refuses when it changed, so approvers approve exactly what they saw; the last approval freezes it as
    a :class:`PublicShare`. Later edits of the chart never reach the public until a new request is approved.
    """

    kind = models.CharField("種類", max_length=10, choices=ShareRequestKind.choices)
    chart = models.ForeignKey(
        Chart, null=True, blank=True, on_delete=models.CASCADE, related_name="share_requests"
    )
    dashboard = models.ForeignKey(
        Dashboard, null=True, blank=True, on_delete=models.CASCADE, related_name="share_requests"
    )
    # The 課 whose 課長 decides the first step (the chart's or dashboard's 課 when filed).
    unit = models.ForeignKey("access.Unit", on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField("申請の理由・メモ（庁内）", max_length=2000, blank=True)
    snapshot = models.JSONField("公開する内容", default=dict)
    fingerprint = models.CharField("内容の指紋", max_length=64)
    route_name = models.CharField("決裁ルート", max_length=40)
    steps = models.JSONField("決裁の段階", default=list)
    current_step = models.PositiveSmallIntegerField("現在の段階", default=0)
    status = models.CharField(
        "状態", max_length=10, choices=ShareRequestStatus.choices, default=ShareRequestStatus.PENDING
    )
    created_at = models.DateTimeField("申請日時", auto_now_add=True)
    decided_at = models.DateTimeField("決定日時", null=True, blank=True)

    class Meta:
        verbose_name = "グラフ・ダッシュボードの公開申請"
        verbose_name_plural = "グラフ・ダッシュボードの公開申請"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(chart__isnull=False, dashboard__isnull=True, kind="chart")
                           | models.Q(chart__isnull=True, dashboard__isnull=False, kind="dashboard")),
                name="charts_share_request_one_subject",
            )
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"公開申請 #{self.pk}（{self.get_kind_display()}「{self.snapshot.get('title', '')}」）"


class ShareAction(models.Model):
    """One decision at one step of a 公開申請; ``on_behalf_of`` is set for a 代決."""

    request = models.ForeignKey(ShareRequest, on_delete=models.CASCADE, related_name="actions")
    step_index = models.PositiveSmallIntegerField()
    step_key = models.CharField(max_length=40)
    decision = models.CharField("判断", max_length=10, choices=ShareDecision.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    comment = models.TextField("コメント", max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "公開申請の決裁の記録"
        verbose_name_plural = "公開申請の決裁の記録"
        ordering = ["request_id", "id"]

    def __str__(self) -> str:
        return f"#{self.request_id} {self.step_key}: {self.decision}"


class PublicShare(models.Model):
    """A chart or dashboard made public by an approved request: the frozen snapshot, shown only while
    every source table's shown version is published (checked at view time)."""

    kind = models.CharField("種類", max_length=10, choices=ShareRequestKind.choices)
    chart = models.ForeignKey(
        Chart, null=True, blank=True, on_delete=models.CASCADE, related_name="public_shares"
    )
    dashboard = models.ForeignKey(
        Dashboard, null=True, blank=True, on_delete=models.CASCADE, related_name="public_shares"
    )
    request = models.OneToOneField(ShareRequest, on_delete=models.CASCADE, related_name="public")
    snapshot = models.JSONField("公開した内容")
    published_at = models.DateTimeField("公開日時", auto_now_add=True)
    superseded_at = models.DateTimeField("新しい公開に替わった日時", null=True, blank=True)
    withdrawn_at = models.DateTimeField("公開をやめた日時", null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "公開中のグラフ・ダッシュボード"
        verbose_name_plural = "公開中のグラフ・ダッシュボード"
        ordering = ["-published_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["chart"],
                condition=models.Q(
                    chart__isnull=False, superseded_at__isnull=True, withdrawn_at__isnull=True
                ),
                name="charts_one_live_public_chart",
            ),
            models.UniqueConstraint(
                fields=["dashboard"],
                condition=models.Q(
                    dashboard__isnull=False, superseded_at__isnull=True, withdrawn_at__isnull=True
                ),
                name="charts_one_live_public_dashboard",
            ),
        ]

    def __str__(self) -> str:
        return f"公開中: {self.snapshot.get('title', '')}"
