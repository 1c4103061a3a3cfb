"""Frequency tables and crosstabs of a round as files: CSV (UTF-8 with BOM, for Excel) and XLSX.

The files show what the pages show: n, 無回答 (outside n), ※ on shares over fewer than 30
respondents, weighted shares beside the unweighted counts, and — for a reader outside the owner 課
(the table leaves the division) — the same suppression, hidden cells written as ＊. Text cells go
through the project's formula guard (:func:`machidata.audit.exports.safe_cell`), so an option such as
「=1+1」 or 「-なし-」 is never run by a spreadsheet. Every download is audited (``survey.export``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from django.db import transaction
from openpyxl import Workbook

from machidata.access.policy import Actor
from machidata.audit.exports import safe_cell
from machidata.audit.services import audit_record
from machidata.core.errors import InvalidInput
from machidata.surveys.models import Round
from machidata.surveys.results import SUPPRESS_DEFAULT, frequency_tables, load_round, round_crosstab
from machidata.surveys.selectors import leaves_division, suppression_threshold
from machidata.surveys.tables import HIDDEN, SMALL_BASE, CrossRow

FORMATS: Final = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
SMALL_NOTE: Final = f"※回答者{SMALL_BASE}人未満"
HIDDEN_NOTE: Final = f"{HIDDEN}は秘匿したセル（所管課の外に出る表）"


@dataclass
class SurveyFile:
    """A file to download: bytes, content type and a file name."""

    content: bytes
    content_type: str
    filename: str


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _text(value: Any) -> Any:
    return safe_cell(value) if isinstance(value, str) else value


def _file(
    fmt: str, *, title: str, notes: Sequence[str], header: list[str], rows: list[list[Any]], name: str
) -> SurveyFile:
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow([safe_cell(h) for h in header])
        for line in rows:
            writer.writerow(["" if v is None else _text(v) for v in line])
        return SurveyFile(buf.getvalue().encode("utf-8-sig"), FORMATS["csv"], f"{name}.csv")
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has a sheet
    sheet.title = "集計"
    sheet.append([safe_cell(title)])
    for note in notes:
        sheet.append([safe_cell(note)])
    sheet.append([])
    sheet.append([safe_cell(h) for h in header])
    for line in rows:
        sheet.append([_text(v) for v in line])
    out = io.BytesIO()
    book.save(out)
    return SurveyFile(out.getvalue(), FORMATS["xlsx"], f"{name}.xlsx")


def _check(fmt: str) -> None:
    if fmt not in FORMATS:
        raise InvalidInput("形式は csv か xlsx を選んでください。")


def _notes(round_: Round, suppressed: bool, denominator: str) -> list[str]:
    notes = [
        f"{round_.survey.title}（{round_.label}）" + ("　合成データ" if round_.survey.is_synthetic else ""),
        "割合（%）の分母は "
        + (
            "その質問に答えた人数（n）。無回答は分母に入れない"
            if denominator == "respondents"
            else "選ばれた数の合計"
        ),
        SMALL_NOTE,
    ]
    if suppressed:
        notes.append(HIDDEN_NOTE)
    return notes


def _audit(actor: Actor, round_: Round, changes: dict[str, Any]) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor, action="survey.export", obj=round_, object_repr=str(round_), changes=changes
        )


def tables_file(
    *, actor: Actor, round_: Round, fmt: str, denominator: str = "respondents", weighted: bool = False
) -> SurveyFile:
    """Every frequency table of a confirmed round, one line per option plus a 無回答 line per question."""
    _check(fmt)
    suppressed = leaves_division(actor, round_.survey)
    weighted = weighted and bool(round_.weight_targets)
    tables = frequency_tables(
        load_round(round_),
        denominator=denominator,
        weighted=weighted,
        suppress_below=SUPPRESS_DEFAULT if suppressed else None,
    )
    header = ["質問", "種類", "選択肢", "人数", "割合（%）"]
    header += ["重み付けした割合（%）"] if weighted else []
    header += ["n（答えた人数）", "回答者", "注記"]
    rows: list[list[Any]] = []
    for q, t in tables:
        note = SMALL_NOTE if t.small_base else ""
        for r in t.rows:
            values: list[Any] = [HIDDEN, HIDDEN] if r.hidden else [r.count, _pct(r.share)]
            if weighted:
                values.append(HIDDEN if r.hidden else _pct(r.weighted_share))
            rows.append([q.text, q.get_kind_display(), r.option, *values, t.n, t.total, note])
        blank: list[Any] = [None] * (2 if weighted else 1)
        rows.append(
            [q.text, q.get_kind_display(), "無回答（分母に含めない）", t.no_answer, *blank, t.n, t.total, ""]
        )
    _audit(
        actor,
        round_,
        {
            "table": "frequency",
            "format": fmt,
            "suppressed": suppressed,
            "weighted": weighted,
            "denominator": denominator,
        },
    )
    title = f"単純集計　{round_.survey.title}（{round_.label}）"
    return _file(
        fmt,
        title=title,
        notes=_notes(round_, suppressed, denominator),
        header=header,
        rows=rows,
        name=f"survey-{round_.pk}-tables",
    )


def crosstab_file(
    *,
    actor: Actor,
    round_: Round,
    by: int,
    of: int,
    fmt: str,
    denominator: str = "respondents",
    weighted: bool = False,
    suppress: bool = False,
    threshold: int | None = None,
) -> SurveyFile:
    """A crosstab (attribute ``by`` × question ``of``): per group n, then count and share of every option.

    Suppressed as on the page: always outside the owner 課 (never below the default threshold),
    and when the owner asks (``suppress``, ``threshold``).
    """
    _check(fmt)
    below = suppression_threshold(actor, round_.survey, asked=suppress, threshold=threshold)
    suppressed = below is not None
    weighted = weighted and bool(round_.weight_targets)
    q_by, q_of, table = round_crosstab(
        load_round(round_),
        by=by,
        of=of,
        denominator=denominator,
        weighted=weighted,
        suppress_below=below,
    )
    header = [q_by.text, "n（答えた人数）"]
    for option in table.columns:
        header += [f"{option}（人数）", f"{option}（%）"]
        header += [f"{option}（重み付け%）"] if weighted else []
    header.append("注記")

    def line(r: CrossRow) -> list[Any]:
        out: list[Any] = [r.label, HIDDEN if r.hidden else r.n]
        for c in r.cells:
            out += [HIDDEN, HIDDEN] if c.hidden else [c.count, _pct(c.share)]
            if weighted:
                out.append(HIDDEN if c.hidden else _pct(c.weighted_share))
        out.append(SMALL_NOTE if r.small_base else "")
        return out

    rows = [line(r) for r in table.rows] + [line(table.total)]
    _audit(
        actor,
        round_,
        {
            "table": "crosstab",
            "by": q_by.position,
            "of": q_of.position,
            "format": fmt,
            "suppressed": suppressed,
            "threshold": below,
            "weighted": weighted,
            "denominator": denominator,
        },
    )
    title = f"クロス集計　{q_of.text[:60]} × {q_by.text[:30]}"
    return _file(
        fmt,
        title=title,
        notes=_notes(round_, suppressed, denominator),
        header=header,
        rows=rows,
        name=f"survey-{round_.pk}-crosstab",
    )
