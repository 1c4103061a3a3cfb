"""Boundary files the city uploads (町丁・字, 校区): read, check, simplify for display, and join to a chart's rows.

Pure functions (no Django): :func:`read_geojson` turns the uploaded bytes into features ready for
Vega (rings clockwise, coordinates rounded, each ring simplified by Douglas–Peucker) or raises
:class:`BoundaryError` with a Japanese message naming what is wrong — nothing is stored then.
:func:`read_boundaries` takes either GeoJSON in longitude/latitude (WGS 84 / JGD2000 / JGD2011) or a
zipped Shapefile (.shp, .dbf, optionally .shx, .prj, .cpg; read by pyshp, pure Python, no GDAL):
attributes are decoded as the .cpg says or, without one, as CP932 (what Japanese GIS software
writes; UTF-8 when the .dbf is valid UTF-8); the .prj's CRS (pyproj, offline: its own proj.db, no grids) may be JGD2011/JGD2000/WGS 84
longitude/latitude or any projection on those datums (平面直角座標系 I–XIX, UTM), projected back to
longitude/latitude on the same datum; 旧日本測地系 (Tokyo) and other datums are refused, as is
anything that cannot be read. A feature's key is its code property or its name property; names match after
:func:`machidata.jp.text.normalize_town_name` (NFKC, no spaces, 一丁目 → 1丁目, no leading 熊本市・区).
"""

from __future__ import annotations

import codecs
import io
import json
import math
import struct
import zipfile
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
MAX_UNZIPPED: Final = 200 * 1024 * 1024  # a zipped Shapefile's members together (a zip bomb stops here)
# Datums whose longitude/latitude are taken as WGS 84 for display (JGD2000/JGD2011 differ from it by
# centimetres to about a metre, well under a 町丁 boundary's width on screen).
DATUMS: Final = frozenset(
    {"Japanese Geodetic Datum 2011", "Japanese Geodetic Datum 2000", "World Geodetic System 1984"}
)
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


def _too_big(data: bytes) -> None:
    if len(data) > MAX_BYTES:
        raise BoundaryError(
            f"ファイルが大きすぎます（{len(data) / 1024 / 1024:.1f}MB、上限{MAX_BYTES // 1024 // 1024}MB）。範囲を分けるか、簡略化してから登録してください。"
        )


def read_boundaries(data: bytes, *, code_property: str = "", name_property: str = "") -> Boundaries:
    """A zipped Shapefile (by its zip signature) or a GeoJSON FeatureCollection, checked and simplified."""
    if data[:4] == b"PK\x03\x04":
        return read_shapefile(data, code_property=code_property, name_property=name_property)
    return read_geojson(data, code_property=code_property, name_property=name_property)


def read_geojson(data: bytes, *, code_property: str = "", name_property: str = "") -> Boundaries:
    """Check and simplify an uploaded GeoJSON FeatureCollection; :class:`BoundaryError` on anything wrong."""
    _too_big(data)
    if data[:4] == b"PK\x03\x04":
        raise BoundaryError(
            "zip ファイルです。Shapefile は .shp・.dbf（と .shx・.prj・.cpg）をまとめた zip で登録してください。"
        )
    _keys_given(code_property, name_property)
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
    return _features(raw, code_property, name_property)


def _keys_given(code_property: str, name_property: str) -> None:
    if not code_property and not name_property:
        raise BoundaryError("区域をつなぐ属性（コードの属性か名前の属性）を1つ以上指定してください。")


def _features(raw: Sequence[Any], code_property: str, name_property: str) -> Boundaries:
    """GeoJSON-shaped features (lon/lat) checked, keyed and simplified."""
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


# ---- Shapefile (zip) ----------------------------------------------------------------------------------

# What .cpg files say, beyond names Python knows: code page numbers and ESRI's spellings.
CPG_ALIASES: Final = {"932": "cp932", "ANSI 932": "cp932", "65001": "utf-8", "UTF8": "utf-8",
                      "SHIFT_JIS": "cp932", "SJIS": "cp932", "SHIFT-JIS": "cp932"}  # fmt: skip


