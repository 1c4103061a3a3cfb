"""The evaluation sheet: a 事業's yearly evaluation in the city's own Excel layout, exported and imported back.

A layout is an .xlsx **template** whose hidden ``_mapping`` sheet lists, one a row, a field key
(:data:`FIELDS`) and the cell that holds it on the template's first other sheet (``B6``). machidata ships
a default layout (:func:`default_template`, built in code); a city replaces it by pointing the setting
(or environment variable) ``MACHIDATA_EBPM_SHEET_TEMPLATE`` at its own template file — its sheet styled
as it likes, with a ``_mapping`` sheet naming where each field goes (download the default from the
sheet page to start). Fields the mapping leaves out are neither written nor read (an import keeps them).

Export (:func:`evaluation_sheet_xlsx`) fills the mapped cells from the evaluation (or, before there is one,
the 事業 and the computed figures), withholding figures as the pages do; text a spreadsheet would run
as a formula is kept as text. Import (:func:`evaluation_sheet_import`) first checks that the sheet is the
configured layout — every text the template has outside the mapped cells (its labels) must be found
unchanged — then reads the importable fields, with Japanese errors naming the cell, and creates or
updates the evaluation through ``services_evaluations`` (audited there, and the import itself too).
The 更新番号 cell (``<評価ID>-<版>``) refuses a sheet exported before someone else changed the evaluation.
"""

from __future__ import annotations

import io
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils.cell import coordinate_from_string, coordinate_to_tuple

from machidata.access.policy import Actor
from machidata.audit.services import audit_record
from machidata.core.errors import Conflict, InvalidInput
from machidata.ebpm import selectors_evaluations as sel
from machidata.ebpm import services_evaluations
from machidata.ebpm.exports import _guard
from machidata.ebpm.models import (
    Evaluation,
    EvaluationDirection,
    EvidenceLevel,
    Indicator,
    IndicatorKind,
    PlanItem,
)
from machidata.ebpm.services import _require_edit, check_fiscal_year, check_number
from machidata.jp.fiscal import fiscal_year as fiscal_year_of

MAPPING_SHEET: Final = "_mapping"
SETTING: Final = "MACHIDATA_EBPM_SHEET_TEMPLATE"
MAX_BYTES: Final = 5 * 1024 * 1024
MAX_UNPACKED: Final = 50 * 1024 * 1024
ACHIEVEMENT_COLUMNS: Final = ["指標名", "種類", "目標", "実績", "達成率（%）", "達成"]
MAX_ACHIEVEMENTS: Final = 30


@dataclass(frozen=True)
class Field:
    """One field of the sheet: its Japanese name and whether an import reads it back."""

    label: str
    imported: bool


FIELDS: Final[dict[str, Field]] = {
    "item_code": Field("事業番号", False),
    "item_name": Field("事業名", False),  # read to check the sheet is this 事業's
    "unit": Field("所管課", False),
    "fiscal_year": Field("年度", True),
    "direction": Field("今後の方向性", True),
    "self_assessment": Field("自己評価", True),
    "evidence_level": Field("根拠の強さ", True),
    "evidence_note": Field("根拠の説明", True),
    "next_request_note": Field("予算要求への反映", True),
    "next_request_amount_yen": Field("次の予算要求額（円）", True),
    "output_indicator": Field("アウトプット指標", True),
    "outcome_indicator": Field("成果指標", True),
    "settlement_yen": Field("決算額（円）", False),
    "cost_per_output": Field("アウトプット単位コスト（円）", False),
    "cost_per_outcome": Field("成果単位コスト（円）", False),
    "achievement_summary": Field("達成状況", False),
    "achievements": Field("指標ごとの達成状況（表の左上のセル）", False),
    "marker": Field("更新番号（変更しないでください）", False),
}
# The default layout: label in column A, value in column B, in this order from row 3.
DEFAULT_ORDER: Final = [
    "item_code", "item_name", "unit", "fiscal_year", "direction", "self_assessment", "evidence_level",
    "evidence_note", "next_request_note", "next_request_amount_yen", "output_indicator", "outcome_indicator",
    "settlement_yen", "cost_per_output", "cost_per_outcome", "achievement_summary", "marker",
]  # fmt: skip
DEFAULT_TITLE: Final = "事業評価シート"
HINTS: Final = {
    "fiscal_year": "例: 2024 または 令和6年度",
    "direction": "拡充・継続・改善・縮小・廃止 のいずれか",
    "evidence_level": "レベル1〜5、または 効果の検証なし",
    "output_indicator": "この事業の活動指標の名前（空欄: なし）",
    "outcome_indicator": "この事業の成果指標の名前（空欄: なし）",
}


