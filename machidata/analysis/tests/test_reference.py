"""Correctness against published results (issue point 5), offline, on the data of ../shared/data/reference.

Every expected number below comes from the publication named beside it (copied in SOURCE.md), never from this code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.datasets import nile

from machidata.analysis.before_after import compare_groups
from machidata.analysis.did import did_2x2
from machidata.analysis.forecast import airline_model
from machidata.analysis.its import interrupted_time_series
from machidata.analysis.power import sample_size_means
from machidata.analysis.synth import synthetic_control


def test_power_two_sample_t_test_cohen() -> None:
    # Cohen (1988): d = 0.5, α = 0.05 two-sided, power 0.8 → 63.77 per group (64 after rounding up).
    result = sample_size_means(effect_size=0.5, alpha=0.05, power=0.8)
    assert result.estimate == pytest.approx(63.77, abs=0.01)
    assert result.details["n_treated"] == 64
    assert result.details["n_control"] == 64


def test_mississippi_banks_2x2_did(reference: Path) -> None:
    # Angrist & Pischke, Mastering 'Metrics ch. 5: banks in business, 6th minus 8th district, July 1930 → July 1931 = 19.
    banks = pd.read_csv(reference / "banks.csv")
    july = banks[(banks["day"] == 1) & (banks["month"] == 7) & banks["year"].isin([1930, 1931])]
    long = pd.concat(
        [
            pd.DataFrame({"district": "6th", "year": july["year"], "banks": july["bib6"]}),
            pd.DataFrame({"district": "8th", "year": july["year"], "banks": july["bib8"]}),
        ]
    )
    result = did_2x2(
        long, unit="district", time="year", outcome="banks", treated_units=["6th"], intervention=1931
    )
    assert result.estimate == pytest.approx(19, abs=1e-9)
    assert result.ci_low is None  # one value per cell: no interval, and the result says so
    assert any(c.code == "interval" and not c.passed for c in result.checks)


def test_nile_level_shift_in_1899() -> None:
    # Cobb (1978), Balke (1993): the Nile's annual flow drops at 1899 (Aswan dam); mean 1097.75 before, 849.97 after.
    data = nile.load_pandas().data
    result = interrupted_time_series(
        data, time="year", outcome="volume", intervention=1899, trend=False, slope_change=False
    )
    assert result.estimate == pytest.approx(849.97 - 1097.75, abs=0.01)
    assert result.p_value is not None
    assert result.p_value < 0.001
    assert result.ci_high is not None
    assert result.ci_high < 0

    def strength(year: int) -> float:
        r = interrupted_time_series(
            data, time="year", outcome="volume", intervention=year, trend=False, slope_change=False
        )
        return abs(r.details["t_value"])

    best = max(range(1880, 1921), key=strength)
    assert 1898 <= best <= 1900


def test_airline_model_on_air_passengers(reference: Path) -> None:
    # Box & Jenkins series G; R arima(log(AirPassengers), (0,1,1)(0,1,1)12): ma1 −0.4018, sma1 −0.5569, σ² 0.001348.
    air = pd.read_csv(reference / "AirPassengers.csv")
    fit = airline_model(np.log(air["value"].to_numpy()), season=12)
    assert fit["ma1"] == pytest.approx(-0.4018, abs=5e-5)
    assert fit["sma1"] == pytest.approx(-0.5569, abs=5e-5)
    assert fit["sigma2"] == pytest.approx(0.001348, abs=5e-6)
    assert fit["llf"] == pytest.approx(244.7, abs=0.05)


def test_nsw_experimental_benchmark(reference: Path) -> None:
    # Dehejia & Wahba (1999) experimental benchmark: treated minus control mean re78 = 1794.34.
    nsw = pd.read_csv(reference / "nsw_mixtape.csv")
    result = compare_groups(nsw, outcome="re78", group="treat", treated_value=1, randomised=True)
    assert result.estimate == pytest.approx(1794.34, abs=0.01)
    assert result.n == 445
    assert result.ci_low is not None
    assert result.ci_low < result.estimate < result.ci_high
    assert result.evidence_level == 5


@pytest.mark.slow
def test_basque_synthetic_control_weights(reference: Path) -> None:
    # Abadie & Gardeazabal (2003) as reproduced by pysyncon's tests (= R Synth): Cataluña 0.8508, Madrid 0.1492.
    basque = pd.read_csv(reference / "basque.csv")
    sectors = [
        "sec.agriculture",
        "sec.energy",
        "sec.industry",
        "sec.construction",
        "sec.services.venta",
        "sec.services.nonventa",
    ]
    result = synthetic_control(
        basque,
        unit="regionname",
        time="year",
        outcome="gdpcap",
        treated_unit="Basque Country (Pais Vasco)",
        intervention=1975,
        predictors=["school.illit", "school.prim", "school.med", "school.high", "school.post.high", "invest"],
        predictor_periods=range(1964, 1970),
        special_predictors=[
            ("gdpcap", range(1960, 1970), "mean"),
            *[(sector, range(1961, 1970, 2), "mean") for sector in sectors],
            ("popdens", [1969], "mean"),
        ],
        fit_periods=range(1960, 1970),
        placebo=False,
    )
    weights = result.details["weights"]
    assert weights["Cataluna"] == pytest.approx(0.850816306, abs=0.025)
    assert weights["Madrid (Comunidad De)"] == pytest.approx(0.149183694, abs=0.025)
    others = {k: v for k, v in weights.items() if k not in {"Cataluna", "Madrid (Comunidad De)"}}
    assert len(others) == 15
    assert all(v == pytest.approx(0, abs=0.025) for v in others.values())
    assert result.estimate == pytest.approx(-0.6995647842110987, rel=0.025)
    assert result.details["att_se"] == pytest.approx(0.07078092130438395, rel=0.025)
