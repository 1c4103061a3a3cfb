"""Table names (the URL and folder part, 半角英数字) from a Japanese title: 「救急出動件数」 → ``kyukyu-shutsudo-kensu``.

The reading comes from SudachiPy (its dictionary ships in the sudachidict_core wheel, nothing is
downloaded); kana become Hepburn-like romaji without long-vowel marks. Latin letters and digits are
kept as written. A title with nothing readable gets ``table-N``; names are unique within a dataset.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from typing import Any

from django.utils.text import slugify

MAX_LENGTH = 60
_local = threading.local()
_SKIP_POS = {"補助記号", "空白"}

_BASE = {
    "あ": "a", "い": "i", "う": "u", "え": "e", "お": "o",
    "か": "ka", "き": "ki", "く": "ku", "け": "ke", "こ": "ko",
    "さ": "sa", "し": "shi", "す": "su", "せ": "se", "そ": "so",
    "た": "ta", "ち": "chi", "つ": "tsu", "て": "te", "と": "to",
    "な": "na", "に": "ni", "ぬ": "nu", "ね": "ne", "の": "no",
    "は": "ha", "ひ": "hi", "ふ": "fu", "へ": "he", "ほ": "ho",
    "ま": "ma", "み": "mi", "む": "mu", "め": "me", "も": "mo",
    "や": "ya", "ゆ": "yu", "よ": "yo",
    "ら": "ra", "り": "ri", "る": "ru", "れ": "re", "ろ": "ro",
    "わ": "wa", "ゐ": "i", "ゑ": "e", "を": "o", "ん": "n",
    "が": "ga", "ぎ": "gi", "ぐ": "gu", "げ": "ge", "ご": "go",
    "ざ": "za", "じ": "ji", "ず": "zu", "ぜ": "ze", "ぞ": "zo",
    "だ": "da", "ぢ": "ji", "づ": "zu", "で": "de", "ど": "do",
    "ば": "ba", "び": "bi", "ぶ": "bu", "べ": "be", "ぼ": "bo",
    "ぱ": "pa", "ぴ": "pi", "ぷ": "pu", "ぺ": "pe", "ぽ": "po",
    "ぁ": "a", "ぃ": "i", "ぅ": "u", "ぇ": "e", "ぉ": "o", "ゔ": "vu",
}  # fmt: skip
_SMALL_Y = {"ゃ": "a", "ゅ": "u", "ょ": "o"}
_LONG = re.compile(r"(?<=[ou])u|(?<=o)o")  # kyuukyuu → kyukyu, toukei → tokei (no macrons in a URL)


def _tokenizer() -> Any:
    tok = getattr(_local, "tok", None)
    if tok is None:  # SudachiPy tokenizers are not thread-safe: one per thread
        from sudachipy import Dictionary

        _local.tok = tok = Dictionary(dict="core").tokenizer()
    return tok


def kana_to_romaji(kana: str) -> str:
    """Romaji of a kana reading (katakana or hiragana); other characters are dropped."""
    hira = "".join(chr(ord(ch) - 0x60) if "ァ" <= ch <= "ヶ" else ch for ch in kana)
    out: list[str] = []
    double = False
    for ch in hira:
        if ch in ("っ", "ッ"):
            double = True
            continue
        if ch in _SMALL_Y and out:
            prev = out.pop()
            # きゃ → kya, しゃ → sha, っちゃ → tcha (the doubling was already put on ち)
            stem = prev[:-1] if prev.endswith(("shi", "chi", "ji")) else prev[:-1] + "y"
            syllable = stem + _SMALL_Y[ch]
        elif ch in _BASE:
            syllable = _BASE[ch]
        else:
            continue  # ー and anything unknown
        if double:
            syllable = ("t" if syllable.startswith("ch") else syllable[0]) + syllable
            double = False
        out.append(syllable)
    return _LONG.sub("", "".join(out))


def romanise(title: str) -> str:
    """A title as lower-case ASCII words joined by ``-`` (empty when nothing in it can be read)."""
    text = unicodedata.normalize("NFKC", title)[:500]
    words: list[str] = []
    for m in _tokenizer().tokenize(text):
        surface = m.surface()
        if m.part_of_speech()[0] in _SKIP_POS:
            continue
        if surface.isascii():
            words.append(surface)
        else:
            words.append(kana_to_romaji(m.reading_form()))
    return slugify(" ".join(w for w in words if w))[:MAX_LENGTH].strip("-")


def table_name_for(*, dataset: Any, title: str) -> str:
    """A table name for ``title`` not yet used in ``dataset``: the romanised title, else ``table-N``."""
    from machidata.catalog.models import Table

    taken = set(Table.objects.filter(dataset=dataset).values_list("name", flat=True))
    base = romanise(title) if title.strip() else ""
    if base and base not in taken:
        return base
    stem = base or "table"
    n = 2 if base else len(taken) + 1
    while f"{stem}-{n}"[:100] in taken:
        n += 1
    return f"{stem}-{n}"
