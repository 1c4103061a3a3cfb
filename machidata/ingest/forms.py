"""The upload form of the ingest page."""

from __future__ import annotations

from typing import Any

from django import forms

ENCODINGS = [
    ("", "自動で判別"),
    ("cp932", "Shift_JIS（CP932）"),
    ("utf-8", "UTF-8"),
    ("utf-8-sig", "UTF-8（BOM付き）"),
    ("euc-jp", "EUC-JP"),
    ("utf-16", "UTF-16"),
]
DELIMITERS = [
    ("", "自動で判別"),
    (",", "カンマ（,）"),
    ("\t", "タブ"),
    (";", "セミコロン（;）"),
    ("|", "縦線（|）"),
]


class UploadForm(forms.Form):
    """Which file, into which table, how."""

    file = forms.FileField(
        label="ファイル", help_text="CSV・TSV・Excel（xlsx, xls）・ODS・JSON・GeoJSON・Parquet"
    )
    table = forms.ChoiceField(label="取り込む表", required=False)
    new_table_title = forms.CharField(
        label="新しい表のタイトル",
        required=False,
        max_length=200,
        help_text="新しい表を作るときに入力します。",
    )
    mode = forms.ChoiceField(
        label="取り込み方法",
        choices=[("replace", "置き換え（新しい版にする）"), ("append", "追加（今の版に行を足す）")],
        initial="replace",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label="版のメモ", required=False, max_length=500)

    def __init__(self, *args: Any, tables: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["table"].choices = [("", "新しい表を作る"), *(tables or [])]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        """A new table needs a title; append needs an existing table."""
        data = super().clean() or {}
        if not data.get("table") and not data.get("new_table_title") and data.get("file"):
            data["new_table_title"] = str(data["file"].name).rsplit(".", 1)[0][:200]
        if data.get("mode") == "append" and not data.get("table"):
            self.add_error("mode", "「追加」は既にある表を選んだときだけ使えます。")
        return data


class OptionsForm(forms.Form):
    """What detection found, adjustable before the import starts."""

    encoding = forms.ChoiceField(label="文字コード", choices=ENCODINGS, required=False)
    delimiter = forms.ChoiceField(label="区切り文字", choices=DELIMITERS, required=False)
    header_row = forms.IntegerField(label="見出しの行番号", required=False, min_value=1, max_value=1000)
    sheets = forms.MultipleChoiceField(
        label="シート",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="同じ形のシートは1つの表にまとめます。",
    )

    def __init__(self, *args: Any, sheet_names: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sheets"].choices = [(s, s) for s in sheet_names or []]  # type: ignore[attr-defined]
        if not sheet_names:
            del self.fields["sheets"]

    def read_options(self) -> dict[str, Any]:
        """The cleaned values as ReadOptions keywords (empty ones left to detection)."""
        out: dict[str, Any] = {}
        for key in ("encoding", "delimiter", "header_row", "sheets"):
            value = self.cleaned_data.get(key)
            if value:
                out[key] = value
        return out
