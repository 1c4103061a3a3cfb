"""A catalog table declared to be one standard dataset, with the owner's confirmed column mapping."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class StandardDeclaration(models.Model):
    """「この表は推奨データセット〇〇です」: the standard's code and the mapping item → column.

    The mapping holds only what the data owner confirmed (suggestions are never saved by themselves).
    """

    table = models.OneToOneField(
        "catalog.Table", verbose_name="表", on_delete=models.CASCADE, related_name="standard_declaration"
    )
    standard = models.CharField("標準データセット", max_length=60)
    mapping = models.JSONField("項目と列の対応", default=dict, blank=True)
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="宣言した人",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField("宣言日時", auto_now_add=True)
    updated_at = models.DateTimeField("更新日時", auto_now=True)

    class Meta:
        verbose_name = "標準データセットの宣言"
        verbose_name_plural = "標準データセットの宣言"

    def __str__(self) -> str:
        return f"{self.table_id}: {self.standard}"