def _encoding(cpg: bytes | None, dbf: bytes) -> str:
    """The attribute encoding a .cpg names (Shift_JIS read as its superset CP932).

    Without a .cpg: UTF-8 when the .dbf's bytes are valid UTF-8 with some non-ASCII text (Japanese
    in CP932 almost never is), else CP932, what Japanese GIS software writes without saying.
    """
    if cpg is None:
        records = dbf[int.from_bytes(dbf[8:10], "little") :]  # after the header (binary counts and sizes)
        try:
            records.decode("utf-8")
        except UnicodeDecodeError:
            return "cp932"
        return "cp932" if records.isascii() else "utf-8"
    name = cpg.decode("ascii", "replace").strip().upper()
    name = CPG_ALIASES.get(name, name)
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        raise BoundaryError(
            f".cpg ファイルの文字コード「{name}」がわかりません。UTF-8 か CP932（Shift_JIS）で書き出してください。"
        ) from None
    return "cp932" if codec in {"shift_jis", "cp932"} else codec


def _lonlat(prj: bytes | None) -> Any:
    """A function turning (xs, ys) into (longitudes, latitudes) for the .prj's CRS; None: already lon/lat.

    Without a .prj the coordinates must already be longitude/latitude (checked per point later).
    """
    if prj is None:
        return None
    from pyproj import CRS, Transformer  # only Shapefile uploads need PROJ
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_wkt(prj.decode("utf-8", "replace").strip())
    except CRSError:
        raise BoundaryError(
            ".prj ファイル（座標系）が読めません。経度・緯度（JGD2011）か平面直角座標系（JGD2011）で書き出してください。"
        ) from None
    datum = crs.datum.name if crs.datum is not None else ""
    if datum not in DATUMS:
        old = "旧日本測地系（Tokyo Datum）は位置が数百mずれるため使えません。" if "Tokyo" in datum else ""
        raise BoundaryError(
            f"座標系「{crs.name}」（測地系 {datum or '不明'}）は読めません。{old}"
            "世界測地系（JGD2011 か JGD2000）の経度・緯度か平面直角座標系で書き出してください。"
        )
    if crs.is_geographic:
        return None
    if not crs.is_projected or crs.geodetic_crs is None:
        raise BoundaryError(f"座標系「{crs.name}」は経度・緯度にも地図投影にもなっていないため読めません。")
    transformer = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
    return transformer.transform


