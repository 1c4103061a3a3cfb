"""The 地域メッシュ map: squares drawn from their codes (no boundary file), built by the builder, suppressed outside the 課."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pyarrow as pa
import pytest

from machidata.access.models import Classification
from machidata.access.policy import actor_for
from machidata.catalog.models import Table
from machidata.catalog.tests.table_fixtures import make_table, write
from machidata.charts.forms import MESH_KEY, document_from
from machidata.charts.maps import ATTRIBUTION, ring_area
from machidata.charts.pivot import SUPPRESS_BELOW
from machidata.charts.selectors import document_render
from machidata.charts.vegalite import Column, SpecError, vegalite_spec
from machidata.core.testing import Actors, make_dataset

# 熊本市役所 (32.8031, 130.7079) lies in the 3rd-level mesh 49301566: 49/1.5° + 1 × 5′ + 6 × 30″ north,
# 130° + 5 × 7′30″ + 6 × 45″ east (the standard's arithmetic, written out here by hand).
CITY_HALL_SQUARE = (49 / 1.5 + 5 / 60 + 6 * 30 / 3600, 130 + 5 * 7.5 / 60 + 6 * 45 / 3600)


def _document(rows_col: str = MESH_KEY) -> dict[str, Any]:
    return {
        "visual": {"type": "mesh", "x": rows_col, "y": "件数", "options": {}},
        "meta": {"title": "メッシュ別の件数"},
    }


def _cells(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for layer in spec["layer"][1:] for f in layer["data"]["values"]]


def test_squares_come_from_the_codes_with_the_standard_size() -> None:
    rows = [{MESH_KEY: 49301566, "件数": 12}, {MESH_KEY: 493015662, "件数": 3}, {MESH_KEY: 123, "件数": 1}]
    cols = [Column(MESH_KEY, "integer"), Column("件数", "integer")]
    spec = vegalite_spec(_document(), rows, cols)
    cells = {f["properties"]["mesh"]: f for f in _cells(spec)}
    assert set(cells) == {"49301566", "493015662"}  # a non-code is left out, not drawn somewhere
    ring = cells["49301566"]["geometry"]["coordinates"][0]
    lats, lons = [p[1] for p in ring], [p[0] for p in ring]
    south, west = CITY_HALL_SQUARE
    assert min(lats) == pytest.approx(south)
    assert min(lons) == pytest.approx(west)
    assert max(lats) - min(lats) == pytest.approx(30 / 3600)
    assert max(lons) - min(lons) == pytest.approx(45 / 3600)
    assert ring_area(ring) < 0  # clockwise, as Vega's spherical winding needs
    half = cells["493015662"]["geometry"]["coordinates"][0]  # 2 = the south-east quarter
    assert min(p[0] for p in half) == pytest.approx(west + 22.5 / 3600)
    assert min(p[1] for p in half) == pytest.approx(south)
    assert ATTRIBUTION in " ".join(spec["title"]["subtitle"])
    assert "JIS X 0410" in " ".join(spec["title"]["subtitle"])
    assert "url" not in repr(spec).lower().replace("https://vega.github.io/schema", "")


def test_a_column_that_holds_no_codes_is_refused_in_japanese() -> None:
    with pytest.raises(SpecError, match="地域メッシュのコード"):
        vegalite_spec(
            _document("区"), [{"区": "中央区", "件数": 3}], [Column("区"), Column("件数", "integer")]
        )


POINTS = pa.schema([("緯度", pa.float64()), ("経度", pa.float64()), ("種別", pa.string())])


@pytest.fixture
def points(actors: Actors, lake_home: Any) -> tuple[Table, list[dict[str, Any]]]:
    """120 points around the city hall and 3 far north (a small mesh), owned by 健康づくり推進課."""
    rng = random.Random(11)
    rows = [
        {
            "緯度": 32.8031 + rng.uniform(-0.004, 0.004),
            "経度": 130.7079 + rng.uniform(-0.006, 0.006),
            "種別": "a",
        }
        for _ in range(120)
    ]
    rows += [{"緯度": 32.9301, "経度": 130.7501, "種別": "b"} for _ in range(3)]
    dataset = make_dataset(actors.org.health_div, classification=Classification.RESTRICTED, slug="pts")
    table = make_table(
        dataset, name="points", title="地点", schema={"fields": [{"name": c} for c in POINTS.names]}
    )
    write(table, rows, schema=POINTS)
    return table, rows


def _square_of(lat: float, lon: float) -> int:
    """The 3rd-level code by the standard's steps, written out in the test (not the code under test)."""
    p, a = divmod(lat * 60, 40)
    q, b = divmod(a, 5)
    r = int(b * 60 // 30)
    u, f = int(lon) - 100, lon - int(lon)
    v, g = divmod(f * 60, 7.5)
    w = int(g * 60 // 45)
    return int(f"{int(p)}{u}{int(q)}{int(v)}{r}{w}")


@pytest.mark.django_db
def test_the_builder_makes_a_mesh_map_and_small_squares_are_hidden_outside(
    actors: Actors, points: tuple[Table, list[dict[str, Any]]]
) -> None:
    table, rows = points
    data = {"table": f"{table.dataset.slug}/{table.name}", "type": "mesh", "x": "緯度", "mesh_lon": "経度",
            "mesh_level": "mesh3", "y_op": "count", "title": "地点のメッシュ"}  # fmt: skip
    document = document_from(data, {"緯度": "number", "経度": "number", "種別": "string"})
    expected = Counter(_square_of(r["緯度"], r["経度"]) for r in rows)
    assert 49301566 in expected
    small = {code for code, n in expected.items() if n < SUPPRESS_BELOW}
    assert small  # the far point's square holds 3
    inside = document_render(actor=actor_for(actors.users["owner_viewer"]), document=document)
    assert {int(f["properties"]["mesh"]): f["properties"]["value"] for f in _cells(inside.spec)} == dict(
        expected
    )
    outside = document_render(actor=actor_for(actors.users["admin"]), document=document)
    shown = {int(f["properties"]["mesh"]): f["properties"]["value"] for f in _cells(outside.spec)}
    assert {c for c, v in shown.items() if v is None} == small
    assert all(v >= SUPPRESS_BELOW for v in shown.values() if v is not None)
