"""Warming a freshly started web process for the dashboards staff open most: compile, never read rows.

The first dashboard a new process draws pays what every later one does not: Ibis's and sqlglot's
first compile of each chart's query (50–450 ms each on a busy machine), the Delta log of each table
version (``lake.readers.version_read``) and the Parquet footers. :func:`warm_dashboards` does that work
at start-up for the charts of the most recently changed dashboards, through the engine's
``prepare_query`` (the same compile caches ``run_query`` reads), so a freshly started server answers the
first dashboard as fast as the next. It reads no rows, checks no access (nothing is shown to anyone:
every page still checks the viewer and runs the query) and stops after ``budget_s`` seconds.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings

from machidata.catalog.models import TableVersion, VersionStatus
from machidata.charts.models import Chart, Dashboard
from machidata.charts.selectors import document_query
from machidata.charts.suppression import with_row_count
from machidata.charts.vegalite import ROW_CHARTS
from machidata.engine import EngineError, TableQuery, prepare_query
from machidata.lake.readers import version_read

log = logging.getLogger(__name__)
DASHBOARDS = 20  # the most recently changed dashboards whose charts are compiled
BUDGET_S = 10.0


def _version(chart: Chart) -> TableVersion | None:
    if chart.version_number:
        return TableVersion.objects.filter(
            table_id=chart.table_id, number=chart.version_number, status=VersionStatus.COMMITTED
        ).first()
    return chart.table.current_version


def chart_queries(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The TableQuery JSON a chart's panel may run: as drawn for its 課, and with the row count of 秘匿."""
    query = document_query(document)
    kind = (document.get("visual") or {}).get("type")
    if kind in ROW_CHARTS or kind == "pivot":
        return [query]
    return [query, with_row_count(query)]


def warm_dashboards(*, dashboards: int = DASHBOARDS, budget_s: float = BUDGET_S) -> int:
    """Compile the queries of the charts on the ``dashboards`` most recently changed dashboards; returns how many."""
    started = time.monotonic()
    uuids: list[str] = []
    for items in Dashboard.objects.order_by("-updated_at", "-id").values_list("items", flat=True)[
        :dashboards
    ]:
        uuids += [str(i["chart"]) for i in items or [] if i.get("kind") == "chart" and i.get("chart")]
    charts = Chart.objects.select_related("table", "table__current_version").filter(uuid__in=set(uuids))
    done = 0
    for chart in charts:
        if time.monotonic() - started > budget_s:
            break
        version = _version(chart)
        if version is None:
            continue
        try:
            files = list(version_read(version).files)
            for query in chart_queries(chart.document):
                prepare_query(
                    files, TableQuery.from_dict(query), max_rows=int(settings.MACHIDATA_ENGINE_MAX_ROWS),
                    threads=settings.MACHIDATA_ENGINE_THREADS, memory_limit=settings.MACHIDATA_ENGINE_MEMORY_LIMIT,
                )  # fmt: skip
                done += 1
        except EngineError as exc:  # a chart that no longer fits its table: its page says so
            log.debug("warm-up skipped chart %s: %s", chart.uuid, exc)
        except Exception:  # best effort: one unreadable version must not stop the others
            log.warning("warm-up could not prepare chart %s", chart.uuid, exc_info=True)
    return done
