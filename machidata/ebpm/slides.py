"""A logic model as PPTX for meetings (庁議, 事業説明): the model drawn as shapes, then its indicators.

Slide 1 draws the current version as native shapes (editable in PowerPoint): one column per stage, a
box per node with its number and statement (Japanese text wrapped by PowerPoint; box heights measured
with the SVG's font metrics, ``svg.wrap``), and a connector with an arrowhead per link, glued to both
boxes (dashed when the link has no rationale, as on screen). Slide 2 lists the indicators: name, kind,
the latest target, the latest actual — withheld (``selectors.figures_visible``) from a reader who may
not read the catalog table it is computed from — and the status. Both slides carry the 事業 name, the
version and the date. Imitates ``charts.reports.dashboard_pptx`` (16:9, the shipped font's name).
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any, Final

from django.db import transaction
from django.utils import timezone
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.dml import MSO_LINE
from pptx.enum.shapes import MSO_CONNECTOR, MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.util import Emu, Pt

from machidata.access.policy import Actor
from machidata.audit.services import audit_record
from machidata.core.errors import NotFound
from machidata.ebpm import selectors
from machidata.ebpm.logic import is_outcome, stages
from machidata.ebpm.models import LogicModel, PlanItem
from machidata.ebpm.svg import wrap

PPTX_TYPE: Final = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
FONT: Final = "BIZ UDPGothic"  # the charts room's shipped font (PowerPoint falls back when it is absent)
SLIDE_W: Final = 12192000  # 16:9
SLIDE_H: Final = 6858000
MARGIN: Final = 304800  # ⅓ inch
TOP: Final = 1005840  # below the title
HEADER_H: Final = 320040
FOOTER_H: Final = 274320
GAP_X: Final = 228600
GAP_Y: Final = 91440
PAD: Final = 45720
EMU_PER_PT: Final = 12700
WITHHELD: Final = "表示できません（集計元の表を読める人にだけ表示）"
# Connection points of a rectangle in python-pptx: 0 top, 1 left, 2 bottom, 3 right.
TOP_PT, LEFT_PT, BOTTOM_PT, RIGHT_PT = 0, 1, 2, 3


def _num(value: Decimal | None) -> str:
    if value is None:
        return "目標未設定"
    return f"{value.normalize():,f}"


def _run(paragraph: Any, text: str, *, size: float, bold: bool = False, color: str | None = None) -> None:
    run = paragraph.add_run()
    run.text = text
    run.font.size = Pt(size)
    run.font.name = FONT
    run.font.bold = bold
    if color:
        run.font.color.rgb = RGBColor.from_string(color)


def _textbox(
    slide: Any, x: int, y: int, w: int, h: int, *, text: str, size: float, bold: bool = False
) -> Any:
    box = slide.shapes.add_textbox(Emu(x), Emu(y), Emu(w), Emu(h))
    frame = box.text_frame
    frame.word_wrap = True
    _run(frame.paragraphs[0], text, size=size, bold=bold)
    return box


def _footer(slide: Any, text: str) -> None:
    _textbox(
        slide, MARGIN, SLIDE_H - FOOTER_H - MARGIN // 2, SLIDE_W - 2 * MARGIN, FOOTER_H, text=text, size=10
    )


def _fit(columns: list[list[str]], inner_pt: float, room_emu: int) -> tuple[float, list[list[int]]]:
    """The largest font size (12 pt down to 6 pt) at which every column's boxes fit, and the box heights."""
    for size in (12.0, 11.0, 10.0, 9.0, 8.0, 7.0, 6.0):
        heights = [
            [
                int((len(wrap(text, inner_pt, size)) * size * 1.3 + 2 * PAD / EMU_PER_PT + 2) * EMU_PER_PT)
                for text in col
            ]
            for col in columns
        ]
        if all(sum(h) + GAP_Y * max(0, len(h) - 1) <= room_emu for h in heights):
            return size, heights
    return 6.0, heights


def _arrow(connector: Any, *, dashed: bool) -> None:
    line = connector.line
    line.width = Pt(1.25)
    line.color.rgb = RGBColor(0x22, 0x22, 0x22)
    if dashed:
        line.dash_style = MSO_LINE.DASH
    ln = line._get_or_add_ln()  # python-pptx has no API for arrowheads
    tail = ln.makeelement(qn("a:tailEnd"), {"type": "triangle", "w": "med", "len": "med"})
    ln.append(tail)


