"""Reading a Microsoft Forms Excel export, guessing question types, and reading answers by the options.

No Django here: :func:`read_export` turns the bytes of an ``.xlsx`` into the fixed columns and one
column per question; :func:`guess_question` proposes a type and options from the values (the owner
confirms them); :func:`split_multi` reads a multi-select cell against the declared options.

A Forms export's first sheet has a header row: ``ID, 開始時刻, 完了時刻, メール, 名前`` (English:
``ID, Start time, Completion time, Email, Name``), sometimes ``最終変更時刻`` / ``Last modified time``,
then one column per question. A multi-select answer is one cell, the chosen options joined by ``;``
with a trailing ``;`` (``業務繁忙;知識や活用スキル;``).
"""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from openpyxl import load_workbook

from machidata.core.errors import InvalidInput

Cell = str | int | float | None

# Canonical fixed column → the header spellings Forms uses (Japanese and English exports).
FIXED: Final[dict[str, tuple[str, ...]]] = {
    "id": ("ID",),
    "start": ("開始時刻", "Start time"),
    "end": ("完了時刻", "Completion time"),
    "email": ("メール", "Email"),
    "name": ("名前", "Name"),
}
OPTIONAL_FIXED: Final[dict[str, tuple[str, ...]]] = {"modified": ("最終変更時刻", "Last modified time")}
REQUIRED_LABELS: Final = (
    "ID, 開始時刻, 完了時刻, メール, 名前（英語版: ID, Start time, Completion time, Email, Name）"
)
MAX_ROWS: Final = 200_000
READING: Final = "ファイルを読んでいます"
MAX_CHOICES: Final = 40  # more distinct values than this: read as free text, not a select
OTHER: Final = "その他"
NO_ANSWER: Final = "無回答"


@dataclass
class Export:
    """The readable content of one export: fixed columns per response and the question columns."""

    questions: list[str]
    ids: list[str] = field(default_factory=list)
    started: list[dt.datetime | None] = field(default_factory=list)
    completed: list[dt.datetime | None] = field(default_factory=list)
    answers: list[list[Cell]] = field(default_factory=list)  # one list per response, aligned with questions

    @property
    def respondents(self) -> int:
        """How many responses the export holds."""
        return len(self.ids)


def _norm_header(value: Any) -> str:
    return unicodedata.normalize("NFKC", str(value or "")).strip()


