"""Staggered adoption: the Sun–Abraham event study recovers a known effect where plain TWFE is biased."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from machidata.analysis.results import DesignNotFit
from machidata.analysis.staggered import did_staggered

YEARS = range(2010, 2024)


def staggered_panel(
    *, never: int = 10, seed: int = 3, noise: float = 0.2
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Units adopting in 2014, 2017 or 2020 (five each) and ``never`` untreated units.

    The effect grows with time since adoption: 1 + 1 per year (dynamic, heterogeneous effects, the case where
    TWFE is biased). The true average effect on the treated rows after adoption is computed from the rows."""
    rng = np.random.default_rng(seed)
    adoption = {f"早{u}": 2014 for u in range(5)} | {f"中{u}": 2017 for u in range(5)}
    adoption |= {f"遅{u}": 2020 for u in range(5)}
    units = list(adoption) + [f"無{u}" for u in range(never)]
    rows = []
    for i, name in enumerate(units):
        for year in YEARS:
            start = adoption.get(name)
            effect = 1.0 + (year - start) if start is not None and year >= start else 0.0
            rows.append(
                {
                    "区": name,
                    "年度": year,
                    "件数": 5 + 0.3 * i + 0.4 * (year - 2010) + effect + rng.normal(0, noise),
                    "効果": effect,
                }
            )
    return pd.DataFrame(rows), adoption


def true_att(df: pd.DataFrame, adoption: dict[str, int]) -> float:
    treated = df[df["区"].map(adoption).notna() & (df["年度"] >= df["区"].map(adoption))]
    return float(treated["効果"].mean())


def test_recovers_the_average_effect_where_twfe_is_biased() -> None:
    df, adoption = staggered_panel()
    truth = true_att(df, adoption)
    result = did_staggered(df, unit="区", time="年度", outcome="件数", adoption=adoption)
    assert result.estimate == pytest.approx(truth, abs=0.15)
    assert result.ci_low is not None
    assert result.ci_high is not None
    assert result.ci_low < truth < result.ci_high
    twfe = result.details["twfe_estimate"]
    assert abs(twfe - truth) > 1.0  # the plain TWFE estimate is far off on the same data
    assert result.evidence_level == 4
    pretrend = next(c for c in result.checks if c.code == "pretrend")
    assert pretrend.passed


def test_event_study_rows_follow_the_effect_path() -> None:
    df, adoption = staggered_panel(noise=0.05)
    result = did_staggered(df, unit="区", time="年度", outcome="件数", adoption=adoption)
    by_e = {row["time"]: row["estimate"] for row in result.chart}
    assert by_e[-1] == 0.0
    assert by_e[-3] == pytest.approx(0.0, abs=0.1)
    for e in (0, 1, 2, 3):
        assert by_e[e] == pytest.approx(1.0 + e, abs=0.1)


def test_not_yet_treated_controls_when_no_unit_is_never_treated() -> None:
    df, adoption = staggered_panel(never=0)
    result = did_staggered(df, unit="区", time="年度", outcome="件数", adoption=adoption)
    kept = df[df["年度"] < 2020]
    early = {k: v for k, v in adoption.items() if v < 2020}
    assert result.estimate == pytest.approx(true_att(kept, early), abs=0.2)
    assert result.details["never_treated"] == []
    assert "まだ介入を受けていない" in next(c.reason for c in result.checks if c.code == "comparison")


def test_refuses_without_never_or_not_yet_treated_units() -> None:
    df, _ = staggered_panel(never=0)
    everyone = dict.fromkeys(df["区"].unique(), 2017)
    with pytest.raises(DesignNotFit) as caught:
        did_staggered(df, unit="区", time="年度", outcome="件数", adoption=everyone)
    assert "まだ介入を受けていない" in caught.value.message
    assert "comparison" in caught.value.details


def test_refuses_unknown_units_and_dates_outside_the_data() -> None:
    df, adoption = staggered_panel()
    with pytest.raises(DesignNotFit, match="「北区」"):
        did_staggered(df, unit="区", time="年度", outcome="件数", adoption={**adoption, "北区": 2015})
    with pytest.raises(DesignNotFit, match="データの期間"):
        did_staggered(df, unit="区", time="年度", outcome="件数", adoption={"早0": 2030})
    with pytest.raises(DesignNotFit, match="1つ以上"):
        did_staggered(df, unit="区", time="年度", outcome="件数", adoption={})


def test_diverging_pre_trends_fail_the_pretrend_check() -> None:
    df, adoption = staggered_panel()
    early = df["区"].str.startswith("早")
    df.loc[early, "件数"] += 0.8 * (df.loc[early, "年度"] - 2010)
    result = did_staggered(df, unit="区", time="年度", outcome="件数", adoption=adoption)
    pretrend = next(c for c in result.checks if c.code == "pretrend")
    assert not pretrend.passed
    assert result.evidence_level == 3
