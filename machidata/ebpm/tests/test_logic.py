"""Logic model documents: validation errors in Japanese, cycles, guidance warnings, ids and diffs."""

from __future__ import annotations

import copy

import pytest

from machidata.ebpm import logic
from machidata.ebpm.tests.conftest import DOC


def test_validate_keeps_a_good_document() -> None:
    clean = logic.validate(DOC)
    assert [n["id"] for n in clean["nodes"]] == ["n1", "n2", "n3"]
    assert clean["links"][1]["evidence"] == []
    assert clean["external_factors"] == ["感染症の流行"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["nodes"][0].update(stage="dream"),
            "段階「dream」はこのロジックモデルの段階にありません",
        ),
        (
            lambda d: d["links"].append({"from": "n1", "to": "zz"}),
            "要素「zz」はこのロジックモデルにありません",
        ),
        (lambda d: d["nodes"][1].update(id="n1"), "id「n1」が重複しています"),
        (lambda d: d["nodes"][0].update(statement=" "), "内容を入力してください"),
        (lambda d: d["links"].append({"from": "n1", "to": "n1"}), "同じ要素どうしをつないでいます"),
        (lambda d: d.update(stage_set="seven"), "段階の組「seven」は使えません"),
        (
            lambda d: d["links"][0].update(evidence=[{"kind": "url", "ref": "javascript:alert(1)"}]),
            "http:// か https://",
        ),
        (
            lambda d: d["links"][0].update(evidence=[{"kind": "rumour", "ref": "x"}]),
            "種類「rumour」は使えません",
        ),
        (
            lambda d: d["links"][0].update(evidence=[{"kind": "analysis", "ref": "前後比較"}]),
            "（分析結果）は番号で指定してください",
        ),
        (
            lambda d: d["links"][0].update(evidence=[{"kind": "case", "ref": "０"}]),
            "（事例）は番号で指定してください",
        ),
    ],
)
def test_validate_refuses_with_japanese_messages(change: object, expected: str) -> None:
    doc = copy.deepcopy(DOC)
    change(doc)  # type: ignore[operator]
    with pytest.raises(logic.LogicModelError) as caught:
        logic.validate(doc)
    assert any(expected in e for e in caught.value.errors), caught.value.errors


def test_four_stage_variant_refuses_six_stage_keys() -> None:
    doc = {**copy.deepcopy(DOC), "stage_set": "four"}
    doc["nodes"][0]["stage"] = "input"  # not in the 4-stage set
    with pytest.raises(logic.LogicModelError):
        logic.validate(doc)
    doc["nodes"][0]["stage"] = "activity"
    assert logic.stages(logic.validate(doc))[0] == ("activity", "アクティビティ")


def test_stage_labels_relabel() -> None:
    doc = logic.validate({**DOC, "stage_labels": {"short": "初期アウトカム"}})
    assert logic.stage_label(doc, "short") == "初期アウトカム"


def test_cycle_found_and_reported() -> None:
    doc = logic.validate(DOC)
    assert logic.find_cycle(doc) is None
    doc["links"].append(
        {"id": "l3", "from": "n3", "to": "n1", "rationale": "x", "assumptions": "", "evidence": []}
    )
    cycle = logic.find_cycle(doc)
    assert cycle is not None
    assert set(cycle) == {"n1", "n2", "n3"}
    codes = [w.code for w in logic.warnings(doc, [("n3", "outcome")])]
    assert "cycle" in codes


def test_guidance_warnings() -> None:
    doc = logic.validate(DOC)
    codes = [(w.code, w.target) for w in logic.warnings(doc, [])]
    assert ("outcome_without_indicator", "n3") in codes
    assert ("link_without_rationale", "l2") in codes
    assert ("link_without_rationale", "l1") not in codes
    wrong_kind = [(w.code, w.target) for w in logic.warnings(doc, [("n3", "activity")])]
    assert ("activity_indicator_on_outcome", "n3") in wrong_kind
    assert ("outcome_without_indicator", "n3") not in wrong_kind
    fine = [w.code for w in logic.warnings(doc, [("n3", "outcome")])]
    assert fine == ["link_without_rationale"]


def test_next_id_and_diff() -> None:
    assert logic.next_id(DOC["nodes"], "n") == "n4"
    assert logic.next_id([], "l") == "l1"
    new = copy.deepcopy(DOC)
    new["nodes"][0]["statement"] = "健診の案内をSMSでも送る"
    lines = logic.diff(DOC, new, old_label="第1版", new_label="第2版")
    assert lines[0] == "--- 第1版"
    assert any(line.startswith("+") and "SMS" in line for line in lines)
    assert any(line.startswith("-") and "個別に送る" in line for line in lines)


@pytest.mark.parametrize("key", sorted(__import__("machidata.ebpm.examples", fromlist=["EXAMPLES"]).EXAMPLES))
def test_every_starter_example_is_valid_and_warns_only_of_missing_indicators(key: str) -> None:
    from machidata.ebpm.examples import EXAMPLES

    doc = logic.validate(EXAMPLES[key]["document"])
    assert logic.find_cycle(doc) is None
    assert {w.code for w in logic.warnings(doc, [])} == {"outcome_without_indicator"}


def test_analyses_and_cases_are_evidence_by_number() -> None:
    from machidata.ebpm.views import _evidence, _evidence_href

    items = _evidence("分析: 12\n事例：3\nデータセット: kyukyu\n白書2024")
    assert [(e["kind"], e["ref"]) for e in items] == [
        ("analysis", "12"), ("case", "3"), ("dataset", "kyukyu"), ("document", "白書2024"),
    ]  # fmt: skip
    assert [_evidence_href(e) for e in items] == [
        "/analysis/12/",
        "/support/cases/3/",
        "/catalog/kyukyu/",
        "",
    ]
    assert _evidence_href({"kind": "analysis", "ref": "x"}) == ""  # a bad number links nowhere


def test_validate_keeps_analysis_and_case_evidence() -> None:
    doc = copy.deepcopy(DOC)
    doc["links"][0]["evidence"] = [
        {"kind": "analysis", "ref": "12"},
        {"kind": "case", "ref": "3", "label": "福岡"},
    ]
    kept = logic.validate(doc)["links"][0]["evidence"]
    assert [(e["kind"], e["ref"]) for e in kept] == [("analysis", "12"), ("case", "3")]
