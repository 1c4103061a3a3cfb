"""The load benchmark, bounded for CI (issue 14, point 7): the production server under a short mixed load.

``python -m bench load`` runs 5 minutes at 20 and 50 clients (``make bench``; figures in
docs/benchmarks.md). Here the same script runs for a few seconds with 3 clients on SQLite: the same
production start (gunicorn + the job runner on a fresh home with the demo), the same request mix and
the same background uploads, so a change that breaks a page, an API, a download or an ingest under
concurrent use fails CI. Speed is not asserted (a test never times), only that nothing failed.

The PostgreSQL lane skips it: there ``tests/deploy/test_two_processes.py`` drives the production
layout on PostgreSQL instead, and the server here always keeps its metadata in its own SQLite file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench.load import CLASSES, main

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="the PostgreSQL lane runs tests/deploy/test_two_processes.py instead",
    ),
]


def test_a_short_mixed_load_has_no_errors(tmp_path: Path) -> None:
    path = main(
        [
            "--clients", "3",
            "--duration", "12",
            "--think", "0.2", "0.6",
            "--workers", "2",
            "--threads", "4",
            "--ingest-every", "4",
            "--ingest-rows", "300",
            "--home", str(tmp_path / "home"),
            "--results", str(tmp_path / "results"),
            "--no-doc",
        ]
    )  # fmt: skip
    assert path is not None
    result = json.loads(path.read_text(encoding="utf-8"))
    (level,) = result["levels"]
    assert level["clients"] == 3
    assert level["all"]["errors"] == 0, (level["errors"], level["error_messages"])
    # every kind of request was made and answered: pages, API, dashboards, downloads, ingest
    for cls in CLASSES:
        assert level["by_class"][cls]["requests"] > 0, cls
    # the background uploads went through the job runner to a new version
    jobs = level["ingest_jobs"]
    assert jobs
    assert all(j["status"] == "succeeded" for j in jobs), jobs
