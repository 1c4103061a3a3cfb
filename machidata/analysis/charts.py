"""Vega-Lite specs for analysis results (pure: result dict in, spec dict out; inline data only)."""

from __future__ import annotations

from typing import Any, Final

from machidata.charts.vegalite import FONT, PALETTE, SCHEMA_URL

TIME: Final = {
    "field": "time",
    "type": "ordinal",
    "title": "時点",
    "axis": {"labelOverlap": True, "labelAngle": -45},
}


def _base(result: dict[str, Any], layers: list[dict[str, Any]], data: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "$schema": SCHEMA_URL,
        "description": f"{result.get('title', '')}：{result.get('outcome', '')}",
        "width": "container",
        "height": 300,
        "data": {"values": data},
        "config": {"font": FONT, "range": {"category": list(PALETTE)}},
        "layer": layers,
    }


def _y(field: str, title: str) -> dict[str, Any]:
    return {"field": field, "type": "quantitative", "title": title}


def _layers(kind: str, outcome: str) -> list[dict[str, Any]] | None:
    """The layers of each chart kind (None: the kind has no chart)."""
    color = {
        "series_phase": {"field": "phase", "title": "期間"},
        "trend_groups": {"field": "group", "title": "群"},
        "synthetic": {"field": "series", "title": "系列"},
        "forecast": {"field": "kind", "title": "種類"},
    }
    layers: dict[str, list[dict[str, Any]]] = {
        "series_phase": [
            {
                "mark": {"type": "line", "point": True},
                "encoding": {"x": TIME, "y": _y("value", outcome), "color": color["series_phase"]},
            }
        ],
        "trend_groups": [
            {
                "mark": {"type": "line", "point": True},
                "encoding": {
                    "x": TIME,
                    "y": _y("mean", f"{outcome}（平均）"),
                    "color": color["trend_groups"],
                },
            }
        ],
        "its": [
            {
                "mark": {"type": "point"},
                "encoding": {
                    "x": TIME,
                    "y": _y("value", outcome),
                    "color": {"field": "phase", "title": "期間"},
                },
            },
            {"mark": {"type": "line"}, "encoding": {"x": TIME, "y": _y("fitted", "当てはめ")}},
            {
                "mark": {"type": "line", "strokeDash": [6, 4], "color": "#777777"},
                "encoding": {"x": TIME, "y": _y("counterfactual", "介入がなかった場合")},
            },
        ],
        "synthetic": [
            {
                "mark": {"type": "line"},
                "encoding": {"x": TIME, "y": _y("value", outcome), "color": color["synthetic"]},
            }
        ],
        "forecast": [
            {
                "mark": {"type": "area", "opacity": 0.3},
                "encoding": {"x": TIME, "y": _y("lower", "予測区間"), "y2": {"field": "upper"}},
            },
            {
                "mark": {"type": "line"},
                "encoding": {"x": TIME, "y": _y("value", outcome), "color": color["forecast"]},
            },
        ],
        "forecast_units": [
            {
                "mark": {"type": "area", "opacity": 0.3},
                "encoding": {
                    "x": TIME,
                    "y": _y("lower", "予測区間"),
                    "y2": {"field": "upper"},
                    "color": {"field": "unit", "title": "単位"},
                },
            },
            {
                "mark": {"type": "line"},
                "encoding": {
                    "x": TIME,
                    "y": _y("value", outcome),
                    "color": {"field": "unit", "title": "単位"},
                    "strokeDash": {"field": "kind", "title": "種類"},
                },
            },
        ],
        "event_study": [
            {
                "mark": {"type": "rule"},
                "encoding": {
                    "x": {"field": "time", "type": "ordinal", "title": "介入からの期間（-1 が基準）"},
                    "y": _y("low", f"{outcome}への効果"),
                    "y2": {"field": "high"},
                },
            },
            {
                "mark": {"type": "point", "filled": True},
                "encoding": {
                    "x": {"field": "time", "type": "ordinal", "title": "介入からの期間（-1 が基準）"},
                    "y": _y("estimate", f"{outcome}への効果"),
                    "color": {"field": "phase", "title": "期間"},
                },
            },
        ],
        "bar_interval": [
            {
                "mark": {"type": "bar"},
                "encoding": {
                    "x": {"field": "group", "type": "nominal", "title": "群"},
                    "y": _y("mean", f"{outcome}（平均）"),
                },
            }
        ],
    }
    return layers.get(kind)


def recent_history(rows: list[dict[str, Any]], *, keep: int) -> list[dict[str, Any]]:
    """Forecast rows with only the last ``keep`` observed periods (per unit) before the forecast.

    A month of hourly forecasts after months of hourly history is thousands of points per unit: the chart shows
    the recent past at the forecast's own scale (the Excel export keeps every row)."""
    observed: dict[Any, list[str]] = {}
    for row in rows:
        if row.get("kind") == "実績":
            observed.setdefault(row.get("unit"), []).append(str(row["time"]))
    first = {unit: sorted(times)[-keep] for unit, times in observed.items() if len(times) > keep}
    return [
        row
        for row in rows
        if row.get("kind") != "実績"
        or row.get("unit") not in first
        or str(row["time"]) >= first[row.get("unit")]
    ]


def result_spec(result: dict[str, Any]) -> dict[str, Any] | None:
    """The chart of a result by its ``chart_kind``; None when the design has no chart (sample size).

    Forecasts show as much recent history as they forecast (at least 60 periods); forecasts by unit get one
    panel per unit, so the units' lines do not hide each other."""
    rows = result.get("chart") or []
    kind = str(result.get("chart_kind", ""))
    layers = _layers(kind, str(result.get("outcome", "値")))
    if not rows or not layers:
        return None
    if kind in {"forecast", "forecast_units"}:
        horizon = int((result.get("details") or {}).get("horizon") or 0)
        rows = recent_history(rows, keep=max(horizon, 60))
    spec = _base(result, layers, rows)
    if kind == "forecast_units":
        for layer in layers:
            layer["encoding"].pop("color", None)
        layers[1]["encoding"]["color"] = {"field": "kind", "title": "種類"}
        spec.pop("layer")
        spec.pop("height")
        spec.pop(
            "width"
        )  # a faceted chart sizes each panel (an ordinal axis would otherwise take 20 px a step)
        spec["facet"] = {"row": {"field": "unit", "type": "nominal", "title": "単位"}}
        spec["spec"] = {"width": 880, "height": 140, "layer": layers}
        spec["resolve"] = {"scale": {"y": "independent"}}
    return spec