def _members(data: bytes) -> dict[str, bytes]:
    """The zip's one Shapefile as {".shp": bytes, ".dbf": …}; refuses zero or several .shp, and bombs."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [
            i for i in archive.infolist()
            if not i.is_dir() and not i.filename.startswith("__MACOSX/") and "/." not in f"/{i.filename}"
        ]  # fmt: skip
    except (zipfile.BadZipFile, OSError):
        raise BoundaryError(
            "zip ファイルとして読めません（壊れているか、途中までしかありません）。"
        ) from None
    shps = [i for i in infos if i.filename.lower().endswith(".shp")]
    if not shps:
        raise BoundaryError(
            "zip の中に Shapefile（.shp）がありません。.shp・.dbf・.shx・.prj をまとめて zip にしてください。"
        )
    if len(shps) > 1:
        names = "、".join(i.filename for i in shps[:5])
        raise BoundaryError(
            f"zip の中に Shapefile が{len(shps)}つあります（{names}）。1つずつ登録してください。"
        )
    stem = shps[0].filename[:-4]
    parts = {i.filename[len(stem) :].lower(): i for i in infos if i.filename[: len(stem)] == stem}
    wanted = {k: v for k, v in parts.items() if k in {".shp", ".shx", ".dbf", ".prj", ".cpg"}}
    if ".dbf" not in wanted:
        raise BoundaryError(
            f"zip の中に属性のファイル（{stem}.dbf）がありません。.shp と同じ名前の .dbf も入れてください。"
        )
    if sum(i.file_size for i in wanted.values()) > MAX_UNZIPPED:
        raise BoundaryError(
            f"zip を展開すると大きすぎます（上限{MAX_UNZIPPED // 1024 // 1024}MB）。範囲を分けてください。"
        )
    try:
        return {k: archive.read(v) for k, v in wanted.items()}
    except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError):
        raise BoundaryError("zip の中のファイルが読めません（壊れているか、暗号化されています）。") from None


def _project(coords: Any, to_lonlat: Any) -> list[list[float]]:
    points = [list(p[:2]) for p in coords]
    if to_lonlat is None or not points:
        return points
    lons, lats = to_lonlat([p[0] for p in points], [p[1] for p in points])
    return [[float(x), float(y)] for x, y in zip(lons, lats, strict=True)]


def read_shapefile(data: bytes, *, code_property: str = "", name_property: str = "") -> Boundaries:
    """Check, reproject and simplify a zipped Shapefile of polygons; :class:`BoundaryError` on anything wrong."""
    import shapefile  # pyshp, only for Shapefile uploads

    _too_big(data)
    _keys_given(code_property, name_property)
    parts = _members(data)
    encoding = _encoding(parts.get(".cpg"), parts[".dbf"])
    to_lonlat = _lonlat(parts.get(".prj"))
    raw: list[dict[str, Any]] = []
    try:
        reader = shapefile.Reader(
            shp=io.BytesIO(parts[".shp"]), shx=io.BytesIO(parts[".shx"]) if ".shx" in parts else None,
            dbf=io.BytesIO(parts[".dbf"]), encoding=encoding, encodingErrors="strict",
        )  # fmt: skip
        if reader.shapeType not in {shapefile.POLYGON, shapefile.POLYGONZ, shapefile.POLYGONM}:
            kind = shapefile.SHAPETYPE_LOOKUP.get(reader.shapeType, str(reader.shapeType))
            raise BoundaryError(
                f"Shapefile の形が面（ポリゴン）ではありません（{kind}）。区域の面のファイルを登録してください。"
            )
        if len(reader) > MAX_FEATURES:
            raise BoundaryError(f"区域が多すぎます（{len(reader):,}、上限{MAX_FEATURES:,}）。")
        for i, item in enumerate(reader.iterShapeRecords(), start=1):
            if item.shape.shapeType == shapefile.NULL or not item.shape.points:
                raise BoundaryError(f"{i}番目の区域に形がありません（空の図形）。")
            geo = item.shape.__geo_interface__
            polygons = [geo["coordinates"]] if geo["type"] == "Polygon" else geo["coordinates"]
            coordinates = [[_project(ring, to_lonlat) for ring in polygon] for polygon in polygons]
            raw.append({"properties": item.record.as_dict(),
                        "geometry": {"type": "MultiPolygon", "coordinates": coordinates}})  # fmt: skip
    except (UnicodeDecodeError, shapefile.dbfFileException) as exc:
        if not isinstance(exc, UnicodeDecodeError) and "decode" not in str(exc):
            raise BoundaryError(
                "属性のファイル（.dbf）が壊れていて読めません。書き出し直してください。"
            ) from None
        raise BoundaryError(
            f"属性の文字が {encoding.upper()} として読めません。.cpg ファイルで文字コード（UTF-8 など）を指定するか、"
            "CP932（Shift_JIS）で書き出してください。"
        ) from None
    except (shapefile.ShapefileException, struct.error, ValueError, IndexError, KeyError) as exc:
        if isinstance(exc, BoundaryError):
            raise
        raise BoundaryError(
            "Shapefile として読めません（.shp・.shx・.dbf が壊れているか、組が合っていません）。"
        ) from None
    if not raw:
        raise BoundaryError("Shapefile に区域が1つもありません。")
    return _features(raw, code_property, name_property)


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
