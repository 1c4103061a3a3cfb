"""Interpretation text follows the numbers; the evidence level follows the design and the failed checks."""

from __future__ import annotations

import json

import numpy as np

from machidata.analysis.interpret import LEVEL_LABELS, evidence_level, fmt, interpret
from machidata.analysis.results import AnalysisResult, Check, library_versions


def result(**kwargs: object) -> AnalysisResult:
    base: dict[str, object] = {
        "design": "did_twfe",
        "title": "t",
        "outcome": "来庁者数",
        "estimate": -12.5,
        "ci_low": -20.0,
        "ci_high": -5.0,
        "p_value": 0.004,
        "test": "検定",
    }
    base.update(kwargs)
    return AnalysisResult(**base)  # type: ignore[arg-type]


def test_text_reads_the_numbers() -> None:
    text = interpret(result())
    assert "「来庁者数」は 12.50 減った" in text
    assert "-20.00 〜 -5.00" in text
    assert "0 を含まない" in text
    assert "p値は 0.004" in text
    assert "偶然だけでこの程度の差が出る可能性は低い" in text
    assert LEVEL_LABELS[4] in text


def test_interval_across_zero_says_not_proven() -> None:
    text = interpret(result(estimate=3.0, ci_low=-1.0, ci_high=7.0, p_value=0.2))
    assert "増えた" in text
    assert "効果があるとは言い切れません" in text
    assert "珍しくありません" in text


def test_each_failed_check_lowers_the_level_down_to_one() -> None:
    warn = Check("pretrend", "x", False, "介入前から傾きが違います。", blocking=False)
    ok = Check("placebo", "y", True, "問題ありません。", blocking=False)
    assert evidence_level(result(checks=[ok])) == 4
    assert evidence_level(result(checks=[warn, ok])) == 3
    assert evidence_level(result(checks=[warn] * 6)) == 1
    assert "介入前から傾きが違います。" in interpret(result(checks=[warn]))
    assert evidence_level(result(design="forecast")) is None


def test_numbers_are_formatted_for_reading() -> None:
    assert fmt(1234567.8) == "1,234,568"
    assert fmt(12.345) == "12.35"
    assert fmt(0.012345) == "0.0123"
    assert fmt(float("nan")) == "—"
    assert fmt(None) == "—"


def test_results_are_json_without_nan_and_record_versions() -> None:
    r = result(details={"a": np.float64("nan"), "b": np.int64(3), "c": [np.float64(1.5)]})
    data = r.to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text)["details"] == {"a": None, "b": 3, "c": [1.5]}
    versions = library_versions()
    assert {"statsmodels", "linearmodels", "pysyncon", "scipy", "pandas"} <= set(versions)
    assert data["versions"] == versions
