"""Boundary files the city uploads (町丁・字, 校区): read, check, simplify for display, and join to a chart's rows.

Pure functions (no Django): :func:`read_geojson` turns the uploaded bytes into features ready for
Vega (rings clockwise, coordinates rounded, each ring simplified by Douglas–Peucker) or raises
:class:`BoundaryError` with a Japanese message naming what is wrong — nothing is stored then. Only
GeoJSON in longitude/latitude (WGS 84 / JGD2000 / JGD2011) is read: a Shapefile needs a reader the
project does not install (pyshp is not in the environment; GDAL is not wanted), so the message says
how to convert one. A feature's key is its code property or its name property; names match after
:func:`machidata.jp.text.normalize_town_name` (NFKC, no spaces, 一丁目 → 1丁目, no leading 熊本市・区).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from machidata.charts.maps import for_vega
from machidata.jp.text import normalize_text, normalize_town_name

MAX_BYTES: Final = 20 * 1024 * 1024
MAX_FEATURES: Final = 5_000
TOLERANCE: Final = 0.00005  # degrees (about 5 m): finer than a 町丁 map on screen or on A4 needs
DIGITS: Final = 6  # about 0.1 m
# GeoJSON's default is WGS 84 longitude/latitude; an old-style "crs" member may name it or JGD.
LONLAT_CRS: Final = frozenset(
    {"urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:EPSG::4326", "EPSG:4326", "urn:ogc:def:crs:EPSG::6668",
     "EPSG:6668", "urn:ogc:def:crs:EPSG::4612", "EPSG:4612"}
)  # fmt: skip
LON_RANGE: Final = (122.0, 154.0)
LAT_RANGE: Final = (20.0, 46.0)


class BoundaryError(ValueError):
    """The file cannot become a boundary set; the message says why, in Japanese."""


@dataclass
class Boundaries:
    """Checked, simplified features and the vertex counts before and after simplification."""

    features: list[dict[str, Any]]
    points_before: int
    points_after: int


def _perpendicular(p: Sequence[float], a: Sequence[float], b: Sequence[float]) -> float:
    (x, y), (x1, y1), (x2, y2) = p[:2], a[:2], b[:2]
    dx, dy = x2 - x1, y2 - y1
    if dx == 0 and dy == 0:
        return math.hypot(x - x1, y - y1)
    return abs(dy * x - dx * y + x2 * y1 - y2 * x1) / math.hypot(dx, dy)


def simplify(points: list[list[float]], tolerance: float) -> list[list[float]]:
    """Douglas–Peucker on an open line (iterative: deep rings never hit the recursion limit)."""
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        best, index = 0.0, None
        for i in range(first + 1, last):
            d = _perpendicular(points[i], points[first], points[last])
            if d > best:
                best, index = d, i
        if index is not None and best > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def _ring(raw: Any, where: str) -> list[list[float]]:
    if not isinstance(raw, list) or len(raw) < 4:
        raise BoundaryError(f"{where}の形が正しくありません（輪の頂点が4つ未満です）。")
    ring = []
    for point in raw:
        if (
            not isinstance(point, list | tuple)
            or len(point) < 2
            or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in point[:2]
            )
        ):
            raise BoundaryError(f"{where}の座標に数でない値があります。")
        lon, lat = float(point[0]), float(point[1])
        if not (LON_RANGE[0] <= lon <= LON_RANGE[1] and LAT_RANGE[0] <= lat <= LAT_RANGE[1]):
            raise BoundaryError(
                f"{where}の座標（{point[0]}, {point[1]}）が経度・緯度ではありません。平面直角座標系などで"
                "書き出したファイルは、経度・緯度（世界測地系 JGD2011 / WGS84）に変換してから登録してください。"
            )
        ring.append([lon, lat])
    if ring[0] != ring[-1]:
        raise BoundaryError(
            f"{where}の形が正しくありません（輪が閉じていません：最初と最後の頂点が違います）。"
        )
    return ring


def _polygons(geometry: Any, where: str) -> list[list[list[list[float]]]]:
    if not isinstance(geometry, Mapping) or geometry.get("type") not in {"Polygon", "MultiPolygon"}:
        kind = geometry.get("type") if isinstance(geometry, Mapping) else "なし"
        raise BoundaryError(f"{where}の形が面（Polygon・MultiPolygon）ではありません（{kind}）。")
    coords = geometry.get("coordinates")
    polygons = [coords] if geometry["type"] == "Polygon" else coords
    if not isinstance(polygons, list) or not polygons:
        raise BoundaryError(f"{where}に座標がありません。")
    out = []
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise BoundaryError(f"{where}に座標がありません。")
        out.append([_ring(r, where) for r in polygon])
    return out


def _simplified(ring: list[list[float]]) -> list[list[float]]:
    """A closed ring simplified as two open halves (so the closing point stays), never below 4 points."""
    half = len(ring) // 2
    out = simplify(ring[: half + 1], TOLERANCE)[:-1] + simplify(ring[half:], TOLERANCE)
    if len(out) < 4:
        out = ring
    return [[round(x, DIGITS), round(y, DIGITS)] for x, y in out]


def _text(value: Any) -> str:
    return "" if value is None else normalize_text(str(value))


def read_geojson(data: bytes, *, code_property: str = "", name_property: str = "") -> Boundaries:  # noqa: PLR0912 — one check per kind of bad input
    """Check and simplify an uploaded GeoJSON FeatureCollection; :class:`BoundaryError` on anything wrong."""
    if len(data) > MAX_BYTES:
        raise BoundaryError(
            f"ファイルが大きすぎます（{len(data) / 1024 / 1024:.1f}MB、上限{MAX_BYTES // 1024 // 1024}MB）。範囲を分けるか、簡略化してから登録してください。"
        )
    if data[:4] == b"PK\x03\x04":
        raise BoundaryError(
            "Shapefile（zip）はまだ読めません。QGIS などで GeoJSON（経度・緯度、EPSG:6668 か 4326）に変換して登録してください。"
        )
    if not code_property and not name_property:
        raise BoundaryError("区域をつなぐ属性（コードの属性か名前の属性）を1つ以上指定してください。")
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BoundaryError("GeoJSON として読めません（UTF-8 の JSON ではありません）。") from None
    if not isinstance(doc, Mapping) or doc.get("type") != "FeatureCollection":
        raise BoundaryError("GeoJSON の FeatureCollection（区域の集まり）ではありません。")
    crs = doc.get("crs")
    if crs is not None:
        name = str(((crs.get("properties") or {}) if isinstance(crs, Mapping) else {}).get("name") or "")
        if name not in LONLAT_CRS:
            raise BoundaryError(
                f"座標参照系（CRS）が「{name or '不明'}」です。経度・緯度（JGD2011 の EPSG:6668 か WGS84 の EPSG:4326）で書き出してください。"
            )
    raw = doc.get("features")
    if not isinstance(raw, list) or not raw:
        raise BoundaryError("区域（features）が1つもありません。")
    if len(raw) > MAX_FEATURES:
        raise BoundaryError(f"区域が多すぎます（{len(raw):,}、上限{MAX_FEATURES:,}）。")
    features, before, after = [], 0, 0
    seen: dict[tuple[str, str], int] = {}
    for i, feature in enumerate(raw, start=1):
        where = f"{i}番目の区域"
        props = feature.get("properties") if isinstance(feature, Mapping) else None
        if not isinstance(props, Mapping) or not props:
            raise BoundaryError(f"{where}に属性（properties）がありません。コードや名前の属性が必要です。")
        keys: dict[str, str] = {}
        for role, prop in (("code", code_property), ("name", name_property)):
            if not prop:
                continue
            value = _text(props.get(prop))
            if not value:
                raise BoundaryError(
                    f"{where}に属性「{prop}」がないか空です（使える属性: {'、'.join(map(str, props))}）。"
                )
            key = value if role == "code" else normalize_town_name(value)
            if (role, key) in seen:
                raise BoundaryError(
                    f"属性「{prop}」の「{value}」が{seen[(role, key)]}番目と{i}番目の2つの区域にあります。"
                )
            seen[(role, key)] = i
            keys[role] = value
        polygons = _polygons(feature.get("geometry"), where)
        before += sum(len(r) for p in polygons for r in p)
        simple = [[_simplified(r) for r in p] for p in polygons]
        after += sum(len(r) for p in simple for r in p)
        geometry = for_vega({"type": "MultiPolygon", "coordinates": simple})
        features.append({"type": "Feature", "properties": keys, "geometry": geometry})
    return Boundaries(features, before, after)


def join(
    features: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]], key: str, value: str
) -> tuple[list[dict[str, Any]], int]:
    """The features with each row's ``value`` as ``properties.value``, matched on code, else normalised name.

    Returns the features and how many rows matched no area.
    """
    by_code = {
        str(f["properties"].get("code")): i for i, f in enumerate(features) if f["properties"].get("code")
    }
    by_name = {
        normalize_town_name(str(f["properties"]["name"])): i
        for i, f in enumerate(features)
        if f["properties"].get("name")
    }
    values: dict[int, Any] = {}
    missed = 0
    for r in rows:
        raw = r.get(key)
        text = _text(raw)
        found = by_code.get(text)
        if found is None:
            found = by_name.get(normalize_town_name(text)) if text else None
        if found is None:
            missed += 1
            continue
        values[found] = r.get(value)
    out = []
    for i, f in enumerate(features):
        props = dict(f["properties"])
        props["label"] = props.get("name") or props.get("code") or ""
        props["value"] = values.get(i)
        out.append({**f, "properties": props})
    return out, missed