def _model_slide(deck: Any, item: PlanItem, model: LogicModel, footer: str) -> None:  # noqa: PLR0915 - one drawing pass, top to bottom
    slide = deck.slides.add_slide(deck.slide_layouts[6])  # blank
    _textbox(
        slide,
        MARGIN,
        MARGIN,
        SLIDE_W - 2 * MARGIN,
        TOP - MARGIN - GAP_Y,
        text=f"ロジックモデル: {item.name}",
        size=22,
        bold=True,
    )
    doc = model.document
    cols = stages(doc)
    n = max(1, len(cols))
    col_w = (SLIDE_W - 2 * MARGIN - GAP_X * (n - 1)) // n
    factors = [str(f) for f in doc.get("external_factors", [])]
    factor_h = (FOOTER_H + int(len(factors) // 3 + 1) * 220000) if factors else 0
    body_top = TOP + HEADER_H + GAP_Y
    room = SLIDE_H - body_top - FOOTER_H - MARGIN - factor_h - GAP_Y
    by_col: list[list[dict[str, Any]]] = [
        [nd for nd in doc.get("nodes", []) if nd.get("stage") == key] for key, _ in cols
    ]
    texts = [
        [(f"{nd['number']} " if nd.get("number") else "") + str(nd.get("statement", "")) for nd in col]
        for col in by_col
    ]
    inner_pt = (col_w - 2 * PAD) / EMU_PER_PT - 4
    size, heights = _fit(texts, inner_pt, room)
    shapes: dict[str, Any] = {}
    stage_index: dict[str, int] = {}
    for c, (key, label) in enumerate(cols):
        x = MARGIN + c * (col_w + GAP_X)
        head = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, Emu(x), Emu(TOP), Emu(col_w), Emu(HEADER_H))
        head.fill.solid()
        head.fill.fore_color.rgb = RGBColor.from_string("E8F0FA" if is_outcome(key) else "F3F3F3")
        head.line.color.rgb = RGBColor(0x55, 0x55, 0x55)
        head.text_frame.paragraphs[0].alignment = PP_ALIGN.CENTER
        _run(head.text_frame.paragraphs[0], label, size=11, bold=True, color="222222")
        y = body_top
        for nd, text, h in zip(by_col[c], texts[c], heights[c], strict=True):
            box = slide.shapes.add_shape(MSO_SHAPE.ROUNDED_RECTANGLE, Emu(x), Emu(y), Emu(col_w), Emu(h))
            box.adjustments[0] = 0.08
            box.fill.solid()
            box.fill.fore_color.rgb = RGBColor(0xFF, 0xFF, 0xFF)
            box.line.color.rgb = RGBColor.from_string("1D4F91" if is_outcome(key) else "444444")
            box.line.width = Pt(1.25)
            frame = box.text_frame
            frame.word_wrap = True
            frame.vertical_anchor = MSO_ANCHOR.TOP
            for side in ("margin_left", "margin_right", "margin_top", "margin_bottom"):
                setattr(frame, side, Emu(PAD))
            frame.paragraphs[0].alignment = PP_ALIGN.LEFT
            _run(frame.paragraphs[0], text, size=size, color="222222")
            box.name = f"node {nd['id']}"
            shapes[nd["id"]] = box
            stage_index[nd["id"]] = c
            y += h + GAP_Y
    for link in doc.get("links", []):
        src, dst = shapes.get(link.get("from")), shapes.get(link.get("to"))
        if src is None or dst is None:
            continue
        forward = stage_index[link["to"]] > stage_index[link["from"]]
        kind = MSO_CONNECTOR.CURVE if forward else MSO_CONNECTOR.ELBOW
        connector = slide.shapes.add_connector(kind, Emu(0), Emu(0), Emu(1), Emu(1))
        if forward:
            connector.begin_connect(src, RIGHT_PT)
            connector.end_connect(dst, LEFT_PT)
        else:  # backwards or within a stage: from the bottom of one to the bottom of the other
            connector.begin_connect(src, BOTTOM_PT)
            connector.end_connect(dst, BOTTOM_PT)
        connector.name = f"link {link.get('id', '')}"
        _arrow(connector, dashed=not link.get("rationale"))
    if factors:
        top = SLIDE_H - FOOTER_H - MARGIN - factor_h
        box = _textbox(
            slide, MARGIN, top, SLIDE_W - 2 * MARGIN, factor_h, text="外部要因: ", size=10, bold=True
        )
        _run(box.text_frame.paragraphs[0], "　".join(f"・{f}" for f in factors), size=10)
        box.line.color.rgb = RGBColor(0x88, 0x88, 0x88)
        box.line.dash_style = MSO_LINE.DASH
    _footer(slide, footer + "　点線の矢印は「根拠となる考え方」が未記入のつながりです。")


def indicator_rows(actor: Actor, model: LogicModel) -> list[list[str]]:
    """The indicators as table rows: name, kind, node, latest target, latest actual (or withheld), status."""
    nodes = {nd["id"]: nd for nd in model.document.get("nodes", [])}
    rows = []
    for ind in selectors.indicators_of(model):
        targets = sorted(getattr(ind, "current_targets", []), key=lambda t: t.fiscal_year)
        target = f"{targets[-1].fiscal_year}年度: {_num(targets[-1].value)}" if targets else "目標未設定"
        if targets and targets[-1].value is not None and ind.unit_label:
            target += ind.unit_label
        actuals = getattr(ind, "actual_rows", [])
        if not actuals:
            actual = "未測定"
        elif not selectors.figures_visible(actor, ind):
            actual = WITHHELD
        else:
            last = actuals[-1]
            actual = (
                f"{last.fiscal_year}年度: {_num(last.value)}{ind.unit_label}（{last.get_status_display()}）"
            )
        node = nodes.get(ind.node_id, {})
        where = " ".join(p for p in (str(node.get("number") or ""), str(node.get("statement") or "")) if p)
        rows.append([ind.name, ind.get_kind_display(), where, target, actual, ind.get_status_display()])
    return rows


def _indicator_slide(deck: Any, actor: Actor, item: PlanItem, model: LogicModel, footer: str) -> None:
    slide = deck.slides.add_slide(deck.slide_layouts[6])
    _textbox(
        slide,
        MARGIN,
        MARGIN,
        SLIDE_W - 2 * MARGIN,
        TOP - MARGIN - GAP_Y,
        text=f"検証指標（KPI）: {item.name}",
        size=22,
        bold=True,
    )
    rows = indicator_rows(actor, model)
    if not rows:
        _textbox(
            slide,
            MARGIN,
            TOP,
            SLIDE_W - 2 * MARGIN,
            600000,
            text="検証指標はまだ設定されていません。",
            size=16,
        )
        _footer(slide, footer)
        return
    headers = ["指標名", "種類", "ロジックモデルの箱", "目標（最新の年度）", "直近の実績", "状態"]
    widths = [2_700_000, 950_000, 2_500_000, 1_800_000, 2_683_200, 950_000]
    size = 12 if len(rows) <= 8 else 10 if len(rows) <= 14 else 8
    row_h = int(size * 2.2 * EMU_PER_PT)
    table = slide.shapes.add_table(
        len(rows) + 1, len(headers), Emu(MARGIN), Emu(TOP), Emu(sum(widths)), Emu(row_h * (len(rows) + 1))
    ).table
    for i, w in enumerate(widths):
        table.columns[i].width = Emu(w)
    for r, values in enumerate([headers, *rows]):
        for c, value in enumerate(values):
            cell = table.cell(r, c)
            cell.text_frame.word_wrap = True
            _run(cell.text_frame.paragraphs[0], value, size=size, bold=r == 0)
    _footer(slide, footer)


def logic_model_pptx(*, actor: Actor, item: PlanItem) -> bytes:
    """The item's current logic model and its indicators as a two-slide PPTX; audited as an export."""
    model = selectors.logic_model_of(item)
    if model is None or not model.number:
        raise NotFound("この事業にはまだロジックモデルがありません。")
    today = timezone.localdate()
    footer = (
        f"{item.name}　ロジックモデル 第{model.number}版　{today:%Y年%-m月%-d日} 出力（{item.unit.name}）"
    )
    deck = Presentation()
    deck.slide_width, deck.slide_height = Emu(SLIDE_W), Emu(SLIDE_H)
    _model_slide(deck, item, model, footer)
    _indicator_slide(deck, actor, item, model, footer)
    out = io.BytesIO()
    deck.save(out)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="ebpm.logic_model.export",
            obj=item,
            changes={"format": "pptx", "version": model.number},
        )
    return out.getvalue()
