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
        label="介入を受けた単位",
        max_length=500,
        required=False,
        help_text="カンマ区切り（例：中央区,東区）。介入の時期が単位ごとに違うときは 中央区=2024-04-01, 東区=2024-10-01",
    )
    only_units = forms.CharField(
        label="使う単位",
        max_length=500,
        required=False,
        help_text="この単位の行だけを使います（カンマ区切り。例：中央区）。前後比較・中断時系列分析では合計して1本の系列にします",
    )
    intervention = forms.CharField(
        label="介入の時点", max_length=50, required=False, help_text="例：2024-04-01、年単位なら 2024"
    )
    horizon = forms.IntegerField(
        label="予測する期間の数", required=False, min_value=1, help_text="予測のときだけ"
    )
    since = forms.DateField(
        label="この日から", required=False, help_text="使う期間を絞るとき（例：2024-04-01）"
    )
    until = forms.DateField(label="この日の前まで", required=False, help_text="この日は含みません")

    def spec(self) -> dict[str, Any]:
        data = self.cleaned_data
        keys = (
            "design",
            "time",
            "grain",
            "outcome",
            "unit",
            "treated_units",
            "only_units",
            "intervention",
            "horizon",
        )
        spec: dict[str, Any] = {k: data.get(k) for k in keys}
        for key in ("since", "until"):
            spec[key] = data[key].isoformat() if data.get(key) else None
        return spec


class SampleSizeForm(forms.Form):
    """Sample size for a planned randomised trial: a difference of means or of rates."""

    kind = forms.ChoiceField(
        label="比べるもの",
        choices=[("means", "平均（例：回答までの日数）"), ("proportions", "割合（例：回答率）")],
    )
    effect_size = forms.FloatField(
        label="効果の大きさ（平均のとき）", required=False, help_text="標準化した差。0.2 小、0.5 中、0.8 大"
    )
    p_control = forms.FloatField(label="比較群の割合（割合のとき）", required=False, help_text="例：0.30")
    p_treated = forms.FloatField(label="期待する割合（割合のとき）", required=False, help_text="例：0.40")
    alpha = forms.FloatField(label="有意水準", initial=0.05)
    power = forms.FloatField(label="検出力", initial=0.8)
    ratio = forms.FloatField(label="比較群 ÷ 対象群 の人数比", initial=1.0)
