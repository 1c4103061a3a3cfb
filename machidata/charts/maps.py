"""Ward boundaries shipped in the package and the join of a chart's ward values to them (no tiles, no network)."""

from __future__ import annotations

import functools
import itertools
import json
from pathlib import Path
from typing import Any, Final

from machidata.jp.codes import KUMAMOTO_WARDS, CodeError, ward_from_code, ward_from_text

WARDS_FILE: Final = Path(__file__).parent / "data" / "kumamoto_city_wards.geojson"
ATTRIBUTION: Final = (
    "「国土数値情報（行政区域データ）」（国土交通省）"
    "（https://nlftp.mlit.go.jp/ksj/gml/datalist/KsjTmplt-N03-v3_1.html）を加工して作成"
)
WARD_NAMES: Final = frozenset(w.name for w in KUMAMOTO_WARDS)


def ring_area(ring: list[list[float]]) -> float:
    """Twice the signed planar area of a ring (positive: counter-clockwise with x = lon, y = lat)."""
    return sum(x0 * y1 - x1 * y0 for (x0, y0, *_), (x1, y1, *_) in itertools.pairwise(ring))


def _orient(ring: list[list[float]], *, clockwise: bool) -> list[list[float]]:
    is_clockwise = ring_area(ring) < 0
    return ring if is_clockwise == clockwise else list(reversed(ring))


def for_vega(geometry: dict[str, Any]) -> dict[str, Any]:
    """A polygon geometry with exterior rings clockwise and holes counter-clockwise (d3-geo's spherical winding)."""

    def polygon(rings: list[list[list[float]]]) -> list[list[list[float]]]:
        return [_orient(r, clockwise=(i == 0)) for i, r in enumerate(rings)]

    if geometry["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": polygon(geometry["coordinates"])}
    if geometry["type"] == "MultiPolygon":
        return {"type": "MultiPolygon", "coordinates": [polygon(p) for p in geometry["coordinates"]]}
    return geometry


@functools.cache
def ward_features() -> tuple[dict[str, Any], ...]:
    """The five wards as GeoJSON features (properties: ward, code, lg_code), rings oriented for Vega."""
    data = json.loads(WARDS_FILE.read_text(encoding="utf-8"))
    return tuple(
        {
            "type": "Feature",
            "properties": {k: f["properties"][k] for k in ("ward", "code", "lg_code")},
            "geometry": for_vega(f["geometry"]),
        }
        for f in data["features"]
    )


def ward_name(value: Any) -> str | None:
    """The ward a value names: 中央区, 熊本市中央区, an address, or a 5/6-digit code (43101, 431010)."""
    if value is None:
        return None
    text = str(value).strip()
    if text in WARD_NAMES:
        return text
    if text.isdigit():
        try:
            found = ward_from_code(text)
        except CodeError:
            return None
        return found.name if found else None
    found = ward_from_text(text)
    return found.name if found else None
