"""Forms of the 利用申請 pages (the services check everything again)."""

from __future__ import annotations

from django import forms

from machidata.access.models import ContractKind, Rights
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
    approved_use = forms.TypedChoiceField(
        label="承認された利用（任意）", required=False, coerce=int, empty_value=None,
        help_text="倫理審査委員会などで承認済みの利用のためにデータを追加するときに選びます。許可されると、その利用の対象データセットに加わります。",
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


class ApprovedUseForm(forms.Form):
    """An entry of the register of approved uses (the keepers); the service checks everything again."""

    title = forms.CharField(label="利用の名称", max_length=200)
    purpose = forms.CharField(label="利用目的", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    legal_basis = forms.ChoiceField(label="法的根拠", choices=LegalBasis.choices, widget=forms.RadioSelect)
    legal_ground = forms.CharField(
        label="目的外利用・提供の根拠", required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000,
        help_text="目的外利用・提供のときは、個人情報保護法第69条第2項の号と理由を書いてください。",
    )  # fmt: skip
    datasets = forms.CharField(
        label="対象データセット（URL名を1行に1つ）", widget=forms.Textarea(attrs={"rows": 3}),
        help_text="カタログのデータセットのURL名（/catalog/の後ろの部分）を書きます。",
    )  # fmt: skip
    starts_on = forms.DateField(label="利用開始日", widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label="利用終了日", widget=forms.DateInput(attrs={"type": "date"}))
    decision_body = forms.CharField(
        label="決定した機関（例: 熊本市研究倫理審査委員会）", required=False, max_length=200
    )
    decision_date = forms.DateField(
        label="決定日", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    decision_number = forms.CharField(label="決定番号（例: 熊倫審第12号）", required=False, max_length=100)
    decision_note = forms.CharField(
        label="決定の内容・条件", required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )
    document = forms.FileField(
        label="決定の記録（PDFなど、20MBまで）", required=False,
        help_text="添付すると前の文書と置き換わります。",
    )  # fmt: skip


class PartnerForm(forms.Form):
    """A new 外部協力者 account (the keepers); the service checks everything again."""

    use = forms.TypedChoiceField(label="承認された利用", coerce=int,
                                 help_text="外部協力者は、この利用の仮名加工・匿名加工のデータセットだけを見られます。")  # fmt: skip
    organisation = forms.CharField(label="所属機関（例: 熊本大学 公衆衛生学講座）", max_length=200)
    name = forms.CharField(label="氏名（姓と名の間に空白）", max_length=150)
    email = forms.EmailField(label="メールアドレス（任意）", required=False)
    username = forms.CharField(label="ログイン名（半角英数字）", max_length=150)
    starts_on = forms.DateField(label="利用開始日", widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(
        label="利用終了日", widget=forms.DateInput(attrs={"type": "date"}),
        help_text="承認された利用の期間の中で。この日を過ぎるとログインしても何も見られません。",
    )  # fmt: skip


class PartnerEndForm(forms.Form):
    """Why a partner's account ends now."""

    reason = forms.CharField(label="終了の理由", required=False, max_length=2000)


class ContractForm(forms.Form):
    """A dataset's contract terms (有償データ・委託成果物); the service checks everything again."""

    kind = forms.ChoiceField(label="種別", choices=ContractKind.choices, widget=forms.RadioSelect)
    cost_yen = forms.IntegerField(label="費用（円、任意）", required=False, min_value=0, max_value=10**13)
    term_start = forms.DateField(label="契約期間の開始（任意）", required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))  # fmt: skip
    term_end = forms.DateField(
        label="契約期間の終了（任意）", required=False, widget=forms.DateInput(attrs={"type": "date"}),
        help_text="期間の外では、だれもダウンロード・書き出しができず、公開もできません。",
    )  # fmt: skip
    permitted_units = forms.CharField(
        label="利用できる課（所属コードを1行に1つ、任意）", required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="書いたときは、その課（係を含む）と下の職員だけがダウンロード・書き出しできます。書くと公開はできません。",
    )  # fmt: skip
    permitted_users = forms.CharField(
        label="利用できる職員（ログイン名を1行に1つ、任意）",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    publication_allowed = forms.BooleanField(
        label="契約が公開（オープンデータ化）を認めている", required=False
    )
    contractor = forms.CharField(label="受託者・提供元", required=False, max_length=200)
    rights = forms.ChoiceField(
        label="権利の帰属（委託成果物は必須）", required=False, choices=[("", "—"), *Rights.choices]
    )
    delivered_on = forms.DateField(label="納品日（任意）", required=False,
                                   widget=forms.DateInput(attrs={"type": "date"}))  # fmt: skip
    note = forms.CharField(label="契約の条件（メモ）", required=False, widget=forms.Textarea(attrs={"rows": 3}),
                           max_length=2000)  # fmt: skip
