"""``machidata reindex``: rebuild the catalog search index from the metadata database."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from machidata.search.services import index_dir, index_rebuild


class Command(BaseCommand):
    """Rebuild the search index (safe while the site runs: readers see the old index until the swap)."""

    help = "カタログの検索索引を作り直します"

    def handle(self, *args: Any, **options: Any) -> None:
        """Rebuild and report how many entries and how long it took."""
        t0 = time.perf_counter()
        n = index_rebuild()
        self.stdout.write(
            f"検索索引を作り直しました: {n}件（{time.perf_counter() - t0:.1f}秒、{index_dir()}）"
        )
