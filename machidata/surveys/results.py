"""Tables of one round, rounds compared, and :func:`share_choosing` for indicators (EBPM).

These take rounds the caller has already fetched through the selectors (access is decided there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np

from machidata.core.errors import InvalidInput, NotFound
from machidata.surveys.forms_excel import Cell, read_number
from machidata.surveys.freetext import GroupTerms, frequent_terms
from machidata.surveys.models import Question, QuestionKind, Round, Survey
from machidata.surveys.tables import (
    DEFAULT_THRESHOLD,
    Crosstab,
    Frequency,
    NumberSummary,
    Parsed,
    crosstab,
    frequency,
    number_summary,
    parse_choices,
    suppress_frequency,
)
from machidata.surveys.weighting import poststratify, rake

CHOICE: Final = frozenset({QuestionKind.SINGLE, QuestionKind.MULTI})


@dataclass
class RoundData:
    """A round's questions and the raw cells of every question (one list per question position)."""

    round: Round
    questions: list[Question]
    cells: dict[int, list[Cell]]

    def question(self, key: int | str | Question) -> Question:
        """A question by position, by text, or itself; NotFound in Japanese when the round has none."""
        for q in self.questions:
            if (isinstance(key, Question) and q.pk == key.pk) or (isinstance(key, int) and q.position == key):
                return q
            if isinstance(key, str) and q.text == key:
                return q
        raise NotFound("この回にその質問はありません。")

    def parsed(self, question: Question) -> Parsed:
        """A choice question read against its declared options."""
        if question.kind not in CHOICE:
            raise InvalidInput(f"「{question.text[:40]}」は選択式の質問ではありません。")
        return parse_choices(question.kind, question.options, self.cells[question.position])


def load_round(round_: Round) -> RoundData:
    """Load a round's questions and answers once."""
    questions = list(round_.questions.order_by("position"))
    cells: dict[int, list[Cell]] = {q.position: [] for q in questions}
    for answers in round_.responses.order_by("id").values_list("answers", flat=True):
        for q in questions:
            cells[q.position].append(answers[q.position] if q.position < len(answers) else None)
    return RoundData(round_, questions, cells)


def round_weights(data: RoundData) -> np.ndarray | None:
    """The round's weights from its targets: one margin → post-stratification, more → raking."""
    targets = data.round.weight_targets or {}
    if not targets:
        return None
    margins = {}
    for position, counts in targets.items():
        q = data.question(int(position))
        groups = [c[0] if c else None for c in data.parsed(q).chosen]
        margins[q.text] = (groups, {str(k): float(v) for k, v in counts.items()})
    if len(margins) == 1:
        label, (groups, counts) = next(iter(margins.items()))
        return poststratify(groups, counts, label=label)
    return rake(margins)


def _check_confirmed(data: RoundData) -> None:
    if data.round.status != "confirmed":
        raise InvalidInput("質問の種類と選択肢がまだ確定していません。先に「質問の確認」を済ませてください。")


def frequency_tables(
    data: RoundData,
    *,
    denominator: str = "respondents",
    weighted: bool = False,
    suppress_below: int | None = None,
) -> list[tuple[Question, Frequency]]:
    """One frequency table per single- or multi-select question, in order (suppressed when asked)."""
    _check_confirmed(data)
    weights = round_weights(data) if weighted else None
    out = []
    for q in data.questions:
        if q.kind not in CHOICE:
            continue
        table = frequency(data.parsed(q), weights=weights, denominator=denominator)
        if suppress_below is not None:
            suppress_frequency(table, single=q.kind == QuestionKind.SINGLE, threshold=suppress_below)
        out.append((q, table))
    return out


def number_summaries(data: RoundData, *, weighted: bool = False) -> list[tuple[Question, NumberSummary]]:
    """A summary (n, mean, median, min, max) of every numeric question, in order."""
    _check_confirmed(data)
    weights = round_weights(data) if weighted else None
    return [
        (q, number_summary([read_number(c) for c in data.cells[q.position]], weights=weights))
        for q in data.questions
        if q.kind == QuestionKind.NUMBER
    ]


def round_crosstab(
    data: RoundData,
    *,
    by: int | str,
    of: int | str,
    denominator: str = "respondents",
    weighted: bool = False,
    suppress_below: int | None = None,
) -> tuple[Question, Question, Crosstab]:
    """Question ``of`` by the attribute question ``by`` (positions or texts)."""
    _check_confirmed(data)
    q_by, q_of = data.question(by), data.question(of)
    if q_by.pk == q_of.pk:
        raise InvalidInput("表側（行）と表頭（列）には違う質問を選んでください。")
    weights = round_weights(data) if weighted else None
    table = crosstab(
        data.parsed(q_by),
        data.parsed(q_of),
        weights=weights,
        denominator=denominator,
        suppress_below=suppress_below,
    )
    return q_by, q_of, table


