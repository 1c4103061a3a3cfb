"""WSGI entry point (gunicorn).

Each web process warms up before it takes requests (``MACHIDATA_WARM_START=0`` skips it): it loads
every page's code (the URL configuration imports the rooms, Ibis, DuckDB, vl-convert…) and compiles
the queries of the most recently changed dashboards (``machidata.charts.warm``), so the first person
after a start does not wait for either. It never reads rows and never fails the start.
"""

import logging
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "machidata.config.settings")
application = get_wsgi_application()


def _warm() -> None:
    from django.db import connections
    from django.urls import get_resolver

    try:
        get_resolver().url_patterns  # noqa: B018 - imports every view module now, not on the first request
        from machidata.charts.warm import warm_dashboards

        warm_dashboards()
    except Exception:  # a warm-up is best effort: the server must start even if it fails
        logging.getLogger(__name__).warning("warm-up at start failed", exc_info=True)
    finally:
        connections.close_all()  # requests run on other threads with their own connections


if os.environ.get("MACHIDATA_WARM_START", "1") != "0":
    _warm()
