"""Boundary sets (町丁・校区): checking and simplifying an upload, versions, the join by code or name, the map."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from machidata.access.policy import actor_for
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Table
from machidata.charts.boundaries import MAX_BYTES, BoundaryError, join, read_geojson
from machidata.charts.maps import ring_area
from machidata.charts.models import BoundarySet, BoundaryVersion
from machidata.charts.selectors import document_render
from machidata.charts.services import boundary_upload
from machidata.core.errors import InvalidInput, PermissionDenied
from machidata.core.testing import Actors
from machidata.jp.text import kanji_number, normalize_town_name


def square(lon: float, lat: float, size: float = 0.01, points_per_side: int = 1) -> list[list[float]]:
    """A closed counter-clockwise square ring; extra points along each side lie on the straight line."""
    corners = [(lon, lat), (lon + size, lat), (lon + size, lat + size), (lon, lat + size)]
    ring: list[list[float]] = []
    for (x0, y0), (x1, y1) in zip(corners, corners[1:] + corners[:1], strict=True):
        for k in range(points_per_side):
            t = k / points_per_side
            ring.append([x0 + (x1 - x0) * t, y0 + (y1 - y0) * t])
    return [*ring, ring[0]]


def feature(props: dict[str, Any] | None, ring: list[list[float]] | None = None) -> dict[str, Any]:
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Polygon", "coordinates": [ring or square(130.70, 32.80)]}}  # fmt: skip


def collection(*features: dict[str, Any], **extra: Any) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features), **extra}).encode()


TOWNS = collection(
    feature({"KEY_CODE": "431010010", "S_NAME": "水前寺一丁目"}, square(130.70, 32.80, points_per_side=50)),
    feature({"KEY_CODE": "431010020", "S_NAME": "水前寺二丁目"}, square(130.71, 32.80)),
    feature({"KEY_CODE": "431010030", "S_NAME": "出水十二丁目"}, square(130.72, 32.80)),
)


def test_kanji_numbers_and_town_names() -> None:
    assert [kanji_number(t) for t in ["一", "十", "十二", "二十", "二十三", "二〇", "百"]] == [
        1,
        10,
        12,
        20,
        23,
        20,
        None,
    ]
    same = {
        "水前寺1丁目",
        "水前寺１丁目",
        "水前寺一丁目",
        "熊本市中央区 水前寺一丁目",
        "熊本県熊本市中央区水前寺1丁目",
    }
    assert {normalize_town_name(s) for s in same} == {"水前寺1丁目"}
    assert normalize_town_name("出水十二丁目") == "出水12丁目"


def test_a_good_file_is_simplified_oriented_and_keyed() -> None:
    read = read_geojson(TOWNS, code_property="KEY_CODE", name_property="S_NAME")
    assert [f["properties"] for f in read.features] == [
        {"code": "431010010", "name": "水前寺一丁目"},
        {"code": "431010020", "name": "水前寺二丁目"},
        {"code": "431010030", "name": "出水十二丁目"},
    ]
    assert read.points_before == 201 + 5 + 5
    first = read.features[0]["geometry"]["coordinates"][0][0]
    assert len(first) == 5  # the 200 points on straight sides leave the 4 corners (and the closing one)
    assert {(round(x, 6), round(y, 6)) for x, y in first} == {
        (round(x, 6), round(y, 6)) for x, y in square(130.70, 32.80)
    }
    assert ring_area(first) < 0  # clockwise for Vega
    assert read.points_after == 15


@pytest.mark.parametrize(
    ("data", "kwargs", "message"),
    [
        (b"\x89PNG not json", {"code_property": "KEY_CODE"}, "読めません"),
        (b"PK\x03\x04zip", {"code_property": "KEY_CODE"}, "zip ファイルです"),
        (json.dumps({"type": "Feature"}).encode(), {"code_property": "KEY_CODE"}, "FeatureCollection"),
        (collection(), {"code_property": "KEY_CODE"}, "1つもありません"),
        (TOWNS, {}, "属性（コードの属性か名前の属性）"),
        (collection(feature(None)), {"code_property": "KEY_CODE"}, "属性（properties）がありません"),
        (collection(feature({"X": 1})), {"code_property": "KEY_CODE"}, "属性「KEY_CODE」がないか空"),
        (
            collection(
                feature({"KEY_CODE": "1"}),
                crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::6670"}},
            ),
            {"code_property": "KEY_CODE"},
            "座標参照系",
        ),
        (
            collection(
                feature(
                    {"KEY_CODE": "1"},
                    [[-28000.0, 15000.0], [-27000.0, 15000.0], [-27000.0, 16000.0], [-28000.0, 15000.0]],
                )
            ),
            {"code_property": "KEY_CODE"},
            "経度・緯度ではありません",
        ),
        (
            collection(feature({"KEY_CODE": "1"}, square(130.7, 32.8)[:-1])),
            {"code_property": "KEY_CODE"},
            "輪が閉じていません",
        ),
        (
            collection(feature({"KEY_CODE": "1"}, [[130.7, 32.8], [130.7, 32.8]])),
            {"code_property": "KEY_CODE"},
            "4つ未満",
        ),
        (
            collection(
                feature({"KEY_CODE": "1"}, [[130.7, 32.8], ["x", 32.8], [130.8, 32.9], [130.7, 32.8]])
            ),
            {"code_property": "KEY_CODE"},
            "数でない",
        ),
        (
            collection(
                {
                    "type": "Feature",
                    "properties": {"KEY_CODE": "1"},
                    "geometry": {"type": "Point", "coordinates": [130.7, 32.8]},
                }
            ),
            {"code_property": "KEY_CODE"},
            "面（Polygon",
        ),
        (
            collection(feature({"KEY_CODE": "1"}), feature({"KEY_CODE": "1"})),
            {"code_property": "KEY_CODE"},
            "2つの区域",
        ),
        (b" " * (MAX_BYTES + 1), {"code_property": "KEY_CODE"}, "大きすぎます"),
    ],
)
def test_bad_files_are_refused_in_japanese(data: bytes, kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(BoundaryError, match=message):
        read_geojson(data, **kwargs)


def test_rows_join_on_code_or_normalised_name() -> None:
    features = read_geojson(TOWNS, code_property="KEY_CODE", name_property="S_NAME").features
    rows = [
        {"町": "431010010", "件数": 7},
        {"町": "熊本市中央区水前寺２丁目", "件数": 9},
        {"町": "どこでもない", "件数": 1},
    ]
    joined, missed = join(features, rows, "町", "件数")
    assert [f["properties"]["value"] for f in joined] == [7, 9, None]
    assert missed == 1


@pytest.mark.django_db
def test_upload_is_for_data_strategy_versioned_audited_and_nothing_stored_when_bad(actors: Actors) -> None:
    admin = actor_for(actors.users["admin"])
    with pytest.raises(PermissionDenied):
        boundary_upload(actor=actor_for(actors.users["owner_editor"]), name="町丁", data=TOWNS,
                        attribution="熊本市", code_property="KEY_CODE")  # fmt: skip
    with pytest.raises(InvalidInput, match="座標参照系"):
        boundary_upload(actor=admin, name="町丁", attribution="熊本市", code_property="KEY_CODE",
                        data=collection(feature({"KEY_CODE": "1"}), crs={"type": "name", "properties": {"name": "EPSG:2444"}}))  # fmt: skip
    assert not BoundarySet.objects.exists()
    assert not BoundaryVersion.objects.exists()
    first = boundary_upload(actor=admin, name="町丁", data=TOWNS, attribution="熊本市（町丁目境界）",
                            code_property="KEY_CODE", name_property="S_NAME")  # fmt: skip
    second = boundary_upload(actor=admin, name="町丁", data=TOWNS, attribution="熊本市（町丁目境界）",
                             name_property="S_NAME")  # fmt: skip
    assert (first.number, second.number) == (1, 2)
    assert first.boundary_set_id == second.boundary_set_id
    assert AuditEvent.objects.filter(action="boundary.upload").count() == 2


def boundary_document(table: Table, boundary: str) -> dict[str, Any]:
    return {
        "query": {"table": {"dataset": table.dataset.slug, "name": table.name}, "filters": [],
                  "group_by": [{"column": "区", "as": "区"}], "measures": [{"op": "count", "as": "件数"}]},
        "visual": {"type": "boundary", "x": "区", "y": "件数", "options": {"boundary": boundary}},
        "meta": {"title": "区の件数"},
    }  # fmt: skip


@pytest.mark.django_db
def test_a_boundary_map_joins_the_chart_rows_and_shows_the_attribution(actors: Actors, table: Table) -> None:
    wards = collection(
        *(
            feature({"N": w}, square(130.6 + i * 0.02, 32.8))
            for i, w in enumerate(["中央区", "東区", "西区", "南区", "北区"])
        )
    )
    version = boundary_upload(actor=actor_for(actors.users["admin"]), name="区（テスト）", data=wards,
                              attribution="テストの境界（CC BY 4.0）", name_property="N")  # fmt: skip
    rendered = document_render(actor=actor_for(actors.users["owner_viewer"]),
                               document=boundary_document(table, str(version.boundary_set.uuid)))  # fmt: skip
    values = {f["properties"]["name"]: f["properties"]["value"] for f in rendered.spec["data"]["values"]}
    assert values == {"中央区": 5, "東区": 5, "西区": 5, "南区": 5, "北区": 5}  # 25 rows, 5 per ward
    assert "テストの境界（CC BY 4.0）" in " ".join(rendered.spec["title"]["subtitle"])
    assert rendered.spec["usermeta"]["machidata"]["attribution"] == "地図: テストの境界（CC BY 4.0）"
    with pytest.raises(InvalidInput, match="境界データが見つかりません"):
        document_render(actor=actor_for(actors.users["owner_viewer"]),
                        document=boundary_document(table, "00000000-0000-0000-0000-000000000000"))  # fmt: skip
    assert all(
        math.isfinite(p[0])
        for f in rendered.spec["data"]["values"]
        for p in f["geometry"]["coordinates"][0][0]
    )


@pytest.mark.django_db
def test_the_page_lists_sets_and_only_data_strategy_uploads(actors: Actors) -> None:
    staff, admin = Client(), Client()
    staff.force_login(actors.users["owner_viewer"])
    admin.force_login(actors.users["admin"])
    page = staff.get(reverse("charts:boundaries"))
    assert page.status_code == 200
    assert "まだ境界データはありません" in page.content.decode()
    assert "登録する" not in page.content.decode()
    upload = {"name": "町丁", "attribution": "熊本市", "code_property": "KEY_CODE", "name_property": "S_NAME"}
    refused = staff.post(
        reverse("charts:boundary_upload"), {**upload, "file": SimpleUploadedFile("t.geojson", TOWNS)}
    )
    assert refused.status_code == 403
    bad = admin.post(reverse("charts:boundary_upload"),
                     {**upload, "file": SimpleUploadedFile("t.geojson", b"PK\x03\x04")})  # fmt: skip
    assert bad.status_code == 400
    assert "zip ファイルとして読めません" in bad.content.decode()
    ok = admin.post(
        reverse("charts:boundary_upload"), {**upload, "file": SimpleUploadedFile("t.geojson", TOWNS)}
    )
    assert ok.status_code == 302
    listed = staff.get(reverse("charts:boundaries")).content.decode()
    assert "町丁" in listed
    assert "第1版" in listed
