"""Zipped Shapefile uploads into a boundary set: CP932/UTF-8 attributes, .prj reprojection, refusals.

Every Shapefile here is written in the test with pyshp (the same library reads it, but the bytes on
disk follow the ESRI format, and the expected places come from the projection's definition).
"""

from __future__ import annotations

import io
import math
import zipfile
from typing import Any

import pytest
import shapefile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from machidata.charts import boundaries
from machidata.charts.boundaries import BoundaryError, read_boundaries, read_shapefile
from machidata.charts.maps import ring_area
from machidata.charts.models import BoundaryVersion
from machidata.core.testing import Actors

# .prj files as QGIS / ArcGIS write them (ESRI WKT), not produced by the code under test.
JGD2011_ZONE_2 = (
    'PROJCS["JGD_2011_Japan_Zone_2",GEOGCS["GCS_JGD_2011",DATUM["D_JGD_2011",SPHEROID["GRS_1980",6378137.0,'
    '298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
    'PARAMETER["False_Easting",0.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",131.0],'
    'PARAMETER["Scale_Factor",0.9999],PARAMETER["Latitude_Of_Origin",33.0],UNIT["Meter",1.0]]'
)
JGD2000_LONLAT = (
    'GEOGCS["GCS_JGD_2000",DATUM["D_JGD_2000",SPHEROID["GRS_1980",6378137.0,298.257222101]],'
    'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]'
)
TOKYO_ZONE_2 = (
    'PROJCS["Japan_Zone_2",GEOGCS["GCS_Tokyo",DATUM["D_Tokyo",SPHEROID["Bessel_1841",6377397.155,299.1528128]],'
    'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
    'PARAMETER["False_Easting",0.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",131.0],'
    'PARAMETER["Scale_Factor",0.9999],PARAMETER["Latitude_Of_Origin",33.0],UNIT["Meter",1.0]]'
)


def clockwise_square(x: float, y: float, size: float) -> list[list[float]]:
    """An outer ring as a Shapefile stores it (clockwise), closed."""
    return [[x, y], [x, y + size], [x + size, y + size], [x + size, y], [x, y]]


def shapefile_zip(
    areas: list[tuple[dict[str, Any], list[list[list[float]]]]],
    *,
    encoding: str = "cp932",
    cpg: str | None = None,
    prj: str | None = None,
    shape_type: int = shapefile.POLYGON,
    skip: tuple[str, ...] = (),
    folder: str = "",
) -> bytes:
    """A zip holding one Shapefile (町丁.shp/.shx/.dbf, optional .prj/.cpg) with ``areas``: (record, rings)."""
    shp, shx, dbf = io.BytesIO(), io.BytesIO(), io.BytesIO()
    with shapefile.Writer(shp=shp, shx=shx, dbf=dbf, shapeType=shape_type, encoding=encoding) as w:
        w.field("KEY_CODE", "C", size=20)
        w.field("S_NAME", "C", size=60)
        w.field("JINKO", "N", size=10)
        for record, rings in areas:
            if shape_type == shapefile.POINT:
                w.point(*rings[0][0])
            else:
                w.poly(rings)
            w.record(**record)
    files = {".shp": shp.getvalue(), ".shx": shx.getvalue(), ".dbf": dbf.getvalue()}
    if prj is not None:
        files[".prj"] = prj.encode()
    if cpg is not None:
        files[".cpg"] = cpg.encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for ext, content in files.items():
            if ext not in skip:
                z.writestr(f"{folder}町丁{ext}", content)
    return out.getvalue()


TOWNS = [
    (
        {"KEY_CODE": "431010010", "S_NAME": "水前寺一丁目", "JINKO": 1200},
        [clockwise_square(130.70, 32.80, 0.01)],
    ),
    (
        {"KEY_CODE": "431010020", "S_NAME": "髙橋﨑町", "JINKO": 800},
        [clockwise_square(130.71, 32.80, 0.01)],
    ),
]


def ring_points(feature: dict[str, Any]) -> set[tuple[float, float]]:
    return {(round(x, 6), round(y, 6)) for x, y in feature["geometry"]["coordinates"][0][0]}