@dataclass(frozen=True)
class Layout:
    """A template: the workbook, its main sheet's name, field → cell, and the label cells to check."""

    book: Any
    sheet: str
    cells: dict[str, str]
    labels: dict[str, str]


def default_template() -> Workbook:
    """The shipped layout: one sheet of labelled cells and the achievement table, with its ``_mapping``."""
    wb = Workbook()
    ws: Any = wb.active
    ws.title = DEFAULT_TITLE
    ws["A1"] = "事業評価シート（machidata 標準様式）"
    ws["A1"].font = Font(bold=True, size=14)
    cells: dict[str, str] = {}
    for row, key in enumerate(DEFAULT_ORDER, start=3):
        ws.cell(row=row, column=1, value=FIELDS[key].label).font = Font(bold=True)
        ws.cell(row=row, column=1).fill = PatternFill("solid", fgColor="DDE7F0")
        ws.cell(row=row, column=2).alignment = Alignment(wrap_text=True, vertical="top")
        if key in HINTS:
            ws.cell(row=row, column=3, value=HINTS[key]).font = Font(color="666666", size=9)
        cells[key] = f"B{row}"
    for key in ("self_assessment", "next_request_note"):
        ws.row_dimensions[int(cells[key][1:])].height = 90
    table = len(DEFAULT_ORDER) + 4
    ws.cell(row=table, column=1, value="指標ごとの達成状況").font = Font(bold=True)
    for col, name in enumerate(ACHIEVEMENT_COLUMNS, start=1):
        ws.cell(row=table + 1, column=col, value=name).font = Font(bold=True)
    cells["achievements"] = f"A{table + 2}"
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 60
    ws.column_dimensions["C"].width = 36
    mapping = wb.create_sheet(MAPPING_SHEET)
    mapping.append(["項目", "セル", "説明"])
    for key, cell in cells.items():
        mapping.append([key, cell, FIELDS[key].label])
    mapping.sheet_state = "hidden"
    return wb


def template_path() -> str:
    """The configured template file ('' for the shipped default)."""
    return str(getattr(settings, SETTING, "") or os.environ.get(SETTING, "") or "")


def _read_mapping(book: Any, *, where: str) -> tuple[str, dict[str, str]]:
    if MAPPING_SHEET not in book.sheetnames:
        raise InvalidInput(f"{where}に「{MAPPING_SHEET}」シート（項目とセルの対応表）がありません。")
    sheets = [n for n in book.sheetnames if n != MAPPING_SHEET]
    if not sheets:
        raise InvalidInput(f"{where}に記入するシートがありません。")
    cells: dict[str, str] = {}
    for n, row in enumerate(book[MAPPING_SHEET].iter_rows(min_row=2, max_col=2, values_only=True), start=2):
        key, cell = (str(v).strip() if v is not None else "" for v in row)
        if not key and not cell:
            continue
        if key not in FIELDS:
            raise InvalidInput(f"{where}の {MAPPING_SHEET} シート {n}行目: 項目「{key}」は使えません。")
        try:
            coordinate_from_string(cell)
        except ValueError:
            raise InvalidInput(
                f"{where}の {MAPPING_SHEET} シート {n}行目: セル「{cell}」はセルの番地として読めません（例: B6）。"
            ) from None
        cells[key] = cell.upper()
    if "fiscal_year" not in cells:
        raise InvalidInput(f"{where}の {MAPPING_SHEET} シートに年度（fiscal_year）のセルがありません。")
    return sheets[0], cells


