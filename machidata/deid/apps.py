"""App config of deid (仮名加工・匿名加工): pseudonymised analysis tables and anonymised tables for release."""

from __future__ import annotations

from django.apps import AppConfig


class DeidConfig(AppConfig):
    """Pseudonymisation of business-system extracts and anonymisation for release (issue 12, points 3-4)."""

    name = "machidata.deid"
    label = "deid"
    verbose_name = "仮名加工・匿名加工"
    default_auto_field = "django.db.models.BigAutoField"
