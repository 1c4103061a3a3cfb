"""A saved analysis as Excel (numbers, checks, assumptions, chart data) or PowerPoint (interpretation + chart)."""

from __future__ import annotations

import copy
import io
from typing import Any, Final

from openpyxl import Workbook
from pptx import Presentation
from pptx.util import Emu, Pt

from machidata.analysis.charts import result_spec
from machidata.analysis.interpret import LEVEL_LABELS
from machidata.analysis.models import Analysis
from machidata.charts.render import render
from machidata.charts.vegalite import FONT

EXPORTS: Final = {
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"),
}


def _summary(analysis: Analysis) -> list[tuple[str, Any]]:
    result = analysis.result
    version = analysis.table_version.number if analysis.table_version is not None else None
    return [
        ("題名", analysis.title),
        ("方法", analysis.get_design_display()),
        ("表", f"{analysis.table.dataset.title}／{analysis.table.title}（第{version}版）"),
        ("成果指標", result.get("outcome")),
        ("推定値", result.get("estimate")),
        ("信頼区間（下）", result.get("ci_low")),
        ("信頼区間（上）", result.get("ci_high")),
        ("信頼水準", result.get("ci_level")),
        ("p値", result.get("p_value")),
        ("検定・推定の方法", result.get("test")),
        ("データの数", result.get("n")),
        ("根拠の強さ", LEVEL_LABELS.get(result.get("evidence_level") or 0, "—")),
        ("説明", result.get("interpretation")),
        ("作成日時", analysis.created_at.strftime("%Y-%m-%d %H:%M")),
        *[(f"版：{name}", v) for name, v in analysis.library_versions.items()],
    ]


def result_xlsx(analysis: Analysis) -> bytes:
    """Four sheets: 概要, チェック, 前提, グラフのデータ."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "概要"
    for row in _summary(analysis):
        sheet.append(list(row))
    checks = book.create_sheet("チェック")
    checks.append(["項目", "結果", "理由", "実行を止めるか"])
    for c in analysis.result.get("checks", []):
        checks.append(
            [
                c["label"],
                "合格" if c["passed"] else "注意",
                c["reason"],
                "はい" if c["blocking"] else "いいえ",
            ]
        )
    assumptions = book.create_sheet("前提")
    for a in analysis.result.get("assumptions", []):
        assumptions.append([a])
    rows = analysis.result.get("chart", [])
    data = book.create_sheet("グラフのデータ")
    if rows:
        headers = list(rows[0])
        data.append(headers)
        for r in rows:
            data.append([r.get(h) for h in headers])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def result_pptx(analysis: Analysis) -> bytes:
    """A slide with the interpretation and the evidence level, and one with the chart."""
    deck = Presentation()
    deck.slide_width, deck.slide_height = Emu(12192000), Emu(6858000)  # 16:9
    first = deck.slides.add_slide(deck.slide_layouts[5])
    first.shapes.title.text = analysis.title
    box = first.shapes.add_textbox(Emu(457200), Emu(1371600), Emu(11277600), Emu(4572000))
    box.text_frame.word_wrap = True
    for i, text in enumerate(
        [analysis.result.get("interpretation", ""), f"方法：{analysis.get_design_display()}"]
    ):
        paragraph = box.text_frame.paragraphs[0] if i == 0 else box.text_frame.add_paragraph()
        run = paragraph.add_run()
        run.text = text
        run.font.size = Pt(16)
        run.font.name = FONT
    spec = result_spec(analysis.result)
    if spec is not None:
        fixed = copy.deepcopy(spec)
        fixed["width"] = 900
        slide = deck.slides.add_slide(deck.slide_layouts[5])
        slide.shapes.title.text = analysis.title
        png = render(fixed, "png", scale=2)
        picture = slide.shapes.add_picture(io.BytesIO(png), Emu(457200), Emu(1371600), height=Emu(4572000))
        picture.left = int((deck.slide_width - picture.width) / 2)
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()
