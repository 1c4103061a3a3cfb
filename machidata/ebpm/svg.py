"""Server-side SVG of a logic model: stages as columns left to right, Japanese text wrapped by its width.

Widths come from the font the charts room ships (BIZ UDPGothic, read with fontTools); a character the
font lacks is measured by ``unicodedata.east_asian_width`` (wide = 1 em, narrow = ½ em). The SVG is built
with ``xml.etree.ElementTree``, which escapes every text and attribute, so a statement such as
``<script>`` stays text. Black on white with a print-safe font list: readable when printed.
"""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from machidata.ebpm.logic import is_outcome, stages

FONT_FILE: Final = (
    Path(__file__).resolve().parent.parent
    / "charts"
    / "static"
    / "vendor"
    / "fonts"
    / "BIZUDPGothic-Regular.ttf"
)
FONT_FAMILY: Final = "'BIZ UDPGothic', 'BIZ UDゴシック', 'Hiragino Sans', 'Yu Gothic', 'Noto Sans CJK JP', machidata-jp, sans-serif"  # machidata-jp: the pages' own web font (the same BIZ UDPGothic) where the system has no Japanese font
FONT_SIZE: Final = 13
SMALL: Final = 11
LINE: Final = 18
BOX_W: Final = 190
PAD: Final = 8
COL_GAP: Final = 60
ROW_GAP: Final = 18
MARGIN: Final = 16
HEADER_H: Final = 34


@lru_cache(maxsize=1)
def _font_widths() -> tuple[dict[int, int], int]:
    """The shipped font's advance widths by code point and its units per em (empty when unreadable)."""
    try:
        from fontTools.ttLib import TTFont

        font = TTFont(str(FONT_FILE), lazy=True)
        cmap = font.getBestCmap()
        hmtx = font["hmtx"]
        widths = {cp: hmtx[glyph][0] for cp, glyph in cmap.items()}
        return widths, int(font["head"].unitsPerEm)
    except (OSError, KeyError, ImportError):  # pragma: no cover - the font ships with the package
        return {}, 1000


def char_width(ch: str, size: float = FONT_SIZE) -> float:
    """The width of one character in pixels at ``size``."""
    widths, upm = _font_widths()
    advance = widths.get(ord(ch))
    if advance is not None:
        return advance * size / upm
    return size if unicodedata.east_asian_width(ch) in {"W", "F"} else size / 2


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """The width of a line of text in pixels."""
    return sum(char_width(c, size) for c in text)


# Characters that must not start a line (行頭禁則, the common subset).
_NO_START: Final = frozenset("、。，．・：；？！ー）」』】〕〉》”’,.)]!?ぁぃぅぇぉっゃゅょァィゥェォッャュョ")


def wrap(text: str, width: float, size: float = FONT_SIZE) -> list[str]:
    """Lines of ``text`` no wider than ``width`` (characters, not words: Japanese has no spaces)."""
    lines: list[str] = []
    for paragraph in str(text).splitlines() or [""]:
        line, used = "", 0.0
        for ch in paragraph:
            w = char_width(ch, size)
            if line and used + w > width and ch not in _NO_START:
                lines.append(line)
                line, used = "", 0.0
            line += ch
            used += w
        lines.append(line)
    return lines


def _text(parent: ET.Element, x: float, y: float, content: str, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, "text", {"x": f"{x:.1f}", "y": f"{y:.1f}", **attrs})
    el.text = content
    return el


