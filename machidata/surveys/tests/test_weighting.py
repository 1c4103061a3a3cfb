"""Weights: post-stratification and raking against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from machidata.core.errors import InvalidInput
from machidata.surveys.weighting import poststratify, rake


def test_poststratification_weights_each_group_to_its_known_count() -> None:
    groups = ["財政局", "財政局", "総務局", "総務局", "総務局"]
    w = poststratify(groups, {"財政局": 100, "総務局": 60})
    # 財政局: 100 staff / 2 respondents = 50 each; 総務局: 60 / 3 = 20 each
    assert w.tolist() == [50.0, 50.0, 20.0, 20.0, 20.0]


def test_raking_a_two_by_two_table_matches_the_closed_form() -> None:
    # Sample cells n11=10, n12=20, n21=30, n22=40; targets rows A1=A2=50, columns B1=60, B2=40.
    # Raking keeps the sample odds ratio (10·40)/(20·30) = 2/3, so the fitted x11 solves
    # x(x−10) / ((50−x)(60−x)) = 2/3  ⇔  x² + 190x − 6000 = 0  ⇔  x = (−190 + √60100) / 2.
    a = ["A1"] * 30 + ["A2"] * 70
    b = ["B1"] * 10 + ["B2"] * 20 + ["B1"] * 30 + ["B2"] * 40
    w = rake({"A": (a, {"A1": 50, "A2": 50}), "B": (b, {"B1": 60, "B2": 40})})
    x11 = float(w[:10].sum())
    assert math.isclose(x11, (-190 + math.sqrt(60100)) / 2, rel_tol=1e-7)
    assert math.isclose(float(w[np.array(a) == "A1"].sum()), 50, rel_tol=1e-9)
    assert math.isclose(float(w[np.array(b) == "B1"].sum()), 60, rel_tol=1e-9)


def test_raking_refuses_margins_with_different_totals() -> None:
    with pytest.raises(InvalidInput, match="目標の合計が質問ごとに違います"):
        rake({"A": (["x", "y"], {"x": 1, "y": 1}), "B": (["p", "q"], {"p": 5, "q": 5})})


def test_groups_without_target_or_without_respondents_are_refused() -> None:
    with pytest.raises(InvalidInput, match="目標の人数がない区分"):
        poststratify(["財政局", None], {"財政局": 10}, label="所属局")
    with pytest.raises(InvalidInput, match="回答者がいない"):
        poststratify(["財政局"], {"財政局": 10, "総務局": 5}, label="所属局")
