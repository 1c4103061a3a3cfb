"""The dataset form staff fill in (create and edit)."""

from __future__ import annotations

from typing import Any

from django import forms

from machidata.access.models import Unit
from machidata.catalog.models import Category, DataFormat, Dataset, Licence


class UnitChoiceField(forms.ModelChoiceField[Unit]):
    """Units shown with their full name (局 部 課)."""

    def label_from_instance(self, obj: Unit) -> str:
        return obj.full_name


class DatasetForm(forms.ModelForm[Dataset]):
    """Metadata of a catalog entry; validation of business rules happens in the services."""

    owner = UnitChoiceField(label="データ所有者（所管課）", queryset=Unit.objects.none())
    keywords = forms.CharField(
        label="キーワード",
        required=False,
        max_length=1000,
        help_text="読点（、）またはカンマで区切って入力します。",
    )
    formats = forms.ModelMultipleChoiceField(
        label="形式", queryset=DataFormat.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )
    lock_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Dataset
        fields = [
            "title", "title_en", "description", "description_en", "owner", "contact_email", "contact_phone",
            "category", "keywords", "formats", "classification", "discoverable", "personal_data", "location",
            "location_detail", "frequency", "source", "source_detail", "licence", "temporal_start",
            "temporal_end", "spatial", "lg_code",
        ]  # fmt: skip
        widgets = {
            "description": forms.Textarea(attrs={"rows": 6}),
            "description_en": forms.Textarea(attrs={"rows": 3}),
            "temporal_start": forms.DateInput(attrs={"type": "date"}),
            "temporal_end": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args: Any, owners: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners if owners is not None else Unit.objects.active_on()  # type: ignore[attr-defined]
        self.fields["category"].queryset = Category.objects.all()  # type: ignore[attr-defined]
        self.fields["licence"].queryset = Licence.objects.all()  # type: ignore[attr-defined]
        if self.instance.pk:
            self.initial["keywords"] = "、".join(self.instance.keywords or [])
            self.initial["lock_version"] = self.instance.lock_version
        for name, field in self.fields.items():
            described = [f"id_{name}_help"] if field.help_text else []
            if described:
                field.widget.attrs.setdefault("aria-describedby", " ".join(described))

    def service_data(self) -> dict[str, Any]:
        """The cleaned values in the shape the catalog services take."""
        data = {name: self.cleaned_data[name] for name in self.Meta.fields if name != "formats"}
        data["formats"] = list(self.cleaned_data.get("formats") or [])
        return data

    def _post_clean(self) -> None:
        # Model validation runs in the services (one set of rules for the web, the API and imports).
        return


class RetireForm(forms.Form):
    """Why an entry is retired."""

    reason = forms.CharField(label="廃止の理由", max_length=500, widget=forms.Textarea(attrs={"rows": 3}))
