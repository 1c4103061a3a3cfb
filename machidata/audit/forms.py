"""The filter form of the audit log page (also read by the CSV export)."""

from __future__ import annotations

from typing import Any

from django import forms

from machidata.audit.selectors import AuditFilters


class AuditFilterForm(forms.Form):
    """絞り込み: period, who, which operation, which kind of object, and free text."""

    date_from = forms.DateField(
        label="期間（開始日）", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="期間（終了日）", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    actor = forms.CharField(label="実行者", required=False, max_length=150)
    action = forms.ChoiceField(label="操作", required=False)
    object_type = forms.ChoiceField(label="対象の種類", required=False)
    q = forms.CharField(label="対象（キーワード）", required=False, max_length=200)

    def __init__(self, *args: Any, actions: list[str], object_types: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "すべて"), *((a, a) for a in actions)]  # type: ignore[attr-defined]
        self.fields["object_type"].choices = [("", "すべて"), *((t, t) for t in object_types)]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        """Refuse a period that ends before it starts."""
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "終了日が開始日より前になっています。")
        return data

    def to_filters(self) -> AuditFilters:
        """The valid filters (an invalid field is ignored; its error is shown on the page)."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return AuditFilters(
            date_from=data.get("date_from") if "date_from" not in self.errors else None,
            date_to=data.get("date_to") if "date_to" not in self.errors else None,
            actor_label=(data.get("actor") or "").strip(),
            action=data.get("action") or "",
            object_type=data.get("object_type") or "",
            q=(data.get("q") or "").strip(),
        )
