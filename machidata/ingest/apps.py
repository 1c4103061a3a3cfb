"""Ingestion: files into versioned tables."""

from django.apps import AppConfig


class IngestConfig(AppConfig):
    """The ingest room (readers, inference, validation, the ingest job and command)."""

    name = "machidata.ingest"
    label = "ingest"
    verbose_name = "データの取り込み"
    default_auto_field = "django.db.models.BigAutoField"