def _labels(ws: Any, cells: dict[str, str]) -> dict[str, str]:
    """The template's own texts outside the mapped cells (and the achievement table's rows): its labels."""
    mapped = set(cells.values())
    table = coordinate_to_tuple(cells["achievements"]) if "achievements" in cells else None
    out = {}
    for row in ws.iter_rows(max_row=min(ws.max_row, 300), max_col=min(ws.max_column, 40)):
        for c in row:
            if not isinstance(c.value, str) or not c.value.strip() or c.value.startswith("="):
                continue
            if c.coordinate in mapped:
                continue
            if (
                table
                and table[0] <= c.row < table[0] + MAX_ACHIEVEMENTS
                and table[1] <= c.column < table[1] + len(ACHIEVEMENT_COLUMNS)
            ):
                continue
            out[c.coordinate] = c.value.strip()
    return out


def layout() -> Layout:
    """The configured layout (the city's template, or the shipped default)."""
    path = template_path()
    if path:
        try:
            book = load_workbook(Path(path))
        except Exception as exc:  # openpyxl raises many kinds for a bad file
            raise InvalidInput(
                f"評価シートの様式（{SETTING}）を Excel ファイルとして読めません。管理者に連絡してください。"
            ) from exc
        where = "評価シートの様式"
    else:
        book, where = default_template(), "標準の様式"
    sheet, cells = _read_mapping(book, where=where)
    return Layout(book, sheet, cells, _labels(book[sheet], cells))


def template_bytes() -> bytes:
    """The configured template as a file (a city starts its own layout from it)."""
    out = io.BytesIO()
    layout().book.save(out)
    return out.getvalue()


# ---- export ----------------------------------------------------------------------------------------


def _cost(c: sel.UnitCost) -> Any:
    return int(c.value) if c.value is not None else c.reason


def _values(actor: Actor, item: PlanItem, fiscal_year: int, ev: Evaluation | None) -> dict[str, Any]:
    figures = sel.item_figures(
        actor=actor,
        item=item,
        fiscal_year=fiscal_year,
        output=ev.output_indicator if ev else None,
        outcome=ev.outcome_indicator if ev else None,
    )
    values: dict[str, Any] = {
        "item_code": item.code,
        "item_name": item.name,
        "unit": item.unit.name,
        "fiscal_year": fiscal_year,
        "settlement_yen": figures.settlement_yen if figures.settlement_yen is not None else "未入力",
        "cost_per_output": _cost(figures.cost_per_output),
        "cost_per_outcome": _cost(figures.cost_per_outcome),
        "achievement_summary": figures.summary,
        "achievements": [
            [
                a.indicator.name,
                a.indicator.get_kind_display(),
                float(a.target) if a.target is not None else "目標未設定",
                "表示できません" if a.withheld else (float(a.actual) if a.actual is not None else "未測定"),
                float(round(a.rate * 100, 1)) if a.rate is not None else "",
                "" if a.reached is None else ("達成" if a.reached else "未達成"),
            ]
            for a in figures.achievements[:MAX_ACHIEVEMENTS]
        ],
    }
    if ev is not None:
        values |= {
            "direction": ev.get_direction_display(),
            "self_assessment": ev.self_assessment,
            "evidence_level": ev.get_evidence_level_display() if ev.evidence_level else "効果の検証なし",
            "evidence_note": ev.evidence_note,
            "next_request_note": ev.next_request_note,
            "next_request_amount_yen": ev.next_request_amount_yen,
            "output_indicator": ev.output_indicator.name if ev.output_indicator else "",
            "outcome_indicator": ev.outcome_indicator.name if ev.outcome_indicator else "",
            "marker": f"{ev.pk}-{ev.lock_version}",
        }
    return values


def evaluation_sheet_xlsx(*, actor: Actor, item: PlanItem, fiscal_year: int) -> bytes:
    """The 年度's evaluation of the 事業 in the configured layout (blank fields before it exists); audited."""
    ev = sel.evaluation_list(actor=actor, item_id=item.pk, fiscal_year=fiscal_year).first()
    lay = layout()
    ws = lay.book[lay.sheet]
    values = _values(actor, item, fiscal_year, ev)
    for key, cell in lay.cells.items():
        value = values.get(key)
        if key == "achievements":
            row0, col0 = coordinate_to_tuple(cell)
            for r, line in enumerate(value or []):
                for c, v in enumerate(line):
                    ws.cell(row=row0 + r, column=col0 + c, value=_guard(v))
        elif value is not None:
            ws[cell] = _guard(value)
    out = io.BytesIO()
    lay.book.save(out)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="ebpm.evaluation.export",
            obj=item,
            changes={
                "format": "xlsx_sheet",
                "fiscal_year": fiscal_year,
                "evaluation": ev.pk if ev else None,
                "template": Path(template_path()).name or "標準",
            },
        )
    return out.getvalue()


