"""Text folding and index terms for Japanese catalog search.

Everything the index stores and every query term goes through the same functions here, so a
query matches when its folded form matches, whatever the width, kana, case or spelling variant.

Four streams of terms are made per field (see :func:`field_terms`):

* ``w`` words: SudachiPy normalized forms (子ども/こども → 子供, 申込 → 申し込み, 引越し → 引っ越し), folded;
  also the short-unit split of compounds (保育所入所 → 保育, 所, 入所) and western years for
  和暦 (令和5年 → 2023);
* ``g`` character bigrams of the folded text, with a separator between runs so phrases never
  span punctuation: the recall backstop for any substring of two characters or more;
* ``u`` character unigrams: one-character queries (市, 区);
* ``r`` reading bigrams (hiragana) so kana queries (じんこう, きゅうきゅう) find 人口, 救急.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

# A term that never occurs in text: it separates runs so a bigram phrase cannot cross punctuation.
SEP = "|"
# Queries are cut to this many characters after NFKC; nobody types more into a search box and the
# analysis cost grows with the length.
MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 12

_SURROGATES = re.compile("[\ud800-\udfff]")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACES = re.compile(r"\s+")
# Dash-like characters typed for the long-vowel mark after kana (デ−タ, デ-タ).
_DASHES = "-‐‑‒–—―−─━ｰ"
_LONG_AFTER_KANA = re.compile(f"(?<=[ぁ-ゖァ-ヺー])[{re.escape(_DASHES)}]")
# A hyphen inside an ASCII word (Wi-Fi, e-Tax) is dropped so wifi and wi-fi fold alike.
_ASCII_HYPHEN = re.compile(r"(?<=[a-z])-(?=[a-z])")
_SMALL_KANA = str.maketrans("ぁぃぅぇぉっゃゅょゎゕゖ", "あいうえおつやゆよわかけ")
_VOICED = {chr(c): chr(c + 1) for c in range(ord("か"), ord("と") + 1, 2)} | {
    chr(c): chr(c + 1) for c in range(ord("は"), ord("ほ") + 1, 3)
}
# Word characters of a run: letters, digits, kana, kanji, the long-vowel mark.
_RUN = re.compile(r"[\wー]+")
_KANA_ONLY = re.compile(r"^[ぁ-ゖー]+$")
_WAREKI = re.compile(r"(令和|平成|昭和)(元|[0-9]{1,2})年")
_ERA_START = {"令和": 2018, "平成": 1988, "昭和": 1925}


_KATA_TO_HIRA = str.maketrans({chr(c): chr(c - 0x60) for c in range(ord("ァ"), ord("ヶ") + 1)})
_TRAILING_LONG = re.compile(r"(?<=[ぁ-ゖ])ー+(?![ぁ-ゖー])")
_ITERATION = re.compile("[々ゝゞ]")


def _expand_iteration_marks(s: str) -> str:
    out: list[str] = []
    for c in s:
        if c in "々ゝ":
            if out:
                out.append(out[-1])
            continue
        if c == "ゞ":
            if out:
                out.append(_VOICED.get(out[-1], out[-1]))
            continue
        out.append(c)
    return "".join(out)


def _drop_trailing_long_vowel(s: str) -> str:
    # コンピュータ/コンピューター (JIS Z 8301 variants): a long-vowel mark ending a kana run is dropped.
    return _TRAILING_LONG.sub("", s)


def clean(text: str) -> str:
    """NFKC, no unpaired surrogates or zero-width characters, whitespace collapsed and trimmed."""
    t = _SURROGATES.sub("", text)
    t = unicodedata.normalize("NFKC", t)
    t = _ZERO_WIDTH.sub("", t)
    t = _LONG_AFTER_KANA.sub("ー", t)
    return _SPACES.sub(" ", t).strip()


def fold(text: str) -> str:
    """Fold ``text`` for matching: NFKC width, lower case, katakana→hiragana, small kana, long vowels, 々ゝゞ.

    Idempotent (``fold(fold(s)) == fold(s)``); the property tests check it.
    """
    t = clean(text)
    t = t.replace("ヽ", "ゝ").replace("ヾ", "ゞ")
    t = t.lower().translate(_KATA_TO_HIRA)
    t = unicodedata.normalize("NFKC", t)
    t = t.translate(_SMALL_KANA)
    if _ITERATION.search(t):
        t = _expand_iteration_marks(t)
    t = _ASCII_HYPHEN.sub("", t)
    t = _drop_trailing_long_vowel(t)
    return _SPACES.sub(" ", t).strip()


def runs(folded: str) -> list[str]:
    """The runs of word characters of an already folded text (punctuation and emoji split them)."""
    return _RUN.findall(folded.replace("_", " "))


def bigrams(folded: str) -> list[str]:
    """Character bigrams of each run, a run of one character giving itself, runs separated by :data:`SEP`."""
    out: list[str] = []
    for r in runs(folded):
        if out:
            out.append(SEP)
        if len(r) == 1:
            out.append(r)
        else:
            out.extend(r[i : i + 2] for i in range(len(r) - 1))
    return out


def unigrams(folded: str) -> list[str]:
    """Every word character of an already folded text."""
    return [c for r in runs(folded) for c in r]


def is_kana(folded: str) -> bool:
    """Whether a folded word is written in kana only (a reading search makes sense for it)."""
    return bool(_KANA_ONLY.match(folded))


# ---- morphological analysis (SudachiPy) ---------------------------------------------------------------

_local = threading.local()
# Parts of speech that carry no meaning on their own in a catalog search.
_SKIP_POS = {"補助記号", "空白", "助詞", "助動詞"}


def _dictionary() -> Any:
    # SudachiPy tokenizers are not thread-safe; one dictionary and tokenizer per thread. The
    # dictionary is inside the sudachidict_core wheel, so nothing is downloaded at run time.
    d = getattr(_local, "dict", None)
    if d is None:
        from sudachipy import Dictionary

        _local.dict = d = Dictionary(dict="core")
    return d


def _tokenizer() -> Any:
    tok = getattr(_local, "tok", None)
    if tok is None:
        _local.tok = tok = _dictionary().tokenizer()
    return tok


class Morpheme(NamedTuple):
    """One analysed word: its surface, folded normalized form and folded reading, and where it is.

    ``begin``/``end`` are character offsets in the analysed (cleaned) text. A named tuple, not a
    dataclass: a build makes millions of them and a tuple is several times cheaper to create.
    """

    surface: str
    norm: str
    reading: str
    skip: bool
    begin: int
    end: int


# Morphemes repeat a lot across a catalog: fold each distinct one once.
_fold_word = lru_cache(maxsize=200_000)(fold)
_HAS_JA = re.compile(r"[ぁ-ゖァ-ヺ一-龯々]")
# Texts up to this long are cached whole; longer ones (descriptions) are analysed sentence by
# sentence and each sentence is cached, because catalog descriptions repeat sentences
# (詳しくは所管課にお問い合わせください。) far more than whole texts.
_CACHED_CHARS = 160
_SENTENCE = re.compile(r"[^。！？\n]*(?:[。！？\n]+|$)")


def _analyse(text: str, mode: str) -> tuple[Morpheme, ...]:
    c, a = analyse_both(text)
    return c if mode == "C" else a


def analyse_both(text: str) -> tuple[tuple[Morpheme, ...], tuple[Morpheme, ...]]:
    """Long units (mode C) and short units (mode A) of cleaned ``text``, with offsets in ``text``."""
    if len(text) <= _CACHED_CHARS:
        return _analyse_cached(text)
    c: list[Morpheme] = []
    a: list[Morpheme] = []
    offset = 0
    for sentence in _SENTENCE.findall(text[:12_000]):
        if not sentence:
            continue
        sc, sa = _analyse_cached(sentence) if len(sentence) <= _CACHED_CHARS else _analyse_uncached(sentence)
        if offset:
            sc = tuple(m._replace(begin=m.begin + offset, end=m.end + offset) for m in sc)
            sa = tuple(m._replace(begin=m.begin + offset, end=m.end + offset) for m in sa)
        c.extend(sc)
        a.extend(sa)
        offset += len(sentence)
    return tuple(c), tuple(a)


# Bounded: an entry holds a few dozen morphemes (a few kB), and build workers each have one.
@lru_cache(maxsize=20_000)
def _analyse_cached(text: str) -> tuple[tuple[Morpheme, ...], tuple[Morpheme, ...]]:
    return _analyse_uncached(text)


@lru_cache(maxsize=2048)
def _skip_pos(pos_id: int) -> bool:
    return bool(_dictionary().pos_of(pos_id)[0] in _SKIP_POS)


def _morpheme(m: Any) -> Morpheme:
    surface = m.surface()
    norm = _fold_word(m.normalized_form())
    reading = _fold_word(m.reading_form()) if _HAS_JA.search(surface) else _fold_word(surface)
    skip = _skip_pos(m.part_of_speech_id()) or not runs(norm)
    return Morpheme(surface, norm, reading, skip, m.begin(), m.end())


def _analyse_uncached(text: str) -> tuple[tuple[Morpheme, ...], tuple[Morpheme, ...]]:
    # One analysis in mode C; the short units come from splitting each long unit (what a second
    # analysis in mode A would give, at a fraction of the cost).
    from sudachipy import SplitMode

    c: list[Morpheme] = []
    a: list[Morpheme] = []
    split_a = SplitMode.A
    # Sudachi refuses inputs above ~49,000 bytes; catalog fields are far below, cut anyway.
    for m in _tokenizer().tokenize(text[:12_000], SplitMode.C):
        mc = _morpheme(m)
        c.append(mc)
        parts = m.split(split_a)
        if len(parts) > 1:
            a.extend(_morpheme(p) for p in parts)
        else:
            a.append(mc)
    return tuple(c), tuple(a)


def analyse(text: str, mode: str = "C") -> tuple[Morpheme, ...]:
    """Sudachi analysis of cleaned ``text`` (mode ``C`` long units, ``A`` short units)."""
    return _analyse(clean(text), mode)


def _wareki_years(cleaned: str) -> list[str]:
    years = []
    for era, n in _WAREKI.findall(cleaned):
        years.append(str(_ERA_START[era] + (1 if n == "元" else int(n))))
    return years


def words(text: str, *, short: bool = True) -> list[str]:
    """Word terms: folded normalized forms of long (and ``short``) units, plus western years for 和暦."""
    cleaned = clean(text)
    if not cleaned:
        return []
    out: list[str] = []
    seen_c: list[str] = []
    for m in _analyse(cleaned, "C"):
        if not m.skip:
            out.extend(runs(m.norm) if " " in m.norm else [m.norm])
            seen_c.append(m.norm)
    if short:
        units = [m.norm for m in _analyse(cleaned, "A") if not m.skip]
        if units != seen_c:
            out.extend(t for t in units if t not in seen_c)
    out.extend(_wareki_years(cleaned))
    return out


def reading(text: str) -> str:
    """The folded (hiragana) reading of ``text``, word by word, punctuation kept as a space."""
    return "".join(m.reading if runs(_fold_word(m.surface)) else " " for m in analyse(text))


@dataclass(slots=True)
class FieldTerms:
    """The index terms of one field, by stream (w, g, u, r)."""

    w: list[str] = field(default_factory=list)
    g: list[str] = field(default_factory=list)
    u: list[str] = field(default_factory=list)
    r: list[str] = field(default_factory=list)


def _text_terms_uncached(text: str, with_reading: bool) -> tuple[tuple[str, ...], ...] | None:
    folded = fold(text)
    if not folded:
        return None
    r = tuple(bigrams(reading(text))) if with_reading else ()
    return (tuple(words(text)), tuple(bigrams(folded)), tuple(unigrams(folded)), r)


# Category, department, licence, keyword and column values repeat across most entries of a catalog:
# their terms are made once.
_text_terms_cached = lru_cache(maxsize=50_000)(_text_terms_uncached)


def _text_terms(text: str, with_reading: bool) -> tuple[tuple[str, ...], ...] | None:
    if len(text) <= 64:
        return _text_terms_cached(text, with_reading)
    return _text_terms_uncached(text, with_reading)


def field_terms(values: str | list[str], *, with_reading: bool = False) -> FieldTerms:
    """Index terms of one field (a text or a list of texts such as keywords or column names)."""
    texts = [values] if isinstance(values, str) else list(values)
    ft = FieldTerms()
    streams = (ft.w, ft.g, ft.u, ft.r)
    for text in texts:
        terms = _text_terms(text, with_reading)
        if terms is None:
            continue
        for target, new in zip(streams, terms, strict=True):
            if target and new:
                target.append(SEP)
            target.extend(new)
    return ft


def highlight_tokens(text: str) -> list[tuple[int, int, str, str]]:
    """What highlighting needs from the analysis of ``text``, made once when a document is indexed.

    For each long and short unit: its offsets in ``clean(text)``, its folded normalized form when it
    differs from the folded surface (a variant: 子ども → 子供; plain words are found by the string
    pass) and its folded reading when it has two characters or more (kana queries); units with
    neither are left out.
    """
    cleaned = clean(text)
    if not cleaned:
        return []
    c, a = analyse_both(cleaned)
    out: dict[tuple[int, int], tuple[int, int, str, str]] = {}
    for m in (*c, *a):
        key = (m.begin, m.end)
        if key in out:
            continue
        norm = "" if m.skip or m.norm == _fold_word(m.surface) else m.norm
        rd = m.reading if len(m.reading) >= 2 else ""
        if norm or rd:
            out[key] = (m.begin, m.end, norm, rd)
    return list(out.values())


@dataclass(frozen=True, slots=True)
class QueryWord:
    """One whitespace-separated word of a query, analysed the way the index was."""

    text: str  # as typed (cleaned)
    folded: str
    words: tuple[str, ...]
    bigrams: tuple[str, ...]
    reading_bigrams: tuple[str, ...]  # only for kana words of two characters or more


def query_words(query: str) -> list[QueryWord]:
    """Split a query into analysed words; empty when nothing searchable remains (only punctuation, emoji…)."""
    cleaned = clean(query)[:MAX_QUERY_CHARS]
    out: list[QueryWord] = []
    for part in cleaned.split(" ")[:MAX_QUERY_WORDS]:
        qw = analyse_word(part)
        if qw is not None:
            out.append(qw)
    return out


def analyse_word(part: str) -> QueryWord | None:
    """Analyse one query word (also used for synonyms); ``None`` if nothing searchable is left."""
    folded = fold(part)
    if not runs(folded):
        return None
    kana = "".join(runs(folded))
    rb = tuple(bigrams(kana)) if is_kana(kana) and len(kana) >= 2 else ()
    return QueryWord(part, folded, tuple(dict.fromkeys(words(part, short=False))), tuple(bigrams(folded)), rb)
