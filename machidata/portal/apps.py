"""App config of the public portal (オープンデータサイト) and its CKAN-compatible Action API."""

from __future__ import annotations

from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The public face: reads only what publication approved (``publish.selectors``)."""

    name = "machidata.portal"
    label = "portal"
    verbose_name = "オープンデータサイト"
    default_auto_field = "django.db.models.BigAutoField"