# ---- import ----------------------------------------------------------------------------------------


def _open(content: bytes) -> Any:
    if not content:
        raise InvalidInput("ファイルが空です。書き出した評価シート（.xlsx）を選んでください。")
    if len(content) > MAX_BYTES:
        raise InvalidInput(f"ファイルが大きすぎます（{MAX_BYTES // 1024 // 1024}MBまで）。")
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            if sum(i.file_size for i in z.infolist()) > MAX_UNPACKED:
                raise InvalidInput("ファイルの中身が大きすぎます（評価シートとしては大きすぎます）。")
        return load_workbook(io.BytesIO(content), data_only=True)
    except InvalidInput:
        raise
    except Exception as exc:  # openpyxl and zipfile raise many kinds for a file that is not xlsx
        raise InvalidInput(
            "Excel（.xlsx）ファイルとして読めませんでした。書き出した評価シートを選んでください。"
        ) from exc


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text[1:] if text.startswith("'=") else text


def _direction(cell: str, value: str) -> str:
    for v, label in EvaluationDirection.choices:
        if value in (v, label):
            return str(v)
    names = "・".join(str(label) for _, label in EvaluationDirection.choices)
    raise InvalidInput(f"{cell} の今後の方向性「{value}」は選べません（{names} のいずれか）。")


def _level(cell: str, value: str) -> str:
    text = unicodedata.normalize("NFKC", value)
    if text in ("", "効果の検証なし", "なし"):
        return ""
    found = re.fullmatch(r"(?:レベル)?\s*([1-5])(?:\D.*)?", text)
    if found is None or int(found.group(1)) not in EvidenceLevel.values:
        raise InvalidInput(
            f"{cell} の根拠の強さ「{value}」が読めません（レベル1〜5、または 効果の検証なし）。"
        )
    return found.group(1)


def _indicator(item: PlanItem, cell: str, value: str, kind: str) -> str:
    if not value:
        return ""
    found = Indicator.objects.filter(logic_model__item=item, name=value, kind=kind).first()
    if found is None:
        raise InvalidInput(
            f"{cell} の「{value}」は、この事業の{IndicatorKind(kind).label}にありません（指標の名前をそのまま書いてください）。"
        )
    return str(found.pk)


def _check_layout(lay: Layout, book: Any) -> Any:
    if lay.sheet not in book.sheetnames:
        raise InvalidInput(
            f"様式が違います: シート「{lay.sheet}」がありません。この画面から書き出した評価シートを使ってください。"
        )
    ws = book[lay.sheet]
    if not hasattr(ws, "iter_rows"):  # a chart sheet under the right name
        raise InvalidInput(f"様式が違います: 「{lay.sheet}」が表のシートではありません。")
    for cell, label in lay.labels.items():
        found = _text(ws[cell].value)
        if found != label:
            raise InvalidInput(
                f"様式が違います: {cell} は「{label}」のはずですが「{found}」です。"
                "この画面から書き出した評価シートを使ってください（見出しや行を動かさないでください）。"
            )
    return ws


