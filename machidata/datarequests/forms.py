"""The forms of data requests; the business rules live in the services."""

from __future__ import annotations

from typing import Any

from django import forms

from machidata.access.models import Unit
from machidata.datarequests.models import AnswerKind, RequestStatus
from machidata.datarequests.selectors import SCOPES, route_unit_choices, suggested_unit_choices


class UnitChoiceField(forms.ModelChoiceField[Unit]):
    """Units shown with their full name (局 部 課)."""

    def label_from_instance(self, obj: Unit) -> str:
        return obj.full_name


class _Described(forms.Form):
    """Links each help text to its input (aria-describedby), as _field.html renders it (auto_id "id_%s")."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if field.help_text:
                field.widget.attrs.setdefault("aria-describedby", f"id_{name}_help")


class RequestForm(_Described):
    """What a member of staff asks for."""

    title = forms.CharField(label="欲しいデータ", max_length=200, help_text="例: 町丁別の空き家の件数")
    description = forms.CharField(
        label="内容の詳細",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="どんな項目が欲しいか、集計の単位（町丁別・年齢別など）、形式など。",
    )
    purpose = forms.CharField(
        label="利用目的",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="何に使うか（例: 〇〇計画の見直しの根拠として）。担当課が提供の可否を判断する材料になります。",
    )
    period = forms.CharField(
        label="必要な期間", max_length=200, required=False, help_text="例: 令和3年度～令和5年度、直近5年"
    )
    suggested_unit = UnitChoiceField(
        label="持っていそうな課（分かれば）",
        queryset=Unit.objects.none(),
        required=False,
        empty_label="分からない",
    )
    search_query = forms.CharField(
        label="カタログで探したときの検索語",
        max_length=200,
        required=False,
        help_text="見つからなかった検索語です。カタログの改善に使います。",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["suggested_unit"].queryset = suggested_unit_choices()  # type: ignore[attr-defined]


class RouteForm(_Described):
    """管理 chooses the 課 that should answer."""

    unit = UnitChoiceField(label="回付先の課", queryset=Unit.objects.none(), empty_label="選んでください")
    note = forms.CharField(
        label="回付のメモ（任意）",
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="担当課への申し送り。経過に表示され、依頼者も読めます。",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = route_unit_choices()  # type: ignore[attr-defined]


class AnswerForm(_Described):
    """The routed 課's answer."""

    kind = forms.ChoiceField(label="回答の種類", choices=AnswerKind.choices, widget=forms.RadioSelect)
    dataset = forms.CharField(
        label="該当するデータセット（データがある場合）",
        max_length=200,
        required=False,
        help_text="カタログのURL名（例: kumamoto-population）。依頼者がカタログで見られないデータは指定できません。",
    )
    expected_on = forms.DateField(
        label="作成の見込み日（作成する場合）",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    text = forms.CharField(
        label="回答",
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="提供できない場合は理由を、データセットを指定しない場合はデータのある場所と問い合わせ先を書いてください。",
    )


class WithdrawForm(_Described):
    """Why the requester withdraws."""

    reason = forms.CharField(
        label="取り下げの理由（任意）",
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class CommentForm(_Described):
    """A comment on the request."""

    body = forms.CharField(label="コメント", max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))


class ListFilterForm(forms.Form):
    """Which requests the list shows."""

    scope = forms.ChoiceField(label="表示する要望", choices=list(SCOPES.items()), required=False)
    status = forms.ChoiceField(label="状態", choices=[("", "すべて"), *RequestStatus.choices], required=False)
