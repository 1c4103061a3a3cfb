"""The upload form of the ingest page."""

from __future__ import annotations

from typing import Any

from django import forms

from machidata.ingest.labels import OVERRIDE_TYPES, REASON_LABELS, TYPE_LABELS

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


class OverridesForm(forms.Form):
    """Staff's corrections to the inferred 項目定義: each column's type, unit and title, and symbol meanings.

    Built from what the page showed (``columns``: source, type, unit, title; ``markers``: symbol ->
    meaning), so :meth:`read_overrides` records only what staff changed: an unchanged title stays
    inferred, and a later replace keeps the wording of the table's 項目定義.
    """

    extra_marker = forms.CharField(
        label="ほかの記号",
        required=False,
        max_length=20,
        help_text="自動で見分けられなかった記号（例: x、***）を空欄として扱うときに入力します。",
    )
    extra_reason = forms.ChoiceField(label="その記号の意味", required=False)

    def __init__(
        self,
        *args: Any,
        columns: list[dict[str, Any]] | None = None,
        markers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.columns = list(columns or [])
        self.markers = dict(markers or {})
        reasons = list(REASON_LABELS.items())
        self.fields["extra_reason"].choices = reasons  # type: ignore[attr-defined]
        for i, c in enumerate(self.columns):
            inferred = f"推定どおり（{c['inferred_label']}）"
            self.fields[f"c{i}_type"] = forms.ChoiceField(
                label=f"「{c['source']}」の型",
                required=False,
                choices=[("", inferred), *((t, TYPE_LABELS[t]) for t in OVERRIDE_TYPES)],
                initial=c.get("forced_type") or "",
            )
            self.fields[f"c{i}_unit"] = forms.CharField(
                label=f"「{c['source']}」の単位", required=False, max_length=40, initial=c.get("unit", "")
            )
            self.fields[f"c{i}_title"] = forms.CharField(
                label=f"「{c['source']}」の項目名", required=False, max_length=200, initial=c.get("title", "")
            )
        for j, (marker, reason) in enumerate(self.markers.items()):
            self.fields[f"m{j}"] = forms.ChoiceField(
                label=f"記号「{marker}」の意味", choices=reasons, initial=reason
            )

    def rows(self) -> list[dict[str, Any]]:
        """One row per column for the template: the column and its three bound fields."""
        return [
            {
                "column": c,
                "type": self[f"c{i}_type"],
                "unit": self[f"c{i}_unit"],
                "title": self[f"c{i}_title"],
            }
            for i, c in enumerate(self.columns)
        ]

    def marker_fields(self) -> list[Any]:
        """The bound fields of the symbols seen."""
        return [self[f"m{j}"] for j in range(len(self.markers))]

    def read_overrides(self, previous: dict[str, Any] | None = None) -> dict[str, Any]:
        """``previous`` overrides updated with what staff changed on this page (the raw shape of ``ingest.overrides``)."""
        data = self.cleaned_data
        fields = {k: dict(v) for k, v in ((previous or {}).get("fields") or {}).items()}
        for i, c in enumerate(self.columns):
            props = fields.setdefault(c["source"], {})
            props.pop("type", None)
            if data.get(f"c{i}_type"):
                props["type"] = data[f"c{i}_type"]
            for key in ("unit", "title"):
                value = (data.get(f"c{i}_{key}") or "").strip()
                if value != (c.get(key) or ""):
                    props[key] = value
            if not props:
                del fields[c["source"]]
        missing = dict((previous or {}).get("missing") or {})
        for j, (marker, reason) in enumerate(self.markers.items()):
            chosen = data.get(f"m{j}")
            if chosen and (chosen != reason or marker in missing):
                missing[marker] = chosen
        if data.get("extra_marker", "").strip():
            missing[data["extra_marker"].strip()] = data.get("extra_reason") or "suppressed"
        out: dict[str, Any] = {}
        if fields:
            out["fields"] = fields
        if missing:
            out["missing"] = missing
        return out
