"""A whole dashboard as an A4 PDF (council and citizen material) or as PPTX (one slide per chart, for 庁議).

Every chart carries its 出典 and data date (版 and day) underneath; charts are drawn by vl-convert in
the shipped font, from the same specs as on screen (inline data only).
"""

from __future__ import annotations

import copy
import io
from collections.abc import Sequence
from typing import Any, Final

from pptx import Presentation
from pptx.util import Emu, Pt

from machidata.charts.render import render
from machidata.charts.selectors import Panel
from machidata.charts.vegalite import FONT, base_config

PPTX_TYPE: Final = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
A4_WIDTH: Final = 520  # chart width in px that fits an A4 page with margins at 72 dpi


def footer(panel: Panel) -> str:
    """出典 and data date of a panel's chart: 出典: … ／ データ: 第3版（2025年4月1日）."""
    parts = []
    if panel.chart is not None and panel.chart.source:
        parts.append(f"出典: {panel.chart.source}")
    version = panel.rendered.data.version if panel.rendered else None
    if version is not None:
        day = version.committed_at
        parts.append(f"データ: 第{version.number}版" + (f"（{day:%Y年%-m月%-d日}）" if day else ""))
    return "／".join(parts)


def _fixed_width(spec: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(spec)
    if out.get("width") == "container":
        out["width"] = A4_WIDTH
    for key in ("$schema", "config"):
        out.pop(key, None)
    return out


def _text_block(text: str, *, size: int = 12) -> dict[str, Any]:
    lines = [line for line in text.splitlines() if line.strip()] or [" "]
    return {
        "data": {"values": [{"t": line, "i": i} for i, line in enumerate(lines)]},
        "mark": {
            "type": "text",
            "align": "left",
            "baseline": "top",
            "x": 0,
            "fontSize": size,
            "limit": A4_WIDTH,
        },
        "encoding": {"text": {"field": "t"}, "y": {"field": "i", "type": "ordinal", "axis": None}},
        "width": A4_WIDTH,
        "height": {"step": size + 6},
    }


def dashboard_spec(title: str, description: str, panels: Sequence[Panel]) -> dict[str, Any]:
    """One Vega-Lite spec stacking the dashboard's text blocks and charts (each with its footer)."""
    parts: list[dict[str, Any]] = []
    if description:
        parts.append(_text_block(description))
    for p in panels:
        if p.kind == "text":
            parts.append(_text_block(p.text))
        elif p.rendered is not None:
            chart = _fixed_width(p.rendered.spec)
            note = footer(p)
            if note:
                parts.append({"vconcat": [chart, _text_block(note, size=10)], "spacing": 4})
            else:
                parts.append(chart)
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.21.0.json",
        "title": {"text": title, "anchor": "start", "fontSize": 18},
        "vconcat": parts or [_text_block("（グラフがありません）")],
        "spacing": 24,
        "config": base_config(),
    }


def dashboard_pdf(title: str, description: str, panels: Sequence[Panel]) -> bytes:
    """The dashboard as one PDF document (charts in the shipped Japanese font)."""
    return render(dashboard_spec(title, description, panels), "pdf")


def dashboard_pptx(title: str, panels: Sequence[Panel]) -> bytes:
    """The dashboard as PPTX: a title slide, then one slide per chart with its 出典 and data date."""
    deck = Presentation()
    deck.slide_width, deck.slide_height = Emu(12192000), Emu(6858000)  # 16:9
    first = deck.slides.add_slide(deck.slide_layouts[0])
    first.shapes.title.text = title
    for p in panels:
        if p.rendered is None or p.chart is None:
            continue
        slide = deck.slides.add_slide(deck.slide_layouts[5])  # title only
        slide.shapes.title.text = p.chart.title
        png = render(_with_config(p.rendered.spec), "png", scale=2)
        picture = slide.shapes.add_picture(io.BytesIO(png), Emu(457200), Emu(1371600), height=Emu(4572000))
        picture.left = int((deck.slide_width - picture.width) / 2)
        box = slide.shapes.add_textbox(Emu(457200), Emu(6126480), Emu(11277600), Emu(457200))
        run = box.text_frame.paragraphs[0].add_run()
        run.text = footer(p)
        run.font.size = Pt(12)
        run.font.name = FONT
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def _with_config(spec: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(spec)
    if out.get("width") == "container":
        out["width"] = 640
    return out
