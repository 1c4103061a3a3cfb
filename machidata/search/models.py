"""Search's own records: the admin-edited synonym list and the outbox of index updates."""

from __future__ import annotations

from django.db import models


class SynonymGroup(models.Model):
    """A group of words staff use for the same thing (保育園, 保育所), searched for each other."""

    words = models.CharField(
        "同じ意味の言葉",
        max_length=500,
        help_text="読点（、）またはカンマで区切って2語以上（例: 保育園、保育所）",
    )
    note = models.CharField("メモ", max_length=200, blank=True)
    enabled = models.BooleanField("使う", default=True)
    updated_at = models.DateTimeField("更新日時", auto_now=True)

    class Meta:
        verbose_name = "同義語"
        verbose_name_plural = "同義語"
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.words


class IndexPending(models.Model):
    """Outbox: a dataset whose index entry must be rewritten (written in the catalog change's transaction).

    The index-update job drains these rows after it has committed the index, so a crash at any
    point leaves the row in place and the next run (or the every-minute schedule) applies it.
    """

    dataset_id = models.BigIntegerField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "検索索引の更新待ち"
        verbose_name_plural = "検索索引の更新待ち"

    def __str__(self) -> str:
        return f"dataset {self.dataset_id}"
