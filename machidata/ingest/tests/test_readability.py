"""Tests of the machine-readability report."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pytest

from machidata.ingest.infer import infer_schema
from machidata.ingest.readability import RULES, readability_report

RULES_CSV = (
    Path(__file__).resolve().parents[4]
    / "shared"
    / "data"
    / "standard-datasets"
    / "machine_readability_rules.csv"
)


def _report(columns: dict[str, list[str | None]], detection: dict | None = None):  # type: ignore[no-untyped-def,type-arg]
    sample = pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})
    return readability_report(sample, infer_schema(sample, detection={}), detection=detection)


def _failed(report) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return {c.rule_id: c.locations for c in report.checks if not c.passed}


def test_rules_are_the_digital_agency_list() -> None:
    if not RULES_CSV.exists():
        pytest.skip("shared standard-datasets not present")
    with RULES_CSV.open(encoding="utf-8-sig") as fh:
        rows = {r["ID"]: r["ルール名称"] for r in csv.DictReader(fh)}
    assert rows == RULES


def test_clean_table_scores_100() -> None:
    r = _report(
        {"日付": ["2024-04-01", "2024-04-02"], "件数": ["1", "0"], "区": ["中央区", "東区"]},
        {"format": "csv"},
    )
    assert r.failed_rules == []
    assert r.score == 100
    assert "L1-12" not in r.applicable_rules  # merged cells only apply to Excel


def test_messy_excel_sheet() -> None:
    detection = {
        "format": "xlsx",
        "title": ["令和6年度 病院一覧"],
        "notes": ["注: x は秘匿"],
        "totals": ["合計 120"],
        "header_rows": 2,
        "merged_cells": True,
        "cell_types": {"病床数": {"number": 0, "text": 3, "date": 0}},
    }
    r = _report(
        {
            "開設年月日": ["令和 02年05月01日", "平成 30年02月01日", "R6.4.1"],
            "病床数": ["1,200床", "30", "x"],
            "有効期間": ["令和6年1月1日～令和11年12月31日"] * 3,
            "名称": ["㈱熊本 ", "ﾋﾞﾙ", "①病院"],
            "診療": ["○", "◯", "×"],
        },
        detection,
    )
    failed = _failed(r)
    assert set(r.failed_rules) == {
        "L1-04",
        "L3-01",
        "L1-12",
        "L1-06",
        "L1-07",
        "L1-08",
        "L2-01",
        "L3-05",
        "L2-04",
    }
    assert failed["L1-07"] == ["「有効期間」（期間）"]
    assert failed["L1-06"] == ["2行目「名称」: ㈱熊本 "]
    assert failed["L2-01"] == ["2行目「病床数」: 1,200床", "「病床数」（数値が文字列のセル3件）"]
    assert failed["L3-05"][0] == "2行目「開設年月日」: 令和 02年05月01日"
    assert "L3-03" not in r.failed_rules  # x is defined in the notes
    assert r.score == round(100 * (len(r.applicable_rules) - 9) / len(r.applicable_rules))
    fix = next(c.fix for c in r.checks if c.rule_id == "L1-12")
    assert "セルの結合を解除" in fix


def test_rows_are_named_as_in_the_file_below_a_title_row() -> None:
    detection = {"format": "csv", "title": ["令和6年度 一覧"], "header_row": 2, "data_start_row": 3}
    failed = _failed(_report({"名称": ["熊本", "南区 "]}, detection))
    assert failed["L1-06"] == ["4行目「名称」: 南区 "]


def test_symbols_without_definition_and_blank_numbers() -> None:
    r = _report({"人口": ["10", "x", "", "20", "30"]}, {"format": "csv", "notes": []})
    failed = _failed(r)
    assert failed["L3-03"] == ["「人口」の「x」"]
    assert failed["L1-09"] == ["「人口」（空欄1件）"]


def test_csv_multiline_and_header_problems() -> None:
    r = _report(
        {"説明\n（詳細）": ["一行目\n二行目", "ok"], "": ["a", "b"], "№": ["1", "2"]}, {"format": "csv"}
    )
    failed = _failed(r)
    assert failed["L1-14"] == ["2行目「説明\n（詳細）」: 一行目\n二行目"]
    assert failed["L1-05"] == ["2列目"]
    assert "項目名「№」" in failed["L1-08"]
    assert "項目名「説明\n（詳細）」（改行）" in failed["L1-06"]


def test_report_is_plain_json_with_score() -> None:
    r = _report({"a": ["1"]}, {"format": "csv", "title": ["表題"]})
    d = json.loads(r.to_json())
    assert d["score"] == r.score
    assert d["failed_rules"] == ["L1-04", "L3-01"]
    assert "L3-08" in d["not_checked"]
    check = next(c for c in d["checks"] if c["rule_id"] == "L1-04" and not c["passed"])
    assert check["rule"] == "データ本体と無関係な情報がないか"
    assert check["locations"] == ["表題"]