def _cell(value: Any) -> Cell:
    """A cell as a JSON-storable value: text stripped (empty → None), numbers kept, dates as ISO text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _when(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and value.strip():
        for fmt in ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%m/%d/%y %H:%M:%S"):
            try:
                return dt.datetime.strptime(value.strip(), fmt)
            except ValueError:
                continue
    return None


def _no_progress(done: int, total: int | None = None, phase: str | None = None) -> None:
    return None


def read_export(data: bytes, *, progress: Callable[..., None] | None = None) -> Export:
    """Read the first sheet of a Forms export; refuse anything that is not one, in Japanese.

    ``progress(done, total, phase)`` is called before each row (the import job throttles its writes).
    """
    report = progress or _no_progress
    if not data:
        raise InvalidInput(
            "ファイルが空です。Microsoft Forms の「Excel で開く」で保存したファイルを選んでください。"
        )
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds (zip, xml, key errors) for a non-xlsx file
        raise InvalidInput(
            "Excel（.xlsx）ファイルとして読めませんでした。Microsoft Forms から書き出したファイルを選んでください。"
        ) from exc
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None or not any(v not in (None, "") for v in header):
            raise InvalidInput("ファイルが空です（見出しの行がありません）。")
        raw = [str(v).strip() if v is not None else "" for v in header]
        names = [_norm_header(v) for v in header]  # NFKC only to find the fixed columns
        where = _fixed_positions(names)
        fixed_at = set(where.values())
        question_at = [i for i, n in enumerate(raw) if i not in fixed_at and n]
        export = Export(questions=[raw[i] for i in question_at])
        dupes = [q for q, k in Counter(export.questions).items() if k > 1]
        if dupes:
            raise InvalidInput(
                f"同じ質問文の列が2つ以上あります: 「{dupes[0]}」。列の見出しを確認してください。"
            )
        seen: dict[str, int] = {}
        total = max((sheet.max_row or 1) - 1, 0) or None  # from the sheet's dimension, when it has one
        for line, row in enumerate(rows, start=2):
            report(line - 2, total, READING)  # the job's progress writes at most every 0.5 s
            if len(export.ids) >= MAX_ROWS:
                raise InvalidInput(f"回答が多すぎます（{MAX_ROWS:,}件まで）。")
            values = list(row) + [None] * (len(names) - len(row))
            if all(v in (None, "") for v in values):
                continue
            rid = _cell(values[where["id"]])
            if rid is None:
                raise InvalidInput(
                    f"{line}行目に ID がありません。Forms から書き出したままのファイルを使ってください。"
                )
            key = str(int(rid)) if isinstance(rid, float) and rid.is_integer() else str(rid)
            if key in seen:
                raise InvalidInput(
                    f"ID「{key}」が{seen[key]}行目と{line}行目で重複しています。同じ回答が2回含まれていないか確認してください。"
                )
            seen[key] = line
            export.ids.append(key)
            export.started.append(_when(values[where["start"]]))
            export.completed.append(_when(values[where["end"]]))
            export.answers.append([_cell(values[i]) for i in question_at])
    finally:
        book.close()
    if not export.ids:
        raise InvalidInput("回答が1件もありません（見出しの行だけのファイルです）。")
    if not export.questions:
        raise InvalidInput("質問の列がありません（固定の列だけのファイルです）。")
    return export


def _fixed_positions(names: Sequence[str]) -> dict[str, int]:
    where: dict[str, int] = {}
    for key, spellings in {**FIXED, **OPTIONAL_FIXED}.items():
        lowered = {s.lower() for s in spellings}
        for i, n in enumerate(names):
            if n.lower() in lowered:
                where[key] = i
                break
    missing = [FIXED[k][0] for k in FIXED if k not in where]
    if missing:
        raise InvalidInput(
            f"Microsoft Forms の書き出しではないようです（固定の列 {'、'.join(missing)} が見つかりません）。"
            f"先頭の行に {REQUIRED_LABELS} が必要です。"
        )
    return where


# ---- types and options ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Guess:
    """A proposed type and option list for one question (shown to the owner for confirmation)."""

    kind: str
    options: list[str]


def _is_number(value: Cell) -> bool:
    if isinstance(value, int | float):
        return True
    try:
        float(unicodedata.normalize("NFKC", str(value)).replace(",", ""))
    except ValueError:
        return False
    return True


def guess_question(values: Sequence[Cell]) -> Guess:
    """Guess single / multi / number / text from the values; options by frequency (most chosen first)."""
    present = [v for v in values if v is not None]
    if not present:
        return Guess("text", [])
    if all(_is_number(v) for v in present):
        return Guess("number", [])
    texts = [str(v) for v in present]
    if sum(t.endswith(";") for t in texts) >= max(1, len(texts) // 2):
        counts: Counter[str] = Counter()
        for t in texts:
            counts.update(p.strip() for p in t.split(";") if p.strip())
        return Guess("multi", [o for o, _ in counts.most_common()])
    counts = Counter(texts)
    long_text = sum(len(t) for t in texts) / len(texts) > 25 or any("。" in t for t in texts)
    mostly_distinct = len(texts) > 20 and len(counts) > 0.8 * len(texts)
    if len(counts) <= MAX_CHOICES and not long_text and not mostly_distinct:
        return Guess("single", [o for o, _ in counts.most_common()])
    return Guess("text", [])


def split_multi(cell: Cell, options: Sequence[str]) -> tuple[list[str], list[str]]:
    """The options chosen in one multi-select cell, and the leftovers that match no option.

    Options are matched longest first at each item boundary, so an option that itself contains
    ``;`` or ``、`` (``予算;人員の不足``) is read whole; the trailing ``;`` is optional.
    """
    if cell is None:
        return [], []
    text = str(cell).strip()
    ordered = sorted({o for o in options if o}, key=len, reverse=True)
    chosen: list[str] = []
    leftovers: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == ";":
            i += 1
            continue
        for option in ordered:
            end = i + len(option)
            if text.startswith(option, i) and (end == len(text) or text[end] == ";"):
                if option not in chosen:
                    chosen.append(option)
                i = end + 1
                break
        else:
            end = text.find(";", i)
            end = len(text) if end < 0 else end
            piece = text[i:end].strip()
            if piece:
                leftovers.append(piece)
            i = end + 1
    return chosen, leftovers


def read_single(cell: Cell, options: Sequence[str]) -> tuple[str | None, str | None]:
    """The option of a single-select cell (None for no answer), and the raw value when it is not an option."""
    if cell is None:
        return None, None
    text = str(cell).strip()
    if text in options:
        return text, None
    return None, text


def read_number(cell: Cell) -> float | None:
    """A numeric answer (None when blank or not a number)."""
    if cell is None:
        return None
    if isinstance(cell, int | float):
        return float(cell)
    try:
        return float(unicodedata.normalize("NFKC", str(cell)).replace(",", ""))
    except ValueError:
        return None
