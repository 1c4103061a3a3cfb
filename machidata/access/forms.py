"""Forms of the organisation pages."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone

ALLOWED_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".csv", ".txt"}


def next_april_first(today: dt.date | None = None) -> dt.date:
    """The next 4月1日 (the usual 施行日 of a reorganisation); today if it is 4月1日."""
    today = today or timezone.localdate()
    year = today.year if (today.month, today.day) <= (4, 1) else today.year + 1
    return dt.date(year, 4, 1)


def _check_upload(upload: UploadedFile | None) -> UploadedFile | None:
    if upload is None:
        return None
    if Path(upload.name or "").suffix.lower() not in ALLOWED_SUFFIXES:
        raise forms.ValidationError("Excel（.xlsx）または CSV のファイルを選んでください。")
    if upload.size is not None and upload.size > settings.MACHIDATA_MAX_UPLOAD_BYTES:
        raise forms.ValidationError("ファイルが大きすぎます。")
    return upload


class OrgImportForm(forms.Form):
    """Upload of the organisation list (and optionally the staff list) with the 施行日."""

    org_file = forms.FileField(
        label="組織表（Excel または CSV）",
        help_text="列: 所属コード、所属名、種別、上位所属コード、代表メール、代表電話、旧所属コード。Excel の場合、職員名簿を別のシートに入れることもできます。",
    )
    staff_file = forms.FileField(
        label="職員名簿（任意）",
        required=False,
        help_text="列: 職員ID（またはユーザー名）、氏名、所属コード、役割（閲覧・編集・管理）、メール。",
    )
    effective_date = forms.DateField(
        label="施行日",
        help_text="新しい組織が有効になる日（通常は4月1日）。廃止される所属は前日までとなります。",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["effective_date"].initial = next_april_first()

    def clean_org_file(self) -> UploadedFile | None:
        """Only Excel or CSV files of acceptable size."""
        return _check_upload(self.cleaned_data.get("org_file"))

    def clean_staff_file(self) -> UploadedFile | None:
        """Only Excel or CSV files of acceptable size."""
        return _check_upload(self.cleaned_data.get("staff_file"))


class TokenCreateForm(forms.Form):
    """A new personal API token."""

    name = forms.CharField(
        label="トークンの名前",
        max_length=100,
        help_text="何に使うトークンか分かる名前（例: BIツール、集計スクリプト）",
    )


class AsOfForm(forms.Form):
    """The date the organisation tree is shown for."""

    date = forms.DateField(label="基準日", required=False, widget=forms.DateInput(attrs={"type": "date"}))