def test_cp932_attributes_without_a_cpg_are_read_and_keyed() -> None:
    data = shapefile_zip(TOWNS)  # no .cpg: Japanese GIS software's CP932
    assert "水前寺".encode("cp932") in zipfile.ZipFile(io.BytesIO(data)).read("町丁.dbf")
    read = read_boundaries(data, code_property="KEY_CODE", name_property="S_NAME")
    assert [f["properties"] for f in read.features] == [
        {"code": "431010010", "name": "水前寺一丁目"},
        {"code": "431010020", "name": "髙橋﨑町"},  # CP932's NEC/IBM extensions, not in plain Shift_JIS
    ]
    assert ring_points(read.features[0]) == {
        (130.70, 32.80),
        (130.70, 32.81),
        (130.71, 32.81),
        (130.71, 32.80),
    }
    assert ring_area(read.features[0]["geometry"]["coordinates"][0][0]) < 0  # clockwise for Vega
    assert read.points_before == 10


@pytest.mark.parametrize(
    ("encoding", "cpg"), [("utf-8", "UTF-8"), ("utf-8", None), ("cp932", "932"), ("cp932", "SJIS")]
)
def test_the_cpg_names_the_encoding_and_utf8_is_recognised_without_one(
    encoding: str, cpg: str | None
) -> None:
    read = read_boundaries(shapefile_zip(TOWNS, encoding=encoding, cpg=cpg), name_property="S_NAME")
    assert [f["properties"]["name"] for f in read.features] == ["水前寺一丁目", "髙橋﨑町"]


def test_plane_rectangular_coordinates_are_projected_to_longitude_latitude() -> None:
    # 平面直角座標系 II (JGD2011): the origin is 東経131度・北緯33度 by definition; 1,000 m east and north of
    # it lie 1000 / (0.9999 × the meridian's radius) away (about 0.0107° of longitude, 0.0090° of latitude).
    data = shapefile_zip([({"KEY_CODE": "1", "S_NAME": "原点", "JINKO": 1}, [clockwise_square(0.0, 0.0, 1000.0)])],
                         prj=JGD2011_ZONE_2)  # fmt: skip
    read = read_shapefile(data, code_property="KEY_CODE")
    ring = read.features[0]["geometry"]["coordinates"][0][0]
    assert [131.0, 33.0] in ring
    lons = sorted({x for x, _ in ring})
    lats = sorted({y for _, y in ring})
    assert lons[0] == 131.0
    assert lats[0] == 33.0
    metres_per_degree_lat = (
        math.pi
        / 180
        * 6_378_137
        * (1 - 0.00669438)
        / (1 - 0.00669438 * math.sin(math.radians(33)) ** 2) ** 1.5
    )
    assert lats[1] - 33.0 == pytest.approx(1000 / 0.9999 / metres_per_degree_lat, rel=2e-3)
    metres_per_degree_lon = math.pi / 180 * 6_378_137 * math.cos(math.radians(33)) / (
        1 - 0.00669438 * math.sin(math.radians(33)) ** 2) ** 0.5  # fmt: skip
    assert lons[1] - 131.0 == pytest.approx(1000 / 0.9999 / metres_per_degree_lon, rel=2e-3)


def test_jgd2000_longitude_latitude_is_kept_as_it_is() -> None:
    read = read_shapefile(shapefile_zip(TOWNS, prj=JGD2000_LONLAT, folder="data/"), code_property="KEY_CODE")
    assert ring_points(read.features[1]) == {
        (130.71, 32.80),
        (130.71, 32.81),
        (130.72, 32.81),
        (130.72, 32.80),
    }


