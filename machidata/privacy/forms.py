"""Forms of the 利用申請 pages (the services check everything again)."""

from __future__ import annotations

from django import forms

from machidata.privacy.models import AccessDecision, LegalBasis


class AccessRequestForm(forms.Form):
    """The 利用申請 form; ``columns`` choices are set from the dataset's tables."""

    purpose = forms.CharField(label="利用目的", widget=forms.Textarea(attrs={"rows": 4}), max_length=2000)
    columns = forms.MultipleChoiceField(
        label="必要な項目（任意）", required=False, widget=forms.CheckboxSelectMultiple,
        help_text="表の項目のうち、利用に必要なものを選んでください。選ばないときは全項目です。",
    )  # fmt: skip
    starts_on = forms.DateField(label="利用開始日", widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(
        label="利用終了日", widget=forms.DateInput(attrs={"type": "date"}),
        help_text="この日を過ぎると利用できなくなります（更新できます）。",
    )  # fmt: skip
    legal_basis = forms.ChoiceField(label="法的根拠", choices=LegalBasis.choices, widget=forms.RadioSelect)
    legal_ground = forms.CharField(
        label="目的外利用の根拠", required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=2000,
        help_text="目的外利用のときは、根拠（個人情報保護法第69条第2項の号と理由）を書いてください。",
    )  # fmt: skip


class ActForm(forms.Form):
    """A decision at the current step."""

    decision = forms.ChoiceField(label="判断", choices=AccessDecision.choices)
    comment = forms.CharField(
        label="コメント（差戻し・却下のときは必須）", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class RenewForm(forms.Form):
    """A new end date."""

    ends_on = forms.DateField(label="新しい利用終了日", widget=forms.DateInput(attrs={"type": "date"}))
    comment = forms.CharField(label="コメント", required=False, max_length=2000)


class RevokeForm(forms.Form):
    """Why the access ends now."""

    reason = forms.CharField(label="取消しの理由", widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
