"""Forms of the inventory import pages: upload, sheet choice, column mapping, import options."""

from __future__ import annotations

from typing import Any

from django import forms

from machidata.catalog.inventory import TARGETS, check_file, check_mapping
from machidata.catalog.models import InventoryTemplate
from machidata.core.errors import InvalidInput

NOT_IMPORTED = "（取り込まない）"


def _describe(form: forms.Form) -> None:
    # Tie help texts to their inputs for screen readers (core/_field.html renders the help with this id).
    pattern = form.auto_id if isinstance(form.auto_id, str) else "id_%s"
    for name, field in form.fields.items():
        if field.help_text:
            field.widget.attrs.setdefault("aria-describedby", f"{pattern % name}_help")


class UploadForm(forms.Form):
    """The inventory file."""

    file = forms.FileField(
        label="棚卸表のファイル",
        help_text="Excel（.xlsx / .xls）または CSV（UTF-8・Shift_JIS）、20MBまで。1行に1データ（データセット）の表です。",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs["accept"] = ".xlsx,.xlsm,.xls,.csv"
        _describe(self)

    def clean_file(self) -> Any:
        """Refuse other extensions and files over 20 MB with a Japanese message."""
        upload = self.cleaned_data["file"]
        try:
            self.ext = check_file(upload.name or "", upload.size or 0)
        except InvalidInput as exc:
            raise forms.ValidationError(exc.message) from None
        return upload


class SheetForm(forms.Form):
    """Which sheet, where its header row is, and which saved mapping to start from."""

    sheet = forms.ChoiceField(label="シート")
    header_row = forms.IntegerField(
        label="見出し行",
        required=False,
        min_value=1,
        max_value=1000,
        help_text="列名（データ名・所管課など）が並ぶ行の番号。空欄なら自動で探します。",
    )
    template = forms.ChoiceField(
        label="テンプレート（保存した列の対応）",
        required=False,
        help_text="空欄なら、列名が同じテンプレートを自動で使います。",
    )

    def __init__(self, *args: Any, sheets: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sheet"].choices = [(s, s) for s in sheets]  # type: ignore[attr-defined]
        names = InventoryTemplate.objects.values_list("name", flat=True)
        self.fields["template"].choices = [("", "（自動）"), *((n, n) for n in names)]  # type: ignore[attr-defined]
        _describe(self)


class MappingForm(forms.Form):
    """One select per sheet column (which catalog field it feeds), plus identifier and template options."""

    generate_identifiers = forms.BooleanField(
        label="整理番号が空の行には整理番号を自動で付ける",
        required=False,
        help_text="再度取り込むと別のデータとして登録されるため、できるだけ棚卸表に整理番号を記入してください。",
    )
    save_template = forms.CharField(
        label="この列の対応をテンプレートとして保存する名前",
        required=False,
        max_length=100,
        help_text="例: 健康福祉局 棚卸表。次回、同じ列名の表を取り込むときに自動で使われます。",
    )

    def __init__(
        self, *args: Any, headers: list[str], samples: dict[str, list[str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.headers = headers
        choices = [("", NOT_IMPORTED), *TARGETS.items()]
        columns: dict[str, forms.Field] = {}
        for index, header in enumerate(headers):
            examples = [s for s in (samples or {}).get(header, []) if s][:3]
            columns[f"col_{index}"] = forms.ChoiceField(
                label=f"列「{header}」",
                choices=choices,
                required=False,
                help_text=("例: " + "、".join(e[:30] for e in examples)) if examples else "",
            )
        # Columns first, in sheet order; the options after them.
        self.fields = {**columns, **self.fields}
        _describe(self)

    def column_fields(self) -> list[forms.BoundField]:
        """The bound select of each column, in sheet order."""
        return [self[f"col_{i}"] for i in range(len(self.headers))]

    def mapping(self) -> dict[str, str]:
        """Sheet header → catalog field ("" = not imported)."""
        return {h: self.cleaned_data.get(f"col_{i}") or "" for i, h in enumerate(self.headers)}

    def clean(self) -> dict[str, Any]:
        """A field may feed from one column only; 整理番号, データ名 and 所管課 must be chosen."""
        cleaned = super().clean() or {}
        try:
            check_mapping(self.mapping(), generate_identifiers=bool(cleaned.get("generate_identifiers")))
        except InvalidInput as exc:
            details = exc.details if isinstance(exc.details, dict) else {}
            for header, messages in details.items():
                name = f"col_{self.headers.index(header)}" if header in self.headers else None
                for message in messages:
                    self.add_error(name, message)
        return cleaned


class ImportForm(forms.Form):
    """The final choice before importing."""

    valid_rows_only = forms.BooleanField(
        label="エラーのない行だけ取り込む",
        required=False,
        help_text="選ばない場合、1行でもエラーがあれば何も取り込みません。",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _describe(self)
