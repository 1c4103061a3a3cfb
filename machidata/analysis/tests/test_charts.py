"""Vega-Lite specs of results: inline data only, one layer set per chart kind, no chart for a sample size."""

from __future__ import annotations

from machidata.analysis.charts import result_spec
from machidata.analysis.its import interrupted_time_series
from machidata.analysis.power import sample_size_means
from machidata.analysis.tests.test_its import seasonal_series


def test_its_spec_layers_observed_fitted_and_counterfactual() -> None:
    result = interrupted_time_series(
        seasonal_series(shift=-15), time="月", outcome="救急出動", intervention="2023-04-01"
    ).to_dict()
    spec = result_spec(result)
    assert spec is not None
    assert spec["data"] == {"values": result["chart"]}  # inline, nothing fetched
    fields = [layer["encoding"]["y"]["field"] for layer in spec["layer"]]
    assert fields == ["value", "fitted", "counterfactual"]
    assert spec["layer"][0]["encoding"]["y"]["title"] == "救急出動"


def test_no_chart_without_rows_or_for_unknown_kinds() -> None:
    assert result_spec(sample_size_means(effect_size=0.5).to_dict()) is None
    assert result_spec({"chart_kind": "unknown", "chart": [{"time": "1"}]}) is None


def _forecast_rows(units: list[str], history: int, horizon: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for unit in units:
        rows += [{"time": f"t{i:05d}", "value": 1.0, "kind": "実績", "unit": unit} for i in range(history)]
        rows += [
            {"time": f"t{i:05d}", "value": 1.0, "kind": "予測", "lower": 0.0, "upper": 2.0, "unit": unit}
            for i in range(history, history + horizon)
        ]
    return rows


def test_forecast_by_unit_shows_recent_history_in_one_panel_per_unit() -> None:
    rows = _forecast_rows(["中央区", "北区"], history=3000, horizon=720)
    result = {"chart_kind": "forecast_units", "outcome": "件数", "details": {"horizon": 720}, "chart": rows}
    spec = result_spec(result)
    assert spec is not None
    shown = spec["data"]["values"]
    for unit in ("中央区", "北区"):
        observed = [r["time"] for r in shown if r["unit"] == unit and r["kind"] == "実績"]
        forecast = [r for r in shown if r["unit"] == unit and r["kind"] == "予測"]
        assert observed == [f"t{i:05d}" for i in range(3000 - 720, 3000)]  # the last 720 observed hours
        assert len(forecast) == 720  # every forecast row stays
    assert spec["facet"]["row"]["field"] == "unit"
    assert "layer" not in spec
    assert "width" not in spec  # panel sizes are set inside the facet: a top-level width is ignored there
    assert spec["spec"]["width"] > 0
    assert [layer["mark"]["type"] for layer in spec["spec"]["layer"]] == ["area", "line"]
    assert len(result["chart"]) == 2 * 3720  # the saved result (and its Excel export) keep every row


def test_short_forecast_keeps_all_history() -> None:
    rows = [{**r, "unit": None} for r in _forecast_rows(["x"], history=40, horizon=7)]
    spec = result_spec({"chart_kind": "forecast", "details": {"horizon": 7}, "chart": rows})
    assert spec is not None
    assert len(spec["data"]["values"]) == 47
    assert "facet" not in spec
