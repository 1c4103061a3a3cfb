"""Forms of guidebooks, Q&A, the forum and the case library; business rules are in the services."""

from __future__ import annotations

from typing import Any

from django import forms

from machidata.support.forms import _Described
from machidata.support.models import CaseField, EvidenceLevel, ForumTopic
from machidata.support.selectors_help import LINK_LABELS


class GuideForm(_Described):
    """A new version of a guide."""

    title = forms.CharField(label="題名", max_length=200)
    body = forms.CharField(
        label="本文",
        widget=forms.Textarea(attrs={"rows": 20}),
        help_text="Markdown で書けます（# 見出し、- 箇条書き、| 表 |）。",
    )
    checklist = forms.CharField(
        label="チェックリスト（任意）",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="1行に1項目。関係する画面に「確認すること」として表示されます。",
    )
    note = forms.CharField(label="変更内容", max_length=300, required=False)
    base_version = forms.IntegerField(widget=forms.HiddenInput)

    def items(self) -> list[str]:
        """The checklist, one item a line."""
        return [line.strip() for line in self.cleaned_data.get("checklist", "").splitlines() if line.strip()]


class QuestionForm(forms.Form):
    """A question to a dataset's owner."""

    body = forms.CharField(label="質問", max_length=10_000, widget=forms.Textarea(attrs={"rows": 4}))


class AnswerForm(forms.Form):
    """The owner's answer to a question."""

    answer = forms.CharField(label="回答", max_length=10_000, widget=forms.Textarea(attrs={"rows": 4}))


class ThreadForm(forms.Form):
    """A new forum thread."""

    topic = forms.ModelChoiceField(label="話題", queryset=ForumTopic.objects.all())
    title = forms.CharField(label="題名", max_length=200)
    body = forms.CharField(label="本文", max_length=10_000, widget=forms.Textarea(attrs={"rows": 6}))


class ReplyForm(forms.Form):
    """A reply in a forum thread."""

    body = forms.CharField(label="返信", max_length=10_000, widget=forms.Textarea(attrs={"rows": 4}))


class CaseForm(_Described):
    """A case of the library."""

    title = forms.CharField(label="事例名", max_length=200)
    field = forms.ChoiceField(label="分野", choices=CaseField.choices)
    municipality = forms.CharField(label="自治体", max_length=60, initial="熊本市")
    summary = forms.CharField(label="概要", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    data_used = forms.CharField(label="使用データ", widget=forms.Textarea(attrs={"rows": 3}))
    insight = forms.CharField(label="得られた知見", widget=forms.Textarea(attrs={"rows": 3}))
    policy_change = forms.CharField(
        label="政策等の改善", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    evidence_level = forms.ChoiceField(
        label="根拠の強さ",
        choices=EvidenceLevel.choices,
        help_text="現状の見える化 → 比較・傾向 → 予測 → 効果検証 → ランダム化比較試験 の順に強くなります。",
    )
    source_title = forms.CharField(label="出典", max_length=300, required=False)
    source_url = forms.URLField(label="参照URL", max_length=500, required=False, assume_scheme="https")
    datasets = forms.ModelMultipleChoiceField(
        label="関係するデータ（任意）", queryset=ForumTopic.objects.none(), required=False
    )

    def __init__(self, *args: Any, datasets: Any, links: dict[str, Any] | None = None, **kwargs: Any) -> None:
        """``links``: for each kind of link (ダッシュボード, 加工の手順, 事業, 分析), what the editor may see."""
        super().__init__(*args, **kwargs)
        self.fields["datasets"].queryset = datasets  # type: ignore[attr-defined]
        for kind, queryset in (links or {}).items():
            self.fields[kind] = forms.ModelMultipleChoiceField(
                label=f"関係する{LINK_LABELS[kind]}（任意）",
                queryset=queryset,
                required=False,
                help_text="見る権限のあるものだけが表示されます。",
            )
