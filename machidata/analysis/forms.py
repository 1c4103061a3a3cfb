"""The analysis form: a readable table, a design and the columns, in plain Japanese."""

from __future__ import annotations

from typing import Any

from django import forms

from machidata.analysis.models import Design

GRAINS = [("day", "日"), ("hour", "時間"), ("month", "月"), ("year", "年")]


class AnalysisForm(forms.Form):
    title = forms.CharField(label="題名", max_length=200)
    table = forms.TypedChoiceField(label="表", coerce=int, choices=[])
    design = forms.ChoiceField(label="分析の方法", choices=Design.choices)
    time = forms.CharField(label="時間の列", max_length=200, help_text="日付・日時・年の列の名前")
    grain = forms.ChoiceField(
        label="時間の単位", choices=GRAINS, help_text="この単位で集計してから分析します"
    )
    outcome = forms.CharField(
        label="成果指標の列",
        max_length=200,
        required=False,
        help_text="合計する数値の列。空欄なら行数（件数）を数えます",
    )
    unit = forms.CharField(
        label="単位の列",
        max_length=200,
        required=False,
        help_text="区・施設などの列（差の差分析・合成コントロール法で必要）",
    )
    treated_units = forms.CharField(
        label="介入を受けた単位", max_length=500, required=False, help_text="カンマ区切り（例：中央区,東区）"
    )
    intervention = forms.CharField(
        label="介入の時点", max_length=50, required=False, help_text="例：2024-04-01、年単位なら 2024"
    )
    horizon = forms.IntegerField(
        label="予測する期間の数", required=False, min_value=1, help_text="予測のときだけ"
    )

    def spec(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            k: data.get(k)
            for k in (
                "design",
                "time",
                "grain",
                "outcome",
                "unit",
                "treated_units",
                "intervention",
                "horizon",
            )
        }
