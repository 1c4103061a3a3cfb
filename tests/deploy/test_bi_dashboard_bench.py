"""The BI dashboard benchmark's harness (bench/bi_dashboard.py), tiny: its setup ingests the generated table,
saves the 8 queries as 8 charts on one dashboard, and the page it times draws all 8 with the right numbers.

``python -m bench bi --rows 10000000`` times that page on a freshly started server (figures in
docs/benchmarks.md, "BI queries"); here 3,000 rows through the test client, no timing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from bench import bi
from bench.bi_dashboard import check_page, setup
from machidata.access.policy import actor_for
from machidata.core.testing import Actors

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def _spec(page: str, index: int) -> dict[str, Any]:
    found = re.search(rf'<script id="spec-{index}" type="application/json">(.*?)</script>', page, re.S)
    assert found, f"spec-{index} missing"
    return dict(json.loads(found.group(1)))


def test_the_bench_dashboard_draws_its_eight_queries(
    actors: Actors, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.MACHIDATA_HOME = tmp_path
    monkeypatch.setattr(bi, "DATA_DIR", tmp_path / "data")
    parquet = bi.generate(3000)
    owner = actors.users["owner_editor"]
    info = setup(parquet, people=(actors.org.health_div, actor_for(owner)))
    assert (info["rows"], info["charts"]) == (3000, 8)
    assert info["files"]
    assert all(Path(f).is_file() for f in info["files"])
    url = f"/charts/dashboards/{info['dashboard']}/"
    answer = actors.client("owner_editor").get(url)
    page = answer.content.decode()
    assert check_page(answer.status_code, page, 8) == ""
    # the first chart (年度 × 区) counts every row; the sixth (事故種別) has one slice per kind in the file
    source = pq.read_table(parquet)
    first = _spec(page, 0)
    assert sum(v["件数"] for v in first["data"]["values"]) == 3000
    kinds = {v["事故種別"]: v["件数"] for v in _spec(page, 5)["data"]["values"]}
    counted = pc.value_counts(source.column("事故種別")).to_pylist()
    assert kinds == {c["values"]: c["counts"] for c in counted}
    # the check fails when the page is not the dashboard: another 課 does not see it (shared with the 課)
    other = actors.client("staff").get(url)
    assert check_page(other.status_code, other.content.decode(), 8) == "HTTP 404"
