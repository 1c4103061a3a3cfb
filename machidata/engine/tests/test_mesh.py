"""地域メッシュ (JIS X 0410): codes of published places, the square of a code, and grouping by mesh in the engine."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pytest

from machidata.engine import TableQuery, run_query
from machidata.engine.errors import EngineQueryError
from machidata.engine.mesh import MeshError, grain_of, mesh_bounds, mesh_code
from machidata.engine.tests.conftest import write_rows

# Published codes: 東京タワー (the jismesh documentation's and the 統計局's usual example), 東京駅,
# and 熊本市役所 on the 1st-level sheet 4930「熊本」 and the 2nd-level 493015.
TOKYO_TOWER = (35.658581, 139.745433)
PUBLISHED = [
    (TOKYO_TOWER, "mesh1", 5339),
    (TOKYO_TOWER, "mesh2", 533935),
    (TOKYO_TOWER, "mesh3", 53393599),
    (TOKYO_TOWER, "mesh_half", 533935992),
    (TOKYO_TOWER, "mesh_quarter", 5339359921),
    ((35.681236, 139.767125), "mesh3", 53394611),
    ((32.8031, 130.7079), "mesh1", 4930),
    ((32.8031, 130.7079), "mesh2", 493015),
    ((32.8031, 130.7079), "mesh3", 49301566),
]


@pytest.mark.parametrize(("point", "grain", "code"), PUBLISHED)
def test_published_codes(point: tuple[float, float], grain: str, code: int) -> None:
    assert mesh_code(*point, grain) == code


def test_the_square_of_a_code_holds_the_point_and_has_the_standard_size() -> None:
    south, west, north, east = mesh_bounds(53393599)
    lat, lon = TOKYO_TOWER
    assert south <= lat < north
    assert west <= lon < east
    assert north - south == pytest.approx(30 / 3600)  # 30 seconds of latitude
    assert east - west == pytest.approx(45 / 3600)  # 45 seconds of longitude
    s1, w1, n1, e1 = mesh_bounds(5339)
    assert (s1, w1) == pytest.approx((53 / 1.5, 139.0))
    assert (n1 - s1, e1 - w1) == pytest.approx((40 / 60, 1.0))
    half = mesh_bounds(533935992)  # 2: the south-east quarter of the 3rd-level square
    assert half == pytest.approx((south, (west + east) / 2, (south + north) / 2, east))


def test_random_points_fall_in_their_squares_at_every_level() -> None:
    rng = random.Random(3)
    for _ in range(500):
        lat, lon = rng.uniform(24, 45.5), rng.uniform(123, 153)
        for grain, digits in (
            ("mesh1", 4),
            ("mesh2", 6),
            ("mesh3", 8),
            ("mesh_half", 9),
            ("mesh_quarter", 10),
        ):
            code = mesh_code(lat, lon, grain)
            assert len(str(code)) == digits
            assert grain_of(code) == grain
            south, west, north, east = mesh_bounds(code)
            assert south - 1e-9 <= lat < north + 1e-9
            assert west - 1e-9 <= lon < east + 1e-9


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mesh_code(10.0, 130.0), "範囲"),
        (lambda: mesh_code(float("nan"), 130.0), "範囲"),
        (lambda: mesh_code(32.8, 130.7, "mesh9"), "メッシュの種類"),
        (lambda: mesh_bounds("49301A66"), "コード"),
        (lambda: mesh_bounds(4930156), "コード"),
        (lambda: mesh_bounds(493085), "0〜7"),
        (lambda: mesh_bounds(493015665), "1〜4"),
    ],
)
def test_bad_codes_and_points_are_refused_in_japanese(call: object, message: str) -> None:
    with pytest.raises(MeshError, match=message):
        call()  # type: ignore[operator]


SCHEMA = pa.schema(
    [("lat", pa.float64()), ("lon", pa.float64()), ("name", pa.string()), ("kind", pa.string())]
)


def test_the_engine_groups_points_by_mesh(tmp_path: Path) -> None:
    rng = random.Random(5)
    rows = [{"lat": lat, "lon": lon, "name": "既知", "kind": "a"} for (lat, lon), _, _ in PUBLISHED]
    rows += [
        {"lat": rng.uniform(32.70, 32.90), "lon": rng.uniform(130.60, 130.85), "name": "熊本", "kind": "b"}
        for _ in range(400)
    ]
    rows += [
        {"lat": None, "lon": 130.7, "name": "空", "kind": "c"},
        {"lat": 10.0, "lon": 130.7, "name": "外", "kind": "c"},
    ]
    files = [write_rows(tmp_path / "p.parquet", rows, SCHEMA)]
    for grain in ("mesh1", "mesh2", "mesh3", "mesh_half", "mesh_quarter"):
        got = run_query(
            files,
            TableQuery.from_dict(
                {
                    "group_by": [{"column": "lat", "lon": "lon", "grain": grain, "as": "メッシュ"}],
                    "measures": [{"op": "count"}],
                }
            ),
            max_rows=100_000,
        ).table.to_pylist()
        counts: dict[int | None, int] = {}
        for r in rows:
            inside = r["lat"] is not None and 20 <= r["lat"] < 46
            key = mesh_code(r["lat"], r["lon"], grain) if inside else None
            counts[key] = counts.get(key, 0) + 1
        assert {r["メッシュ"]: r["件数"] for r in got} == counts
        published = {code for (_, g, code) in PUBLISHED if g == grain}
        assert published <= {r["メッシュ"] for r in got}


def test_mesh_keys_are_checked_in_japanese(tmp_path: Path) -> None:
    files = [
        write_rows(tmp_path / "p.parquet", [{"lat": 32.8, "lon": 130.7, "name": "x", "kind": "a"}], SCHEMA)
    ]
    cases = [
        ({"column": "lat", "grain": "mesh3"}, "経度の列（lon）を指定"),
        ({"column": "lat", "lon": "lon"}, "地域メッシュ"),
        ({"column": "lat", "lon": "なし", "grain": "mesh3"}, "この表にありません"),
        ({"column": "name", "lon": "lon", "grain": "mesh3"}, "数値の列が必要"),
    ]
    for group, message in cases:
        with pytest.raises(EngineQueryError, match=message):
            run_query(files, TableQuery.from_dict({"group_by": [group], "measures": [{"op": "count"}]}))
    named = run_query(
        files,
        TableQuery.from_dict(
            {"group_by": [{"column": "lat", "lon": "lon", "grain": "mesh2"}], "measures": [{"op": "count"}]}
        ),
    ).table
    assert named.column_names[0] == "2次メッシュ（lat・lon）"
