"""Forms of the support pages; business rules are checked by the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from machidata.access.models import StaffRank, Unit
from machidata.support.models import ConsultationKind, Urgency


class UnitChoiceField(forms.ModelChoiceField[Unit]):
    """Units shown with their full name (局 部 課)."""

    def label_from_instance(self, obj: Unit) -> str:
        return obj.full_name


class UserChoiceField(forms.ModelChoiceField[Any]):
    """Staff shown by display name and user name."""

    def label_from_instance(self, obj: Any) -> str:
        name = obj.get_full_name()
        return f"{name}（{obj.get_username()}）" if name else obj.get_username()


class _Described(forms.Form):
    """Links each help text to its input (aria-describedby) for screen readers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if field.help_text:
                field.widget.attrs.setdefault(
                    "aria-describedby", f"id_{self.prefix + '-' if self.prefix else ''}{name}_help"
                )


class ConsultationForm(_Described):
    """A new 相談 or 伴走支援 request."""

    kind = forms.ChoiceField(
        label="種別",
        choices=ConsultationKind.choices,
        widget=forms.RadioSelect,
        initial=ConsultationKind.QUESTION,
        help_text="相談: 質問や短い助言。伴走支援: 数週間にわたり分析や事業立案を一緒に進めます。",
    )
    topic = forms.CharField(label="件名", max_length=200)
    description = forms.CharField(
        label="内容",
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="何をしたいか、どこで困っているか、期限があれば書いてください。",
    )
    urgency = forms.ChoiceField(label="緊急度", choices=Urgency.choices, initial=Urgency.NORMAL)
    unit = UnitChoiceField(label="相談する課", queryset=Unit.objects.none())
    datasets = forms.ModelMultipleChoiceField(
        label="関係するデータ（任意）",
        queryset=Unit.objects.none(),
        required=False,
        help_text="データカタログにあるものから選べます（複数選択: Ctrl キーを押しながら選びます）。",
    )

    def __init__(
        self, *args: Any, units: Any, datasets: Any, links: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        """``links``: the dashboards and 事業 the person may see, to name as related (optional)."""
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]
        self.fields["datasets"].queryset = datasets  # type: ignore[attr-defined]
        for kind, label in (
            ("dashboards", "関係するダッシュボード（任意）"),
            ("projects", "関係する事業（任意）"),
        ):
            if links and kind in links:
                self.fields[kind] = forms.ModelMultipleChoiceField(
                    label=label, queryset=links[kind], required=False
                )
        if units.count() == 1:
            self.initial.setdefault("unit", units.first())


class AssignForm(forms.Form):
    """Who in データ戦略課 takes the consultation."""

    assignee = UserChoiceField(label="担当者", queryset=Unit.objects.none())

    def __init__(self, *args: Any, users: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = users  # type: ignore[attr-defined]


class LogForm(forms.Form):
    """One step of support."""

    on_date = forms.DateField(label="対応日", widget=forms.DateInput(attrs={"type": "date"}))
    minutes = forms.IntegerField(label="対応時間（分）", min_value=1, max_value=1440)
    note = forms.CharField(label="対応内容", widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("on_date", timezone.localdate())


class CloseForm(forms.Form):
    """The outcome of a consultation."""

    outcome = forms.CharField(label="結果", widget=forms.Textarea(attrs={"rows": 3}))


class WithdrawForm(forms.Form):
    """Why the 課 withdraws."""

    reason = forms.CharField(label="取り下げの理由（任意）", required=False, max_length=1000)


class AttendanceForm(_Described):
    """An attendance: a machidata account, or a name and 課 for staff without one."""

    user = UserChoiceField(label="職員（まちデータの利用者）", queryset=Unit.objects.none(), required=False)
    staff_name = forms.CharField(
        label="氏名（利用者でない職員）",
        max_length=100,
        required=False,
        help_text="利用者を選ばない場合に入力します。",
    )
    unit = UnitChoiceField(
        label="所属",
        queryset=Unit.objects.none(),
        required=False,
        help_text="利用者を選んだ場合は省略できます（その人の今の課になります）。",
    )
    rank = forms.ChoiceField(
        label="職位",
        choices=[("", "利用者の所属の職位（名前で入力した人は記録なし）"), *StaffRank.choices],
        required=False,
        help_text="受講率を職位ごとに数えるのに使います。",
    )
    score = forms.IntegerField(label="理解度テストの点数（任意）", min_value=0, max_value=100, required=False)

    def __init__(self, *args: Any, users: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = users  # type: ignore[attr-defined]
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]


class AttendanceImportForm(_Described):
    """A sheet of attendees (CSV or Excel)."""

    file = forms.FileField(
        label="受講者名簿（CSV・Excel）",
        help_text="1行目を見出しにして「氏名」「所属コード」の列を入れます。「ユーザー名」「職位」（管理職・一般職）「点数」の列は任意です。",
    )


class CoreStaffForm(_Described):
    """A new entry of the コア人材 register."""

    user = UserChoiceField(label="職員（まちデータの利用者）", queryset=Unit.objects.none(), required=False)
    staff_name = forms.CharField(label="氏名（利用者でない職員）", max_length=100, required=False)
    unit = UnitChoiceField(label="所属", queryset=Unit.objects.none(), required=False)
    field_name = forms.CharField(
        label="得意分野", max_length=200, help_text="例: 統計分析、GIS、BIツール、アンケート設計"
    )
    since = forms.DateField(label="登録日", widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label="備考", max_length=300, required=False)

    def __init__(self, *args: Any, users: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = users  # type: ignore[attr-defined]
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]
        self.initial.setdefault("since", timezone.localdate())


class FiscalYearForm(forms.Form):
    """Which 年度 a figure page shows."""

    fy = forms.IntegerField(label="年度", min_value=2000, max_value=2100, required=False)
