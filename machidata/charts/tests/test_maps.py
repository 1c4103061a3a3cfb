"""Ward maps: shipped boundaries with rings oriented for Vega, joined by name, address or code, attributed."""

from __future__ import annotations

import json

import pytest

from machidata.charts.maps import ATTRIBUTION, WARDS_FILE, for_vega, ring_area, ward_features, ward_name
from machidata.charts.render import render
from machidata.charts.vegalite import SpecError, vegalite_spec

COLS = [{"name": "区"}, {"name": "件数", "kind": "integer"}]
DOC = {"visual": {"type": "map", "x": "区", "y": "件数"}, "meta": {"title": "区別の件数", "source": "テスト"}}


def test_rings_are_clockwise_outside_and_counter_clockwise_inside() -> None:
    square = [
        [0.0, 0.0],
        [1.0, 0.0],
        [1.0, 1.0],
        [0.0, 1.0],
        [0.0, 0.0],
    ]  # counter-clockwise (RFC 7946 exterior)
    hole = [[0.2, 0.2], [0.2, 0.8], [0.8, 0.8], [0.8, 0.2], [0.2, 0.2]]  # clockwise (RFC 7946 hole)
    out = for_vega({"type": "Polygon", "coordinates": [square, hole]})["coordinates"]
    assert ring_area(out[0]) < 0 < ring_area(out[1])
    assert len(json.loads(WARDS_FILE.read_text(encoding="utf-8"))["features"]) == 5
    for f in ward_features():
        polygons = (
            [f["geometry"]["coordinates"]]
            if f["geometry"]["type"] == "Polygon"
            else f["geometry"]["coordinates"]
        )
        for rings in polygons:
            assert ring_area(rings[0]) < 0, f["properties"]["ward"]


@pytest.mark.parametrize(
    ("value", "ward"),
    [("中央区", "中央区"), ("熊本市東区", "東区"), ("熊本市北区植木町岩野", "北区"), ("43103", "西区"),
     ("431044", "南区"), ("博多区", None), ("99999", None), (None, None)],
)  # fmt: skip
def test_ward_names(value: object, ward: str | None) -> None:
    assert ward_name(value) == ward


def test_map_spec_joins_values_and_shows_the_attribution() -> None:
    rows = [{"区": "熊本市中央区", "件数": 10}, {"区": "43102", "件数": 7}]
    spec = vegalite_spec(DOC, rows, COLS)
    values = {f["properties"]["ward"]: f["properties"]["value"] for f in spec["data"]["values"]}
    assert values == {"中央区": 10, "東区": 7, "西区": None, "南区": None, "北区": None}
    assert f"地図: {ATTRIBUTION}" in spec["title"]["subtitle"]
    assert set(spec["data"]) == {"values"}  # inline data, no URL
    assert render(spec, "svg").decode().count("<path") >= 5


def test_map_refuses_values_that_are_not_wards() -> None:
    with pytest.raises(SpecError, match="熊本市の区"):
        vegalite_spec(DOC, [{"区": "博多区", "件数": 1}], COLS)
    with pytest.raises(SpecError, match="数値ではない"):
        vegalite_spec(DOC, [{"区": "中央区", "件数": 1}], [{"name": "区"}, {"name": "件数"}])


def test_point_map_over_the_wards() -> None:
    rows = [{"経度": 130.7417, "緯度": 32.8032, "種別": "病院"}, {"経度": 130.70, "緯度": 32.76, "種別": "薬局"},
            {"経度": None, "緯度": 32.8, "種別": "不明"}]  # fmt: skip
    cols = [{"name": "経度", "kind": "number"}, {"name": "緯度", "kind": "number"}, {"name": "種別"}]
    document = {
        "visual": {"type": "points", "x": "経度", "y": "緯度", "color": "種別"},
        "meta": {"title": "施設"},
    }
    spec = vegalite_spec(document, rows, cols)
    background, points = spec["layer"]
    assert len(background["data"]["values"]) == 5
    assert [r["種別"] for r in points["data"]["values"]] == [
        "病院",
        "薬局",
    ]  # rows without a position are left out
    assert points["encoding"]["longitude"]["field"] == "経度"
    assert f"地図: {ATTRIBUTION}" in spec["title"]["subtitle"]
    assert "3地点を熊本市の区の地図の上に点で示す（種別で色分け）" in spec["description"]
    assert render(spec, "svg").decode().count("<path") >= 7
    with pytest.raises(SpecError, match="緯度・経度として使えません"):
        vegalite_spec(
            document, rows, [{"name": "経度"}, {"name": "緯度", "kind": "number"}, {"name": "種別"}]
        )
