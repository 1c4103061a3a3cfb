"""Surveys, their rounds (one Forms export each), the round's questions and the responses.

Answers are kept as the raw cell values of the export (a JSON list aligned with the round's question
positions), not parsed: the owner declares the question types and options after the import, and
changing them re-reads the same raw values. メール and 名前 of the export are never stored.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from machidata.access.models import Unit


class QuestionKind(models.TextChoices):
    """How a question's answers are read."""

    SINGLE = "single", "単一選択"
    MULTI = "multi", "複数選択"
    NUMBER = "number", "数値"
    TEXT = "text", "自由記述"


class RoundStatus(models.TextChoices):
    """Whether the owner has confirmed the question types and options."""

    DRAFT = "draft", "質問の確認待ち"
    CONFIRMED = "confirmed", "確定"


class Survey(models.Model):
    """A survey run again and again (e.g. 職員アンケート), owned by one 課."""

    title = models.CharField("調査名", max_length=200)
    description = models.TextField("説明", blank=True)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name="所管課")
    is_synthetic = models.BooleanField("合成データ", default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "アンケート"
        verbose_name_plural = "アンケート"
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return self.title


class Round(models.Model):
    """One round (回) of a survey: one Forms export, with its own question list."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="rounds")
    label = models.CharField("回の名前", max_length=60)  # e.g. 2023年度
    fielded_on = models.DateField("実施日", null=True, blank=True)
    source_name = models.CharField("元のファイル名", max_length=255, blank=True)
    source_sha256 = models.CharField(max_length=64, blank=True)
    respondents = models.PositiveIntegerField("回答数", default=0)
    status = models.CharField("状態", max_length=12, choices=RoundStatus.choices, default=RoundStatus.DRAFT)
    # {question position (str): {option: known population count}}: one margin = post-stratification,
    # two or more = raking (see weighting.py).
    weight_targets: models.JSONField[Any, Any] = models.JSONField("重み付けの目標", default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "アンケートの回"
        verbose_name_plural = "アンケートの回"
        ordering = ("survey", "created_at", "id")
        constraints = [models.UniqueConstraint(fields=["survey", "label"], name="surveys_round_unique_label")]

    def __str__(self) -> str:
        return f"{self.survey.title}（{self.label}）"


class Question(models.Model):
    """One question (one column of the export) of one round."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField("順番")
    text = models.TextField("質問文")
    kind = models.CharField("種類", max_length=10, choices=QuestionKind.choices)
    guessed_kind = models.CharField("推定した種類", max_length=10, choices=QuestionKind.choices)
    options: models.JSONField[Any, Any] = models.JSONField("選択肢", default=list, blank=True)

    class Meta:
        verbose_name = "質問"
        verbose_name_plural = "質問"
        ordering = ("round", "position")
        constraints = [
            models.UniqueConstraint(fields=["round", "position"], name="surveys_question_unique_position")
        ]

    def __str__(self) -> str:
        return self.text[:60]

    @property
    def is_choice(self) -> bool:
        """Single- or multi-select."""
        return self.kind in {QuestionKind.SINGLE, QuestionKind.MULTI}


class Response(models.Model):
    """One respondent's answers: raw cell values aligned with the round's question positions."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="responses")
    response_id = models.CharField("ID", max_length=40)
    started_at = models.DateTimeField("開始時刻", null=True, blank=True)
    completed_at = models.DateTimeField("完了時刻", null=True, blank=True)
    answers: models.JSONField[Any, Any] = models.JSONField(default=list)

    class Meta:
        verbose_name = "回答"
        verbose_name_plural = "回答"
        ordering = ("round", "id")
        constraints = [
            models.UniqueConstraint(fields=["round", "response_id"], name="surveys_response_unique_id")
        ]

    def __str__(self) -> str:
        return f"{self.round_id}:{self.response_id}"
