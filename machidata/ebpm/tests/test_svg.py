"""The logic model SVG: well-formed, escaped, layered left to right, Japanese wrapped by width."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET

from machidata.ebpm import svg
from machidata.ebpm.logic import validate
from machidata.ebpm.tests.conftest import DOC

NS = "{http://www.w3.org/2000/svg}"


def parse(text: str) -> ET.Element:
    """Parse our own output (not untrusted input)."""
    return ET.fromstring(text)  # noqa: S314 - the SVG under test, made by this code


def test_statement_with_markup_stays_text() -> None:
    doc = copy.deepcopy(DOC)
    doc["nodes"][0]["statement"] = '<script>alert("x")</script> & 案内'
    text = svg.render(validate(doc), indicators={"n3": ["受診率<b>"]})
    root = parse(text)  # well-formed XML
    assert not list(root.iter(f"{NS}script"))
    assert "<script>" not in text
    assert "&lt;script&gt;" in text
    assert "受診率&lt;b&gt;" in text


def test_columns_left_to_right_by_stage() -> None:
    root = parse(svg.render(validate(DOC)))
    x = {
        g.get("id"): float(g.find(f"{NS}rect").get("x"))
        for g in root.iter(f"{NS}g")
        if (g.get("id") or "").startswith("lm-")
    }  # type: ignore[union-attr, arg-type]
    assert x["lm-n1"] < x["lm-n2"] < x["lm-n3"]
    headers = [t.text for t in root.findall(f"{NS}text")]
    assert headers[:6] == [
        "インプット",
        "活動",
        "アウトプット",
        "短期アウトカム",
        "中期アウトカム",
        "長期アウトカム・インパクト",
    ]


def test_wrap_by_width_and_kinsoku() -> None:
    width = svg.text_width("あ") * 5
    lines = svg.wrap("あいうえおかきくけこさ", width)
    assert lines == ["あいうえお", "かきくけこ", "さ"]
    assert all(svg.text_width(line) <= width for line in lines)
    # narrow characters fit about twice as many
    assert len(svg.wrap("a" * 20, width)) < len(svg.wrap("あ" * 20, width))
    # 、 never starts a line
    assert not any(line.startswith("、") for line in svg.wrap("あいうえお、かきくけこ", width))


def test_long_statement_makes_taller_box_and_dashed_unreasoned_link() -> None:
    short = parse(svg.render(validate(DOC)))
    doc = copy.deepcopy(DOC)
    doc["nodes"][0]["statement"] = "健診の案内を" * 20
    tall = parse(svg.render(validate(doc)))

    def height(root: ET.Element) -> float:
        group = next(g for g in root.iter(f"{NS}g") if g.get("id") == "lm-n1")
        return float(group.find(f"{NS}rect").get("height"))  # type: ignore[union-attr, arg-type]

    assert height(tall) > height(short)
    dashed = [p for p in short.iter(f"{NS}path") if p.get("stroke-dasharray")]
    assert len(dashed) == 1  # l2 has no rationale


def test_empty_document_renders() -> None:
    root = parse(svg.render({"stage_set": "four", "nodes": [], "links": []}))
    assert root.tag == f"{NS}svg"