def read_sheet(*, item: PlanItem, content: bytes) -> tuple[int, str, dict[str, Any]]:
    """The 年度, the 更新番号 and the importable values of an uploaded sheet, checked (Japanese errors name the cell)."""
    lay = layout()
    ws = _check_layout(lay, _open(content))
    raw = {key: _text(ws[cell].value) for key, cell in lay.cells.items() if key != "achievements"}
    cells = lay.cells
    if "item_name" in raw and raw["item_name"] != item.name:
        raise InvalidInput(
            f"{cells['item_name']} の事業名「{raw['item_name']}」がこの事業（{item.name}）と違います。"
            "この事業の評価シートを選んでください。"
        )
    try:
        year = check_fiscal_year(raw["fiscal_year"])
    except InvalidInput:
        raise InvalidInput(
            f"{cells['fiscal_year']} の年度が読めません（「{raw['fiscal_year']}」。例: 2024、令和6年度）。"
        ) from None
    values: dict[str, Any] = {}
    for key, text in raw.items():
        cell = cells[key]
        if not FIELDS[key].imported or key == "fiscal_year":
            continue
        if key == "direction":
            values["direction"] = _direction(cell, text)
        elif key == "evidence_level":
            values["evidence_level"] = _level(cell, text)
        elif key == "next_request_amount_yen":
            try:
                amount = check_number(text, label="次の予算要求額", negative=False, required=False)
            except InvalidInput as exc:
                raise InvalidInput(f"{cell} の{exc.message}") from None
            values[key] = "" if amount is None else str(amount)
        elif key == "output_indicator":
            values["output_indicator_id"] = _indicator(item, cell, text, IndicatorKind.ACTIVITY)
        elif key == "outcome_indicator":
            values["outcome_indicator_id"] = _indicator(item, cell, text, IndicatorKind.OUTCOME)
        else:
            values[key] = text
    if "self_assessment" in values and not values["self_assessment"]:
        raise InvalidInput(f"{cells['self_assessment']} の自己評価が空です。")
    return year, raw.get("marker", ""), values


def _current(ev: Evaluation) -> dict[str, Any]:
    def s(v: Any) -> str:
        return "" if v is None else str(v)

    return {
        "self_assessment": ev.self_assessment, "direction": ev.direction,
        "output_indicator_id": s(ev.output_indicator_id), "outcome_indicator_id": s(ev.outcome_indicator_id),
        "evidence_level": s(ev.evidence_level), "analysis_id": s(ev.analysis_id), "evidence_note": ev.evidence_note,
        "next_request_note": ev.next_request_note, "next_request_amount_yen": s(ev.next_request_amount_yen),
    }  # fmt: skip


def evaluation_sheet_import(*, actor: Actor, item: PlanItem, content: bytes) -> tuple[Evaluation, bool]:
    """Create or update the 年度's evaluation from an uploaded sheet; returns (evaluation, created). Audited."""
    _require_edit(actor, item)  # before anything of the file is read
    year, marker, values = read_sheet(item=item, content=content)
    with transaction.atomic():
        existing = Evaluation.objects.filter(item=item, fiscal_year=year).first()
        if existing is None:
            if "direction" not in values or "self_assessment" not in values:
                raise InvalidInput(
                    "この様式には今後の方向性か自己評価のセルがないため、新しい評価は作れません。"
                )
            evaluation = services_evaluations.evaluation_create(
                actor=actor, item=item, fiscal_year=year, **values
            )
            created = True
        else:
            if marker and marker != f"{existing.pk}-{existing.lock_version}":
                if not marker.startswith(f"{existing.pk}-"):
                    raise Conflict(
                        f"このシートは別の評価から書き出したものです（更新番号 {marker}）。"
                        f"{year}年度の評価はすでにあるので、その評価のシートを書き出して直してください。"
                    )
                raise Conflict(
                    "このシートを書き出したあとに、評価がほかの人によって変更されています"
                    f"（更新番号 {marker} → {existing.pk}-{existing.lock_version}）。シートを書き出し直してください。"
                )
            evaluation = services_evaluations.evaluation_update(
                actor=actor,
                evaluation=existing,
                lock_version=existing.lock_version,
                **(_current(existing) | values),
            )
            created = False
        audit_record(
            actor=actor,
            action="ebpm.evaluation.import",
            obj=item,
            changes={
                "evaluation": evaluation.pk,
                "fiscal_year": year,
                "created": created,
                "fields": sorted(values),
                "template": Path(template_path()).name or "標準",
            },
        )
    return evaluation, created


def default_year(item: PlanItem) -> int:
    """The 年度 a new sheet is for: the newest evaluated one, else last 年度."""
    ev = item.evaluations.order_by("-fiscal_year").first()
    return ev.fiscal_year if ev is not None else fiscal_year_of(timezone.localdate()) - 1
