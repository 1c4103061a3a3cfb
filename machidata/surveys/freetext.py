"""Free-text answers (自由記述): Japanese words and two-word phrases, counted by group.

Tokenised with SudachiPy through the search room's per-thread dictionary (one dictionary loaded per
process, from the sudachidict_core wheel: nothing downloaded). Words are dictionary forms of nouns,
verbs and adjectives, minus a short stop list of words that carry no content in answers
(する, ある, こと, ため…); a phrase is two such words next to each other in one sentence
(particles between them are skipped: 「時間がかかる」 → 時間 かかる).

Negation: a word followed by ない・無い・なし・ぬ (「ません」)・ず — with only particles, auxiliaries,
adverbs or stop words between — is counted as the phrase 「word＋ない」, not as the word: 「時間がない」
is 時間＋ない, 「分かりません」 分かる＋ない, 「活用できない」 活用＋ない, while 「時間がほしい」 stays 時間.
Otherwise an answer complaining of no time would count as one mentioning time.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from machidata.search import normalise

CONTENT_POS: Final = frozenset({"名詞", "動詞", "形容詞"})
SKIP_DETAIL: Final = frozenset({"数詞"})
STOP_WORDS: Final = frozenset(
    {
        "する", "ある", "いる", "なる", "できる", "れる", "られる", "おる", "くる", "いく", "やる",
        "思う", "言う", "考える", "行う", "よい", "良い", "ない", "無い", "多い",
        "こと", "もの", "ため", "よう", "とき", "時", "方", "等", "上", "中", "的", "化", "点", "場合",
        "そう", "これ", "それ", "ところ", "など", "さん", "今", "特", "特に",
    }
)  # fmt: skip
# Phrases are counted only within a sentence.
_BREAK_POS: Final = frozenset({"補助記号"})
NEGATIONS: Final = frozenset({"ない", "無い", "なし", "無し", "ぬ", "ず"})
_NEGATION_POS: Final = frozenset({"助動詞", "形容詞", "名詞"})
# Between a word and its negation: 「時間が全くない」, 「分かりません」, 「活用できない」 (できる is a stop word).
_BRIDGE_POS: Final = frozenset({"助詞", "助動詞", "副詞"})
NEGATED: Final = "＋ない"
TOP: Final = 20


def words_of(text: str) -> list[list[str]]:
    """Content words of one answer, as a list per sentence (dictionary forms, in order)."""
    from sudachipy import SplitMode

    sentences: list[list[str]] = [[]]
    last: int | None = None  # the last content word of the sentence, while only bridges follow it
    # Sudachi refuses inputs above ~49,000 bytes; an answer is far below, cut anyway.
    for m in normalise._tokenizer().tokenize(text[:8_000], SplitMode.C):
        pos = m.part_of_speech()
        word = m.dictionary_form().strip()
        if pos[0] in _BREAK_POS and pos[1] in {"句点", "読点", "括弧開", "括弧閉"}:
            if sentences[-1]:
                sentences.append([])
            last = None
            continue
        if word in NEGATIONS and pos[0] in _NEGATION_POS:
            if last is not None and not sentences[-1][last].endswith(NEGATED):
                sentences[-1][last] += NEGATED
            last = None
            continue
        if pos[0] in _BRIDGE_POS:
            continue
        if pos[0] not in CONTENT_POS or pos[1] in SKIP_DETAIL:
            last = None
            continue
        if not word or word in STOP_WORDS or (len(word) == 1 and not _is_kanji(word)):
            continue  # a stop word bridges: 「活用できない」 negates 活用
        sentences[-1].append(word)
        last = len(sentences[-1]) - 1
    return [s for s in sentences if s]


def _is_kanji(ch: str) -> bool:
    return "一" <= ch <= "龯"


@dataclass
class Term:
    """A word or phrase: times it appears, and respondents who used it."""

    text: str
    count: int
    respondents: int


@dataclass
class GroupTerms:
    """The frequent words and phrases of one group's answers."""

    group: str
    answers: int
    words: list[Term]
    phrases: list[Term]


def _top(counts: Counter[str], people: Counter[str], top: int) -> list[Term]:
    ranked = sorted(counts, key=lambda t: (-people[t], -counts[t], t))[:top]
    return [Term(t, counts[t], people[t]) for t in ranked]


def frequent_terms(
    texts: Sequence[str | None], groups: Sequence[str] | None = None, *, top: int = TOP
) -> list[GroupTerms]:
    """Words and phrases by group (all answers as 全体 first), ranked by how many respondents used them."""
    labels = list(groups) if groups is not None else ["全体"] * len(texts)
    by_group: dict[str, list[str]] = {"全体": []}
    for text, label in zip(texts, labels, strict=True):
        if text is None or not str(text).strip():
            continue
        by_group["全体"].append(str(text))
        if groups is not None:
            by_group.setdefault(label, []).append(str(text))
    result = []
    for label, answers in by_group.items():
        words: Counter[str] = Counter()
        phrases: Counter[str] = Counter()
        w_people: Counter[str] = Counter()
        p_people: Counter[str] = Counter()
        for answer in answers:
            sentences = words_of(answer)
            flat = [w for s in sentences for w in s]
            pairs = [f"{a} {b}" for s in sentences for a, b in itertools.pairwise(s)]
            words.update(flat)
            phrases.update(pairs)
            w_people.update(set(flat))
            p_people.update(set(pairs))
        result.append(
            GroupTerms(label, len(answers), _top(words, w_people, top), _top(phrases, p_people, top))
        )
    return result