def test_holes_and_parts_survive() -> None:
    outer = clockwise_square(130.70, 32.80, 0.02)
    hole = list(reversed(clockwise_square(130.705, 32.805, 0.005)))  # holes run counter-clockwise
    island = clockwise_square(130.75, 32.80, 0.01)
    read = read_shapefile(
        shapefile_zip([({"KEY_CODE": "9", "S_NAME": "島", "JINKO": 5}, [outer, hole, island])]),
        code_property="KEY_CODE",
    )
    polygons = read.features[0]["geometry"]["coordinates"]
    assert sorted(len(p) for p in polygons) == [1, 2]  # the square with its hole, and the island


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"prj": TOKYO_ZONE_2}, "旧日本測地系"),
        ({"prj": "not a projection"}, r"\.prj ファイル（座標系）が読めません"),
        ({"shape_type": shapefile.POINT}, "面（ポリゴン）ではありません"),
        ({"skip": (".dbf",)}, r"\.dbf）がありません"),
        ({"skip": (".shp",)}, r"Shapefile（\.shp）がありません"),
        ({"cpg": "UTF-8"}, "UTF-8 として読めません"),  # the .dbf is CP932 but the .cpg says UTF-8
        ({"cpg": "KLINGON"}, "文字コード「KLINGON」がわかりません"),
    ],
)
def test_bad_shapefiles_are_refused_in_japanese(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(BoundaryError, match=message):
        read_boundaries(shapefile_zip(TOWNS, **kwargs), code_property="KEY_CODE", name_property="S_NAME")


def test_lonlat_checked_without_a_prj_and_other_refusals() -> None:
    plane = shapefile_zip(
        [({"KEY_CODE": "1", "S_NAME": "x", "JINKO": 1}, [clockwise_square(-28000, 15000, 500)])]
    )
    with pytest.raises(BoundaryError, match="経度・緯度ではありません"):
        read_boundaries(plane, code_property="KEY_CODE")
    with pytest.raises(BoundaryError, match="属性「CITY」がないか空"):
        read_boundaries(shapefile_zip(TOWNS), code_property="CITY")
    two = io.BytesIO()
    with zipfile.ZipFile(two, "w") as z:
        z.writestr("a.shp", b"x")
        z.writestr("b.shp", b"y")
    with pytest.raises(BoundaryError, match="Shapefile が2つあります"):
        read_boundaries(two.getvalue(), code_property="KEY_CODE")
    with pytest.raises(BoundaryError, match="zip ファイルとして読めません"):
        read_boundaries(b"PK\x03\x04broken", code_property="KEY_CODE")
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as z:
        z.writestr("町丁.shp", b"\x00" * 120)
        z.writestr("町丁.dbf", b"\x03" * 40)
    with pytest.raises(BoundaryError, match="Shapefile として読めません"):
        read_boundaries(broken.getvalue(), code_property="KEY_CODE")


def test_a_zip_that_unpacks_too_large_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    data = shapefile_zip(TOWNS)
    monkeypatch.setattr(boundaries, "MAX_UNZIPPED", 100)
    with pytest.raises(BoundaryError, match="展開すると大きすぎます"):
        read_boundaries(data, code_property="KEY_CODE")


@pytest.mark.django_db
def test_a_zipped_shapefile_uploads_through_the_page(actors: Actors) -> None:
    admin = Client()
    admin.force_login(actors.users["admin"])
    upload = {
        "name": "町丁",
        "attribution": "熊本市（境界データ）",
        "code_property": "KEY_CODE",
        "name_property": "S_NAME",
    }
    ok = admin.post(
        reverse("charts:boundary_upload"),
        {**upload, "file": SimpleUploadedFile("町丁.zip", shapefile_zip(TOWNS, prj=JGD2000_LONLAT))},
    )
    assert ok.status_code == 302
    version = BoundaryVersion.objects.get(boundary_set__name="町丁")
    assert [f["properties"]["name"] for f in version.features] == ["水前寺一丁目", "髙橋﨑町"]
    bad = admin.post(
        reverse("charts:boundary_upload"),
        {**upload, "file": SimpleUploadedFile("町丁.zip", shapefile_zip(TOWNS, prj=TOKYO_ZONE_2))},
    )
    assert bad.status_code == 400
    assert "旧日本測地系" in bad.content.decode()
    assert BoundaryVersion.objects.count() == 1
