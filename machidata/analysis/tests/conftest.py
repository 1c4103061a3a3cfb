"""Shared test data: the published reference data sets of ``../shared/data/reference`` (see its SOURCE.md)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[3]
REFERENCE = REPO.parent / "shared" / "data" / "reference"


@pytest.fixture
def reference() -> Path:
    if not REFERENCE.is_dir():
        pytest.skip("../shared/data/reference is not present")
    return REFERENCE


def panel(
    *,
    units: int = 20,
    years: range = range(2015, 2025),
    treated: int = 5,
    start: int = 2020,
    effect: float = 3.0,
    seed: int = 1,
) -> pd.DataFrame:
    """Ward-by-year panel: unit and year effects, a common trend, noise sd 1, and ``effect`` on the first ``treated``
    wards from ``start`` on (the truth the estimators must recover)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = [
        {
            "区": f"区{u:02d}",
            "年度": year,
            "件数": 10
            + u
            + 0.5 * (year - years.start)
            + (effect if u < treated and year >= start else 0.0)
            + rng.normal(),
        }
        for u in range(units)
        for year in years
    ]
    return pd.DataFrame(rows)
