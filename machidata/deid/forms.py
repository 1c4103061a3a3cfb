"""Forms of the 仮名加工・匿名加工 pages (the services check everything again)."""

from __future__ import annotations

from typing import Any

from django import forms

from machidata.deid.pipeline import METHODS


def _lines(text: str) -> list[str]:
    return [p.strip() for p in text.replace("、", "\n").replace(",", "\n").splitlines() if p.strip()]


def _pairs(text: str) -> list[tuple[str, str]]:
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        column, sep, value = line.replace("：", ":").rpartition(":")
        if not sep:
            raise forms.ValidationError(f"「{line.strip()[:50]}」は「列名: 値」の形で書いてください。")
        out.append((column.strip(), value.strip()))
    return out


class PlanForm(forms.Form):
    """A new 加工の設定; ``dataset`` and ``source_dataset`` choices are set by the view."""

    dataset = forms.ChoiceField(
        label="保存先のデータセット",
        help_text="個人情報の区分が「仮名加工情報」か「匿名加工情報」のデータセットです。",
    )
    title = forms.CharField(label="加工の名前", max_length=200, help_text="例: 住民記録（毎月の抽出）")
    table_name = forms.SlugField(label="表の名前（半角英数字）", max_length=60, required=False)
    identifiers = forms.CharField(
        label="直接の識別子の列", widget=forms.Textarea(attrs={"rows": 3}), max_length=5000,
        help_text="氏名・宛名番号など。1行に1列。仮名加工では鍵つきの仮名に置き換え、匿名加工では削除します。",
    )  # fmt: skip
    quasi = forms.CharField(
        label="準識別子の列と粗くする方法", widget=forms.Textarea(attrs={"rows": 4}), max_length=5000,
        help_text="1行に「列名: 方法」。方法は " + "、".join(f"{k}（{v}）" for k, v in METHODS.items()) + "。",
    )  # fmt: skip
    drop = forms.CharField(
        label="削除する列", widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, required=False,
        help_text="被保険者番号などの個人識別符号、電話番号、自由記述など。1行に1列。",
    )  # fmt: skip
    top_code = forms.CharField(
        label="上限でまとめる列（匿名加工のみ）", widget=forms.Textarea(attrs={"rows": 2}), max_length=2000,
        required=False, help_text="1行に「列名: 上限」。上限を超える値は上限の値にします（例: 所得: 10000000）。",
    )  # fmt: skip
    unusual_note = forms.CharField(
        label="特異な値の扱い（上限でまとめないとき）", widget=forms.Textarea(attrs={"rows": 2}), max_length=2000,
        required=False,
    )  # fmt: skip
    k = forms.IntegerField(label="k（同じ組合せの最少人数）", min_value=2, max_value=1000, initial=5)
    source_dataset = forms.ChoiceField(label="元データ（任意）", required=False,
                                       help_text="仮名加工の表は、ここで選んだデータセットの表と結合できなくなります。")  # fmt: skip

    def cleaned_plan(self) -> dict[str, Any]:
        """The fields as the service takes them."""
        d = self.cleaned_data
        try:
            quasi = [{"column": c, "method": m} for c, m in _pairs(d["quasi"])]
            top = [{"column": c, "cap": v} for c, v in _pairs(d.get("top_code") or "")]
        except forms.ValidationError as exc:
            raise ValueError(exc.messages[0]) from None
        return {
            "title": d["title"], "table_name": d.get("table_name") or "", "identifiers": _lines(d["identifiers"]),
            "quasi": quasi, "drop": _lines(d.get("drop") or ""), "top_code": top,
            "unusual_note": d.get("unusual_note") or "", "k": d["k"],
        }  # fmt: skip


class RunForm(forms.Form):
    """Upload one extract."""

    file = forms.FileField(label="抽出ファイル（CSV・Excel）")
    as_of = forms.DateField(label="基準日", widget=forms.DateInput(attrs={"type": "date"}),
                            help_text="年齢はこの日で数えます（抽出の日付）。")  # fmt: skip
