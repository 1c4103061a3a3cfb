"""The maps in headless Chromium: ward choropleth, 町丁 boundary map (from an uploaded Shapefile), mesh density map, point map.

Each chart page and a dashboard holding all four are opened under the strict CSP: Vega draws its
SVG with the expected number of shapes, no request leaves the server, and axe-core finds no WCAG 2.1
AA violation.
"""

from __future__ import annotations

import random
import shutil
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from machidata.access.models import Classification
from machidata.access.policy import actor_for
from machidata.catalog.tests.table_fixtures import lake_home, make_table, write
from machidata.charts.forms import document_from
from machidata.charts.models import Sharing
from machidata.charts.services import boundary_upload, chart_create, dashboard_add_chart, dashboard_create
from machidata.charts.tests.test_boundaries_shapefile import clockwise_square, shapefile_zip
from machidata.core.testing import make_actors, make_dataset

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine"),
]
__all__ = ["lake_home"]  # the fixture: a private MACHIDATA_HOME (lake) per test
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
WARDS = ["中央区", "東区", "西区", "南区", "北区"]
TOWNS = ["水前寺一丁目", "水前寺二丁目", "出水一丁目"]
SCHEMA = pa.schema([("区", pa.string()), ("町名", pa.string()), ("緯度", pa.float64()), ("経度", pa.float64()),
                    ("種別", pa.string())])  # fmt: skip


def _rows() -> list[dict[str, Any]]:
    """60 places around the city hall: 20 per town, wards in turn, two kinds."""
    rng = random.Random(7)
    return [
        {"区": WARDS[i % 5], "町名": TOWNS[i % 3], "緯度": 32.8031 + rng.uniform(-0.01, 0.01),
         "経度": 130.7079 + rng.uniform(-0.012, 0.012), "種別": "病院" if i % 2 else "薬局"}
        for i in range(60)
    ]  # fmt: skip


def _session_cookie(user: Any, url: str) -> dict[str, Any]:
    client = Client()
    client.force_login(user)
    return {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
            "domain": urlparse(url).hostname, "path": "/"}  # fmt: skip


def test_every_map_draws_offline_and_accessibly(live_server: Any, lake_home: Any, browser: Any) -> None:
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")
    actors = make_actors()
    dataset = make_dataset(actors.org.health_div, classification=Classification.INTERNAL, slug="places")
    table = make_table(
        dataset, name="places", title="施設", schema={"fields": [{"name": c} for c in SCHEMA.names]}
    )
    write(table, _rows(), schema=SCHEMA)
    towns = shapefile_zip(
        [({"KEY_CODE": f"43101{i:04d}", "S_NAME": t, "JINKO": 100}, [clockwise_square(130.69 + i * 0.012, 32.79, 0.012)])
         for i, t in enumerate(TOWNS)]
    )  # fmt: skip
    version = boundary_upload(actor=actor_for(actors.users["admin"]), name="町丁（テスト）", data=towns,
                              attribution="テストの町丁境界", code_property="KEY_CODE", name_property="S_NAME")  # fmt: skip
    kinds = {c: ("number" if c in {"緯度", "経度"} else "string") for c in SCHEMA.names}
    ref = f"{dataset.slug}/{table.name}"
    choices = {
        "区の塗り分け": ({"type": "map", "x": "区", "y_op": "count"}, 5),
        "町丁の塗り分け": ({"type": "boundary", "x": "町名", "y_op": "count", "boundary": str(version.boundary_set.uuid)}, 3),
        "メッシュの密度": ({"type": "mesh", "x": "緯度", "mesh_lon": "経度", "mesh_level": "mesh_half", "y_op": "count"}, 2),
        "施設の地点": ({"type": "points", "x": "経度", "y_column": "緯度", "color": "種別"}, 1),
    }  # fmt: skip
    editor = actor_for(actors.users["owner_editor"])
    board = dashboard_create(actor=editor, title="地図の一覧", sharing=Sharing.DEPARTMENT)
    paths, least_shapes = [], {}
    for title, (data, shapes) in choices.items():
        document = document_from({"table": ref, "title": title, "source": "テスト", **data}, kinds)
        chart = chart_create(
            actor=editor, title=title, document=document, source="テスト", sharing=Sharing.DEPARTMENT
        )
        board = dashboard_add_chart(actor=editor, dashboard=board, lock_version=board.lock_version,
                                    chart_uuid=str(chart.uuid))  # fmt: skip
        path = reverse("charts:detail", args=[chart.uuid])
        paths.append(path)
        least_shapes[path] = shapes
    dashboard = reverse("charts:dashboard", args=[board.uuid])
    viewer = _session_cookie(actors.users["owner_viewer"], live_server.url)
    own_host = urlparse(live_server.url).netloc
    elsewhere: list[str] = []
    problems: list[str] = []
    failures: list[str] = []
    # the session's Chromium (tests/browser/conftest.py): a second sync_playwright() in the same
    # process fails ("Sync API inside the asyncio loop") when another browser test ran first
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    try:
        context.add_cookies([viewer])
        page = context.new_page()
        page.on("request", lambda r: elsewhere.append(r.url) if urlparse(r.url).netloc not in {own_host, ""}
                and not r.url.startswith(("data:", "blob:")) else None)  # fmt: skip
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        for path in [*paths, dashboard]:
            response = page.goto(live_server.url + path)
            assert response is not None
            assert response.status == 200, path
            assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
            page.wait_for_selector("[data-vl-spec] svg.marks", timeout=20_000)
            if path in least_shapes:
                # the geographic shapes (areas, squares, points) on top of the ward outlines
                drawn = page.locator("[data-vl-spec] svg.marks path").count()
                assert drawn >= 5 + least_shapes[path], (path, drawn)
                assert "データを表で見る" in page.content()
            else:
                assert page.locator("[data-vl-spec] svg.marks").count() == len(paths)
            violations = axe_module.Axe().run(page, options=AXE_OPTIONS).response["violations"]
            failures += [
                f"{path}: {v['id']} {v['help']} {[n['target'] for n in v['nodes']][:3]}" for v in violations
            ]
        text = page.content()
        assert "テストの町丁境界" in text  # the uploaded set's attribution under its map
        assert "国土数値情報" in text  # the shipped ward boundaries' attribution
    finally:
        context.close()
    assert not elsewhere, elsewhere
    assert not [m for m in problems if "Content Security Policy" in m or "unsafe-eval" in m], problems
    assert not failures, "\n".join(failures)
