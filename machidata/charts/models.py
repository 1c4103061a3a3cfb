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
    # 公開 (public) comes only through the publication route (公開申請), a later issue.


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
