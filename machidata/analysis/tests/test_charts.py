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
