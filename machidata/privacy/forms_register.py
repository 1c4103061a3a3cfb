"""Forms of the 個人情報ファイル簿 and 保存期間 pages (the services check everything again)."""

from __future__ import annotations

from django import forms

from machidata.privacy.records import FileKind, RegisterEntry, RetentionClock


class RegisterEntryForm(forms.ModelForm):
    """The entry's items; none is required here (missing ones are listed as a checklist)."""

    class Meta:
        model = RegisterEntry
        fields = [
            "name", "agency", "purpose", "items", "scope", "collection", "ordinance_sensitive", "recipients",
            "request_office", "special_procedure", "file_kind", "omitted", "anonymisation", "remarks",
            "people_declared",
        ]  # fmt: skip
        widgets = {
            f: forms.Textarea(attrs={"rows": 3})
            for f in ["purpose", "items", "scope", "collection", "recipients", "request_office",
                      "special_procedure", "omitted", "anonymisation", "remarks"]
        }  # fmt: skip
        help_texts = {
            "items": "例: 氏名、住所、生年月日、受診日、検査結果",
            "scope": "例: 熊本市の特定健康診査を受診した国民健康保険の被保険者",
            "collection": "例: 本人からの申請書、受診医療機関からの報告",
            "people_declared": "このファイルに記録されている本人の数（概数で構いません）。1,000人を超えると個人情報ファイル簿に載せます。",
        }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for field in self.fields.values():
            field.required = False
        self.fields["file_kind"].required = True
        self.fields["file_kind"].choices = FileKind.choices  # type: ignore[attr-defined]


class PublishForm(forms.Form):
    """Mark or unmark the entry for the portal."""

    public = forms.BooleanField(required=False)


class RetentionForm(forms.Form):
    """The dataset's 保存期間 (years is text so the service can refuse and audit a bad value)."""

    years = forms.CharField(label="保存期間（年）", max_length=10, required=False)
    clock = forms.ChoiceField(label="起算日", choices=RetentionClock.choices, required=False)
    basis = forms.CharField(
        label="根拠", max_length=500, required=False, help_text="例: 熊本市文書管理規程の保存期間区分（5年）"
    )
    clear = forms.BooleanField(label="保存期間の設定をやめる（すべての版を保存する）", required=False)
