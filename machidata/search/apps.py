"""App config of catalog search: connects the catalog's save/delete signals to the index's outbox."""

from __future__ import annotations

from django.apps import AppConfig


class SearchConfig(AppConfig):
    """Catalog search (issue 4): the synonym list, the index outbox, the reindex job and command."""

    name = "machidata.search"
    verbose_name = "カタログ検索"

    def ready(self) -> None:
        """Connect the signals that keep the index current."""
        from machidata.search import signals

        signals.connect()
