"""Django admin for search: the synonym list (管理 only, every change audited)."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from machidata.catalog.admin import AuditedAdmin
from machidata.search.models import SynonymGroup
from machidata.search.synonyms import parse_synonyms


class SynonymGroupForm(forms.ModelForm):
    """A group needs two words or more."""

    class Meta:
        model = SynonymGroup
        fields = ("words", "note", "enabled")

    def clean_words(self) -> str:
        """Refuse a group of fewer than two words, with a Japanese message."""
        words = self.cleaned_data["words"]
        groups = parse_synonyms(words.replace("\n", "、"))
        if not groups:
            raise forms.ValidationError("同じ意味の言葉を、読点（、）で区切って2語以上入力してください。")
        return "、".join(groups[0])


@admin.register(SynonymGroup)
class SynonymGroupAdmin(AuditedAdmin):
    """同義語: applied at search time, so a change takes effect at once without a reindex."""

    form = SynonymGroupForm
    list_display = ("words", "note", "enabled", "updated_at")
    list_filter = ("enabled",)
    search_fields = ("words", "note")
