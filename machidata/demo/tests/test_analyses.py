"""The analysis demo: a synthetic counter log (labelled 合成) and saved analyses of the rule change, made once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from machidata.analysis.models import Analysis, Status
from machidata.catalog.models import Dataset
from machidata.demo.analyses import (
    COUNTER_SLUG,
    EFFECT,
    RULE_CHANGE,
    load_analysis_demo,
    opening_days,
    write_counter_log,
)
from machidata.demo.services import load_demo

pytestmark = pytest.mark.django_db(transaction=True)  # the lake commits outside any transaction


def test_counter_log_has_opening_days_only_and_the_rule_change(tmp_path: Path) -> None:
    frame = pq.read_table(write_counter_log(tmp_path)).to_pandas()
    days = pd.to_datetime(frame["日時"]).dt.date
    assert set(days) == set(opening_days())
    assert dt.date(2025, 1, 1) not in set(days)  # 元日 closed
    assert dt.date(2024, 5, 3) not in set(days)  # 憲法記念日
    assert frame.groupby("区").size().nunique() == 1  # every ward every opening hour
    ward = frame[frame["区"] == "中央区"].assign(day=days)
    october = ward[(ward["day"] >= dt.date(2025, 10, 1)) & (ward["day"] < dt.date(2025, 11, 1))]
    before = ward[(ward["day"] >= dt.date(2024, 10, 1)) & (ward["day"] < dt.date(2024, 11, 1))]
    ratio = october["来庁者数"].mean() / before["来庁者数"].mean()
    assert ratio == pytest.approx(EFFECT, abs=0.05)
    assert write_counter_log(tmp_path).read_bytes() == write_counter_log(tmp_path).read_bytes()


def test_demo_saves_the_rule_change_analyses_once(settings: Any, tmp_path: Path) -> None:
    settings.MACHIDATA_HOME = tmp_path / "home"
    load_demo(home=settings.MACHIDATA_HOME)
    dataset = Dataset.objects.get(slug=COUNTER_SLUG)
    assert dataset.is_synthetic
    assert "合成" in dataset.description
    said: list[str] = []
    made = load_analysis_demo(home=settings.MACHIDATA_HOME, say=lambda text, end="\n": said.append(text))
    assert (
        made["ingested"] == len(opening_days()) * 9 * 5 + 12 * 12
    )  # and the yearly table: 12 centres × 12 years
    saved = {a.design: a for a in Analysis.objects.filter(owner__username="admin")}
    assert set(saved) == {"its", "did_twfe", "did_staggered", "synthetic_control"}
    assert all(a.status == Status.DONE for a in saved.values())
    synth = saved.pop("synthetic_control")  # a job, run inline here
    assert synth.job is not None
    assert synth.result["details"]["placebo_units"] == 11
    assert synth.result["estimate"] < 0
    assert synth.result["p_value"] == pytest.approx(1 / 12)  # the most extreme of 12 units
    for analysis in saved.values():  # fewer visitors after booking was introduced, and not by chance
        assert analysis.result["estimate"] < 0
        assert analysis.result["ci_high"] < 0
    # parallel by construction: with one ward per cohort the pre-trend test must not cry wolf
    checks = {c["code"]: c["passed"] for c in saved["did_staggered"].result["checks"]}
    assert checks["pretrend"] is True
    assert checks["few_clusters"] is False
    staggered = saved["did_staggered"].result["details"]["cohorts"]
    assert sorted(u for units in staggered.values() for u in units) == sorted(RULE_CHANGE)
    # the ambulance table is not ingested here: its forecast is left out, and a second load adds nothing
    assert not Analysis.objects.filter(design="forecast").exists()
    again = load_analysis_demo(home=settings.MACHIDATA_HOME, say=lambda text, end="\n": None)
    assert again == {"ingested": 0, "analyses": 0}
    assert Analysis.objects.count() == 4
