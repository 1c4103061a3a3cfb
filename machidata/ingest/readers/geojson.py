"""GeoJSON FeatureCollection: each feature's properties as columns plus a "geometry" column.

The geometry is kept as compact GeoJSON text (``{"type":"Point","coordinates":[130.7,32.8]}``), not
WKB: it stays readable in previews and CSV downloads and GeoJSON export writes it back unchanged;
a consumer that needs WKB converts it. If a property is itself called "geometry" the geometry column
becomes "geometry_2" (``detection["geometry_column"]`` names it). ``detection["crs"]`` is the
legacy ``crs`` member's name when the file has one, else "EPSG:4326" (RFC 7946's only CRS), and
``detection["geometry_types"]`` counts the geometry types.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from machidata.core.errors import InvalidInput
from machidata.ingest.readers.base import ReadOptions, Source, rows_to_batches
from machidata.ingest.readers.json import load_json, records_table


def read_geojson(path: Path, options: ReadOptions, *, size: int) -> Source:
    """Properties as text columns and the geometry as GeoJSON text."""
    data, encoding = load_json(path, options, size, label="GeoJSON")
    if isinstance(data, dict) and data.get("type") == "Feature":
        data = {"type": "FeatureCollection", "features": [data]}
    if (
        not isinstance(data, dict)
        or data.get("type") != "FeatureCollection"
        or not isinstance(data.get("features"), list)
    ):
        raise InvalidInput(
            'GeoJSON は FeatureCollection（"features" の配列を持つもの）である必要があります。'
        )
    features = data["features"]
    if not features:
        raise InvalidInput("GeoJSON に地物（features）がありません。")
    props: list[dict[str, Any]] = []
    geoms: list[str | None] = []
    types: Counter[str] = Counter()
    for i, feature in enumerate(features):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise InvalidInput(f"GeoJSON の {i + 1} 件目が Feature ではありません。")
        props.append(feature.get("properties") or {})
        geometry = feature.get("geometry")
        if geometry is None:
            geoms.append(None)
        else:
            types[str(geometry.get("type")) if isinstance(geometry, dict) else "?"] += 1
            geoms.append(json.dumps(geometry, ensure_ascii=False, separators=(",", ":")))
    columns, rows, kinds = records_table(props, extra=[("geometry", geoms)])
    crs = data.get("crs")
    crs_name = "EPSG:4326"
    if isinstance(crs, dict):
        crs_name = str((crs.get("properties") or {}).get("name") or crs_name)
    detection: dict[str, Any] = {
        "format": "geojson",
        "encoding": encoding,
        "crs": crs_name,
        "crs_declared": isinstance(crs, dict),
        "geometry_column": columns[-1],
        "geometry_encoding": "geojson",
        "geometry_types": dict(types),
        "cell_types": {k: v for k, v in kinds.items() if k != columns[-1]},
        "rows_total": len(rows),
        "warnings": [],
    }
    return Source(
        format="geojson",
        columns=columns,
        batches=rows_to_batches(rows, columns, options.batch_rows),
        detection=detection,
    )
