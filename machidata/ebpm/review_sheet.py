"""The national review-sheet CSV pair of a 事業 (行政事業レビューシステム, RS system), as a ZIP.

machidata's reading of the format (the columns are ours, named after the RS system's two tables of the
効果発現経路; check them against the version of the RS import specification you use):

* ``3-1_効果発現経路_目標・実績.csv`` — long form: one row per indicator × 年度 (targets and actuals of
  every 年度 the indicator has; an indicator with neither yet gives one row with a blank 年度), with the
  stage and statement of the logic-model box it measures.
* ``3-2_効果発現経路_目標のつながり.csv`` — one row per link of the logic model: from which box to which,
  with the rationale, assumptions and evidence.

UTF-8 with BOM (Excel reads the Japanese), CRLF. A figure computed from a catalog table the reader may
not read (``selectors.figures_visible``) is left blank with the reason in 備考, as on the pages; text a
spreadsheet would run as a formula is kept as text. Each download is audited.
"""

from __future__ import annotations

import csv
import io
import zipfile
from decimal import Decimal
from typing import Any, Final

from django.db import transaction

from machidata.access.policy import Actor
from machidata.audit.services import audit_record
from machidata.core.errors import NotFound
from machidata.ebpm import selectors
from machidata.ebpm.exports import _guard
from machidata.ebpm.logic import EVIDENCE_KINDS, stage_label
from machidata.ebpm.models import LogicModel, PlanItem

TARGETS_FILE: Final = "3-1_効果発現経路_目標・実績.csv"
LINKS_FILE: Final = "3-2_効果発現経路_目標のつながり.csv"
TARGET_HEADERS: Final = [
    "事業番号",
    "事業名",
    "所管課",
    "段階",
    "箱の番号",
    "箱の内容",
    "指標名",
    "指標の種類",
    "単位",
    "方向",
    "基準値",
    "基準年度",
    "年度",
    "目標の種類",
    "目標値",
    "実績値",
    "速報・確定",
    "達成率（%）",
    "データの出所",
    "備考",
]
LINK_HEADERS: Final = [
    "事業番号",
    "事業名",
    "つながり番号",
    "元の段階",
    "元の箱の番号",
    "元の箱の内容",
    "先の段階",
    "先の箱の番号",
    "先の箱の内容",
    "根拠となる考え方",
    "前提条件",
    "根拠資料",
]
WITHHELD: Final = "集計元の表を読めないため実績を表示しません"


def _num(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}"


def target_rows(actor: Actor, item: PlanItem, model: LogicModel) -> list[list[str]]:
    """3-1: one row per indicator × 年度 (targets and actuals; withheld figures blank)."""
    doc = model.document
    nodes = {nd["id"]: nd for nd in doc.get("nodes", [])}
    rows = []
    for ind in selectors.indicators_of(model):
        node = nodes.get(ind.node_id, {})
        head = [
            item.code,
            item.name,
            item.unit.name,
            stage_label(doc, str(node.get("stage", ""))),
            str(node.get("number", "")),
            str(node.get("statement", "")),
            ind.name,
            ind.get_kind_display(),
            ind.unit_label,
            "上向き" if ind.direction == "up" else "下向き",
            _num(ind.baseline_value),
            str(ind.baseline_year or ""),
        ]
        visible = selectors.figures_visible(actor, ind)
        years = selectors.indicator_years(ind)
        if not years:
            rows.append([*head, "", "", "", "", "", "", ind.data_source, "目標・実績とも未入力"])
        for y in years:
            target = y.target
            note = ""
            actual, status, rate = "", "", ""
            if y.actual is not None and visible:
                actual, status = _num(y.actual.value), y.actual.get_status_display()
                rate = "" if y.rate is None else f"{y.rate * 100:.1f}"
            elif y.actual is not None:
                note = WITHHELD
            if target is not None and target.value is None:
                note = "・".join(p for p in ("目標未設定", note) if p)
            rows.append([
                *head, str(y.fiscal_year),
                target.get_kind_display() if target is not None else "",
                _num(target.value) if target is not None else "",
                actual, status, rate, ind.data_source, note,
            ])  # fmt: skip
    return rows


def link_rows(item: PlanItem, model: LogicModel) -> list[list[str]]:
    """3-2: one row per link of the current logic model."""
    doc = model.document
    nodes = {nd["id"]: nd for nd in doc.get("nodes", [])}
    rows = []
    for link in doc.get("links", []):
        src, dst = nodes.get(link.get("from"), {}), nodes.get(link.get("to"), {})
        evidence = "／".join(
            f"{EVIDENCE_KINDS.get(e.get('kind', ''), '')}: {e.get('label') or e.get('ref', '')}"
            + (f"（{e['ref']}）" if e.get("label") and e.get("ref") else "")
            for e in link.get("evidence") or []
        )
        rows.append([
            item.code, item.name, str(link.get("id", "")),
            stage_label(doc, str(src.get("stage", ""))), str(src.get("number", "")), str(src.get("statement", "")),
            stage_label(doc, str(dst.get("stage", ""))), str(dst.get("number", "")), str(dst.get("statement", "")),
            str(link.get("rationale") or ""), str(link.get("assumptions") or ""), evidence,
        ])  # fmt: skip
    return rows


def _csv(headers: list[str], rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_guard(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")


def review_sheet_zip(*, actor: Actor, item: PlanItem) -> bytes:
    """The pair of CSVs (3-1 and 3-2) of the item's current logic model, zipped; audited as an export."""
    model = selectors.logic_model_of(item)
    if model is None or not model.number:
        raise NotFound("この事業にはまだロジックモデルがありません。")
    targets = target_rows(actor, item, model)
    links = link_rows(item, model)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(TARGETS_FILE, _csv(TARGET_HEADERS, targets))
        z.writestr(LINKS_FILE, _csv(LINK_HEADERS, links))
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="ebpm.logic_model.export",
            obj=item,
            changes={"format": "rs_csv", "version": model.number, "rows": len(targets), "links": len(links)},
        )
    return out.getvalue()
