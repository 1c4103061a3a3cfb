"""Synonyms applied at query time: a default list and an admin-edited list.

A synonym group is a set of words staff use for the same thing (避難所 ↔ 避難場所). A query word
found in a group also searches the other words of the group, with a lower weight than the word
typed, so an entry using the typed word ranks first. Groups are matched on folded word terms,
so ＡＥＤ, aed and AED all find the AED group. Applying synonyms at query time (not at indexing)
means an edited list takes effect without a reindex.

The admin-edited list is a text file, one group per line, words separated by commas (、 or , or
full-width ，); ``#`` starts a comment. :func:`load_synonyms` reads it; :func:`parse_synonyms`
reads the same format from a string (e.g. a setting or a form).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from machidata.search.normalise import fold

# Words staff use for the same data. The first four come from issue 4; the others are common
# spelling and naming pairs of municipal data (checked against the demo catalog's vocabulary).
DEFAULT_SYNONYMS: list[tuple[str, ...]] = [
    ("AED", "自動体外式除細動器"),
    ("避難所", "避難場所"),
    ("保育園", "保育所"),
    ("ごみ", "廃棄物"),
    ("がん", "癌"),
    ("CO2", "二酸化炭素", "温室効果ガス"),
    ("Wi-Fi", "無線LAN"),
    ("マイナンバー", "個人番号"),
    ("健診", "健康診査"),
    ("人流", "滞在人口"),
    ("放課後児童クラブ", "児童育成クラブ", "学童保育"),
    ("引っ越し", "転居"),
]

_SPLIT = re.compile(r"[,、，]")


class Synonyms:
    """Synonym groups indexed by folded word, ready for query expansion."""

    def __init__(self, groups: Iterable[Iterable[str]]) -> None:
        self.groups: list[tuple[str, ...]] = []
        self._by_key: dict[str, list[int]] = {}
        for group in groups:
            words = tuple(dict.fromkeys(w.strip() for w in group if w and w.strip()))
            if len(words) < 2:
                continue
            self.groups.append(words)
            for w in words:
                self._by_key.setdefault(fold(w), []).append(len(self.groups) - 1)

    def expand(self, word: str) -> list[str]:
        """Variants of ``word`` with a group member replaced by the others (compared folded).

        The whole word (AED → 自動体外式除細動器) or a part of two characters or more
        (がん検診 → 癌検診, ごみ収集 → 廃棄物収集) may be replaced; ``word`` itself is not returned.
        """
        key = fold(word)
        out: list[str] = []
        for member, gis in self._by_key.items():
            if member != key and (len(member) < 2 or member not in key):
                continue
            for gi in gis:
                for other in self.groups[gi]:
                    variant = key.replace(member, fold(other))
                    if variant != key and variant not in out:
                        out.append(variant)
        return out

    def __len__(self) -> int:
        return len(self.groups)


def parse_synonyms(text: str) -> list[tuple[str, ...]]:
    """Parse the admin-edited format: one group per line, words separated by commas; ``#`` comments."""
    groups = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = tuple(w.strip() for w in _SPLIT.split(line) if w.strip())
        if len(words) >= 2:
            groups.append(words)
    return groups


def load_synonyms(path: str | Path | None = None, *, include_defaults: bool = True) -> Synonyms:
    """The synonym list: the defaults plus the groups in ``path`` (a missing file adds nothing)."""
    groups: list[tuple[str, ...]] = list(DEFAULT_SYNONYMS) if include_defaults else []
    if path is not None:
        p = Path(path)
        if p.exists():
            groups.extend(parse_synonyms(p.read_text(encoding="utf-8")))
    return Synonyms(groups)


@lru_cache(maxsize=1)
def default_synonyms() -> Synonyms:
    """The default list only (built once)."""
    return Synonyms(DEFAULT_SYNONYMS)