def round_freetext(data: RoundData, *, question: int | str, by: int | str | None = None) -> list[GroupTerms]:
    """Frequent words and phrases of a free-text question, overall and by the groups of ``by``."""
    q = data.question(question)
    if q.kind != QuestionKind.TEXT:
        raise InvalidInput(f"「{q.text[:40]}」は自由記述の質問ではありません。")
    texts = [None if c is None else str(c) for c in data.cells[q.position]]
    groups = None
    if by is not None and by != "":
        parsed = data.parsed(data.question(by))
        groups = [c[0] if c else "無回答" for c in parsed.chosen]
    return frequent_terms(texts, groups)


def share_choosing(
    round_: Round,
    question: int | str | Question,
    option: str,
    *,
    denominator: str = "respondents",
    weighted: bool = False,
) -> float | None:
    """The share of respondents to ``question`` who chose ``option`` (None when nobody answered).

    For indicators, e.g. 「知識や活用スキル」と回答した職員の割合: ``denominator="respondents"``
    divides by those who answered the question (the fixed rule of every round), ``"selections"``
    by the options chosen in total. The round must be confirmed.
    """
    data = load_round(round_)
    _check_confirmed(data)
    q = data.question(question)
    parsed = data.parsed(q)
    if option not in parsed.options:
        raise NotFound(f"「{q.text[:40]}」に選択肢「{option}」はありません。")
    weights = round_weights(data) if weighted else None
    table = frequency(parsed, weights=weights, denominator=denominator)
    row = next(r for r in table.rows if r.option == option)
    return row.weighted_share if weighted else row.share


@dataclass
class ComparedOption:
    """One option across rounds: share and count per round (None where the round did not offer it)."""

    option: str
    shares: list[float | None]
    counts: list[int | None]
    hidden: list[bool] = field(default_factory=list)  # suppressed in a table that leaves the 課

    @property
    def cells(self) -> list[dict[str, object]]:
        """Share and hidden flag per round, for templates."""
        hidden = self.hidden or [False] * len(self.shares)
        return [{"share": s, "hidden": h} for s, h in zip(self.shares, hidden, strict=True)]


@dataclass
class Comparison:
    """A question asked in several rounds, compared with the fixed denominator rule."""

    question: str
    rounds: list[Round]
    n: list[int | None]
    options: list[ComparedOption]
    notes: list[str]
    suppressed: bool = False


def compare_rounds(
    survey: Survey, question: str, *, denominator: str = "respondents", suppress_below: int | None = None
) -> Comparison:
    """The same question (by its text) in every confirmed round of ``survey``, oldest first.

    ``suppress_below``: each round's table is suppressed as the tables page does for a reader
    outside the owner 課 (hidden shares and counts are None, ``hidden`` True).
    """
    rounds = list(survey.rounds.filter(status="confirmed").order_by("created_at", "id"))
    tables: list[Frequency | None] = []
    notes: list[str] = []
    kinds = set()
    for r in rounds:
        data = load_round(r)
        try:
            q = data.question(question)
        except NotFound:
            tables.append(None)
            notes.append(f"{r.label}にはこの質問がありません。")
            continue
        if q.kind not in CHOICE:
            raise InvalidInput("比べられるのは選択式の質問だけです。")
        kinds.add(q.kind)
        table = frequency(data.parsed(q), denominator=denominator)
        if suppress_below is not None:
            suppress_frequency(table, single=q.kind == QuestionKind.SINGLE, threshold=suppress_below)
        tables.append(table)
    if not any(t is not None for t in tables):
        raise NotFound("確定した回にその質問がありません。")
    if len(kinds) > 1:
        notes.append("回によって単一選択と複数選択が違います。割合の意味が違うので注意してください。")
    order: list[str] = []
    for t in tables:
        for row in t.rows if t else []:
            if row.option not in order:
                order.append(row.option)
    options = []
    for option in order:
        shares: list[float | None] = []
        counts: list[int | None] = []
        hidden: list[bool] = []
        missing = False
        for t in tables:
            found = next((x for x in t.rows if x.option == option), None) if t else None
            missing = missing or (t is not None and found is None)
            shown = found is not None and not found.hidden
            shares.append(found.share if shown and found else None)
            counts.append(found.count if shown and found else None)
            hidden.append(bool(found and found.hidden))
        options.append(ComparedOption(option, shares, counts, hidden))
        if missing:
            notes.append(f"「{option}」はすべての回の選択肢ではありません（ない回は — ）。")
    n = [t.n if t else None for t in tables]
    return Comparison(question, rounds, n, options, notes, suppressed=suppress_below is not None)


def common_questions(survey: Survey) -> list[str]:
    """Choice questions (texts) asked in at least two confirmed rounds."""
    seen: dict[str, int] = {}
    for text in Question.objects.filter(
        round__survey=survey, round__status="confirmed", kind__in=list(CHOICE)
    ).values_list("text", flat=True):
        seen[text] = seen.get(text, 0) + 1
    return [t for t, k in seen.items() if k >= 2]


SUPPRESS_DEFAULT: Final = DEFAULT_THRESHOLD