def render(  # noqa: PLR0912, PLR0915 - one drawing pass, top to bottom, reads as the picture it draws
    document: Mapping[str, Any],
    *,
    indicators: Mapping[str, Iterable[str]] | None = None,
    title: str = "ロジックモデル",
) -> str:
    """The logic model as an SVG document (text); ``indicators`` maps node ids to indicator names shown in the box."""
    indicators = indicators or {}
    doc = dict(document)
    columns = stages(doc)
    inner = BOX_W - 2 * PAD
    boxes: dict[str, tuple[float, float, float, float]] = {}
    drawn: list[tuple[dict[str, Any], list[str], list[str], float, float, float]] = []
    heights = []
    for col, (key, _) in enumerate(columns):
        x: float = MARGIN + col * (BOX_W + COL_GAP)
        y: float = MARGIN + HEADER_H
        for node in (n for n in doc.get("nodes", []) if n.get("stage") == key):
            head = f"{node['number']} " if node.get("number") else ""
            lines = wrap(head + str(node.get("statement", "")), inner)
            notes: list[str] = []
            for name in indicators.get(node["id"], []):
                notes.extend(wrap(f"指標: {name}", inner, SMALL))
            h: float = PAD * 2 + len(lines) * LINE + (len(notes) * (LINE - 3) + 4 if notes else 0)
            boxes[node["id"]] = (x, y, BOX_W, h)
            drawn.append((node, lines, notes, x, y, h))
            y += h + ROW_GAP
        heights.append(y)
    factors = [str(f) for f in doc.get("external_factors", [])]
    width = MARGIN * 2 + max(1, len(columns)) * BOX_W + max(0, len(columns) - 1) * COL_GAP
    factor_lines = [line for f in factors for line in wrap(f"・{f}", width - 2 * MARGIN - 2 * PAD, SMALL)]
    body_h = max(heights, default=MARGIN + HEADER_H) + 20  # room below for looping links
    height = body_h + (len(factor_lines) * (LINE - 3) + 2 * PAD + LINE + 10 if factor_lines else 0) + MARGIN
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {width:.0f} {height:.0f}",
            "width": f"{width:.0f}",
            "height": f"{height:.0f}",
            "role": "img",
            "font-family": FONT_FAMILY,
            "font-size": str(FONT_SIZE),
            "class": "logic-model",
        },
    )
    ET.SubElement(svg, "title").text = title
    defs = ET.SubElement(svg, "defs")
    marker = ET.SubElement(
        defs,
        "marker",
        {
            "id": "lm-arrow",
            "viewBox": "0 0 10 10",
            "refX": "10",
            "refY": "5",
            "markerWidth": "7",
            "markerHeight": "7",
            "orient": "auto-start-reverse",
        },
    )
    ET.SubElement(marker, "path", {"d": "M 0 0 L 10 5 L 0 10 z", "fill": "#222"})
    ET.SubElement(
        svg, "rect", {"x": "0", "y": "0", "width": f"{width:.0f}", "height": f"{height:.0f}", "fill": "#fff"}
    )
    for col, (key, label) in enumerate(columns):
        x = MARGIN + col * (BOX_W + COL_GAP)
        fill = "#e8f0fa" if is_outcome(key) else "#f3f3f3"
        ET.SubElement(
            svg,
            "rect",
            {
                "x": f"{x}",
                "y": f"{MARGIN}",
                "width": f"{BOX_W}",
                "height": "26",
                "fill": fill,
                "stroke": "#555",
            },
        )
        _text(svg, x + BOX_W / 2, MARGIN + 18, label, **{"text-anchor": "middle", "font-weight": "bold"})
    order = {k: i for i, (k, _) in enumerate(columns)}
    stage_of = {n["id"]: n.get("stage") for n in doc.get("nodes", [])}
    links = ET.SubElement(
        svg, "g", {"class": "links", "fill": "none", "stroke": "#222", "stroke-width": "1.4"}
    )
    for link in doc.get("links", []):
        if link.get("from") not in boxes or link.get("to") not in boxes:
            continue
        sx, sy, sw, sh = boxes[link["from"]]
        tx, ty, _, th = boxes[link["to"]]
        attrs = {"marker-end": "url(#lm-arrow)"}
        if not link.get("rationale"):
            attrs["stroke-dasharray"] = "5 4"  # no rationale: drawn dashed (and warned)
        forward = order.get(str(stage_of.get(link["to"])), 0) > order.get(str(stage_of.get(link["from"])), 0)
        if forward:
            x1, y1, x2, y2 = sx + sw, sy + sh / 2, tx, ty + th / 2
            mid = (x1 + x2) / 2
            d = f"M {x1:.1f} {y1:.1f} C {mid:.1f} {y1:.1f}, {mid:.1f} {y2:.1f}, {x2:.1f} {y2:.1f}"
        else:  # backwards or within a stage: loop below the boxes
            x1, y1, x2, y2 = sx + sw / 2, sy + sh, tx + BOX_W / 2, ty + th
            low = max(y1, y2) + 16
            d = f"M {x1:.1f} {y1:.1f} C {x1:.1f} {low:.1f}, {x2:.1f} {low:.1f}, {x2:.1f} {y2:.1f}"
        path = ET.SubElement(links, "path", {"d": d, **attrs})
        ET.SubElement(path, "title").text = str(link.get("rationale") or "根拠となる考え方が未記入です")
    nodes = ET.SubElement(svg, "g", {"class": "nodes"})
    for node, lines, notes, x, y, h in drawn:
        group = ET.SubElement(nodes, "g", {"id": f"lm-{node['id']}"})
        stroke = "#1d4f91" if is_outcome(str(node.get("stage"))) else "#444"
        ET.SubElement(
            group,
            "rect",
            {
                "x": f"{x}",
                "y": f"{y}",
                "width": f"{BOX_W}",
                "height": f"{h:.0f}",
                "rx": "4",
                "fill": "#fff",
                "stroke": stroke,
                "stroke-width": "1.5",
            },
        )
        ty = y + PAD + FONT_SIZE
        for line in lines:
            _text(group, x + PAD, ty, line)
            ty += LINE
        if notes:
            ty += 2
            for line in notes:
                _text(group, x + PAD, ty, line, **{"font-size": str(SMALL), "fill": "#1d4f91"})
                ty += LINE - 3
    if factor_lines:
        top = body_h + 10
        box_h = len(factor_lines) * (LINE - 3) + 2 * PAD + LINE
        ET.SubElement(
            svg,
            "rect",
            {
                "x": f"{MARGIN}",
                "y": f"{top}",
                "width": f"{width - 2 * MARGIN}",
                "height": f"{box_h:.0f}",
                "fill": "#fff",
                "stroke": "#888",
                "stroke-dasharray": "3 3",
            },
        )
        _text(svg, MARGIN + PAD, top + PAD + FONT_SIZE, "外部要因", **{"font-weight": "bold"})
        ty = top + PAD + FONT_SIZE + LINE
        for line in factor_lines:
            _text(svg, MARGIN + PAD, ty, line, **{"font-size": str(SMALL)})
            ty += LINE - 3
    return ET.tostring(svg, encoding="unicode")
