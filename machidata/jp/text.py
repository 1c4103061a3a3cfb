"""Japanese text in data cells: normalisation, numbers, missing markers, booleans, postal codes, phones.

Every parser first applies :func:`normalize_text` (NFKC, whitespace collapsed, zero-width characters
removed), so full-width digits, ``，``, ``％`` and half-width kana are handled once, in one place.
The regular expressions marked "shared" are written in the subset that both Python ``re`` and RE2
(pyarrow.compute) understand, so the vectorised twins in :mod:`machidata.jp.vector` use them verbatim.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

MissingReason = Literal["suppressed", "none", "unknown", "empty"]


class TextParseError(ValueError):
    """A cell that cannot be read as the requested kind of value."""


# --- normalisation ------------------------------------------------------------------------------

# Shared (RE2 + re). Explicit classes instead of \s: Python's \s is Unicode-aware, RE2's is not.
WHITESPACE_RUN_PATTERN = "[ \t\n\r\f\v]+"
ZERO_WIDTH_CHARS = "\u200b\u200c\u200d\u2060\ufeff"
ZERO_WIDTH_PATTERN = f"[{ZERO_WIDTH_CHARS}]"
_WHITESPACE_RUN = re.compile(WHITESPACE_RUN_PATTERN)
_ZERO_WIDTH = re.compile(ZERO_WIDTH_PATTERN)

# Dash-like characters people type between digits (postal codes, phone numbers, 番地).
HYPHEN_CHARS = "-‐‑‒–—―−ー─━˗⁃﹣"
_HYPHEN_BETWEEN_DIGITS = re.compile(f"(?<=[0-9])[{re.escape(HYPHEN_CHARS)}](?=[0-9])")


def nfkc(s: str) -> str:
    """Return the NFKC form of ``s`` (full-width ASCII to half-width, half-width kana to full-width)."""
    return unicodedata.normalize("NFKC", s)


def normalize_text(s: str) -> str:
    """NFKC, drop zero-width characters, collapse whitespace runs to one space and trim."""
    t = _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", s))
    return _WHITESPACE_RUN.sub(" ", t).strip(" ")


def unify_hyphens(s: str) -> str:
    """Normalise ``s`` and turn dash-like characters between two digits (1ー1, 860−8601) into ``-``."""
    return _HYPHEN_BETWEEN_DIGITS.sub("-", normalize_text(s))


# --- missing markers ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Missing:
    """A cell that deliberately holds no value, and why (秘匿 vs 該当なし vs 不詳 vs blank)."""

    reason: MissingReason
    raw: str


# Values after normalize_text (so "－" is already "-", "…" is "...", "･･･" is "・・・").
SUPPRESSED_MARKERS = ("x", "X", "χ", "Χ", "*", "**", "***", "秘匿", "秘")
UNKNOWN_MARKERS = ("不詳", "不明", "?")
# Shared: runs of dashes, long-vowel marks, dots or nakaguro mean "nothing to report".
NONE_MARKER_PATTERN = "^(?:[-‐‑‒–—―−ー─]+|\\.{2,}|・+|‥+)$"
_NONE_MARKER = re.compile(NONE_MARKER_PATTERN)


def parse_missing(s: str) -> Missing | None:
    """Return a :class:`Missing` if ``s`` is a missing-value marker (or blank), else ``None``."""
    t = normalize_text(s)
    if t == "":
        return Missing("empty", s)
    if t in SUPPRESSED_MARKERS:
        return Missing("suppressed", s)
    if t in UNKNOWN_MARKERS:
        return Missing("unknown", s)
    if _NONE_MARKER.match(t):
        return Missing("none", s)
    return None


# --- numbers ------------------------------------------------------------------------------------

# Units recognised after a number, in NFKC form (㎡ is "m2", ％ is "%"). Values stay unscaled:
# "1,234千円" is 1234 with unit 千円; use unit_scale() to get the multiplier.
UNITS = (
    "円", "千円", "万円", "百万円", "億円", "人", "千人", "万人", "件", "千件", "世帯", "台", "回",
    "万", "千", "百万", "億", "個", "本", "戸", "棟", "校", "園", "床", "冊", "枚", "部", "社", "店",
    "施設", "団体", "名", "歳", "才", "年", "か月", "ヶ月", "ヵ月", "カ月", "月", "日", "時間", "分",
    "秒", "倍", "点", "票", "頭", "匹", "箇所", "か所", "ヶ所", "ヵ所", "カ所", "所", "区", "%",
    "ポイント", "pt", "m", "km", "m2", "km2", "m3", "ha", "a", "kg", "t", "トン", "kl", "l", "L",
    "kWh", "MWh", "g", "mm", "cm",
)  # fmt: skip
UNIT_SET = frozenset(UNITS)
# A unit is any text after the number that starts with no digit, dot, comma or space; it must then be
# in UNIT_SET. (A regex alternation of every unit was 3x slower in RE2 and means the same thing.)
_UNIT = "[^0-9., ].*"
_NUM = "(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\\.[0-9]+)?|\\.[0-9]+"
# Shared: one anchored pattern; group names tell the vectorised twin which branch matched.
NUMBER_PATTERN = (
    f"^(?:(?P<sign>[▲△▼−+-])? ?(?:¥ ?(?P<ynum>{_NUM})|(?P<num>{_NUM})(?: ?(?P<unit>{_UNIT}))?)"
    f"|\\( ?(?P<pnum>{_NUM}) ?\\)(?: ?(?P<punit>{_UNIT}))?)$"
)
_NUMBER = re.compile(NUMBER_PATTERN)
NEGATIVE_SIGNS = ("▲", "△", "▼", "−", "-")


@dataclass(frozen=True, slots=True)
class NumberParse:
    """A parsed numeric cell: exact value, unit, how negativity was marked, or why it is missing."""

    raw: str
    value: Decimal | None
    unit: str | None = None
    negative_marker: str | None = None  # "▲", "△", "▼", "-" or "()" (accounting parentheses)
    missing: Missing | None = None

    @property
    def ok(self) -> bool:
        """True when a value was read."""
        return self.value is not None


def parse_number(s: str) -> NumberParse:
    """Parse a numeric cell (１，２３４ / 1,234円 / ▲123 / (123) / 12.5% / 1.2万 / x / -) or raise."""
    missing = parse_missing(s)
    if missing is not None:
        return NumberParse(raw=s, value=None, missing=missing)
    t = normalize_text(s)
    m = _NUMBER.match(t)
    if m is None:
        raise TextParseError(f"数値として読めません: {s!r}")
    sign = m["sign"]
    marker: str | None
    if m["pnum"] is not None:
        digits, unit, marker = m["pnum"], m["punit"], "()"
    elif m["ynum"] is not None:
        digits, unit, marker = m["ynum"], "円", None
    else:
        digits, unit, marker = m["num"], m["unit"], None
    if unit is not None and unit not in UNIT_SET:
        raise TextParseError(f"数値の単位「{unit}」は認識できません: {s!r}")
    if sign in NEGATIVE_SIGNS:
        marker = "-" if sign == "−" else sign
    value = Decimal(digits.replace(",", ""))
    if marker is not None and value != 0:
        value = -value
    return NumberParse(raw=s, value=value, unit=unit or None, negative_marker=marker)


_SCALE_PREFIXES = (("百万", Decimal(1_000_000)), ("千万", Decimal(10_000_000)), ("億", Decimal(10**8)),
                   ("万", Decimal(10_000)), ("千", Decimal(1_000)))  # fmt: skip


def unit_scale(unit: str | None) -> tuple[Decimal, str | None]:
    """Split a unit into its multiplier and base unit: 千円 -> (1000, 円), 万 -> (10000, None)."""
    if not unit:
        return Decimal(1), None
    for prefix, factor in _SCALE_PREFIXES:
        if unit.startswith(prefix):
            return factor, unit[len(prefix) :] or None
    return Decimal(1), unit


# --- booleans -----------------------------------------------------------------------------------

TRUE_WORDS = frozenset(
    {"○", "◯", "〇", "●", "◎", "✓", "✔", "レ", "有", "有り", "あり", "はい", "可", "済", "true", "yes", "y"}
)
FALSE_WORDS = frozenset({"×", "✕", "✖", "無", "無し", "なし", "いいえ", "不可", "false", "no", "n"})


def parse_bool(s: str) -> bool | None:
    """Read ○/×, 有/無, はい/いいえ, あり/なし, 可/不可, true/false; ``None`` for blank or missing markers."""
    t = normalize_text(s)
    key = t.lower()
    if key in TRUE_WORDS:
        return True
    if key in FALSE_WORDS:
        return False
    if parse_missing(t) is not None:
        return None
    raise TextParseError(f"真偽値（○/×、有/無など）として読めません: {s!r}")


# --- postal codes, phone numbers, coordinates ---------------------------------------------------

_POSTAL = re.compile("^(?:〒 ?)?([0-9]{3})-?([0-9]{4})$")


def parse_postal_code(s: str) -> str:
    """Return a postal code as ``NNN-NNNN`` from 〒860-8601, 8608601, ８６０ー８６０１ and the like."""
    m = _POSTAL.match(unify_hyphens(s))
    if m is None:
        raise TextParseError(f"郵便番号として読めません: {s!r}")
    return f"{m[1]}-{m[2]}"


_PHONE_ALLOWED = re.compile(r"^[0-9()\- ]+$")


def normalize_phone(s: str) -> str:
    """Return a domestic phone number as text with ``-`` separators (096(328)2111 -> 096-328-2111)."""
    t = unify_hyphens(s)
    for ch in HYPHEN_CHARS:
        t = t.replace(ch, "-")
    if t.startswith("+81"):
        t = "0" + t[3:].lstrip(" -")
    if not _PHONE_ALLOWED.match(t):
        raise TextParseError(f"電話番号として読めません: {s!r}")
    groups = [g for g in re.split(r"[()\- ]+", t) if g]
    digits = "".join(groups)
    if not digits.startswith("0") or not 10 <= len(digits) <= 11:
        raise TextParseError(f"電話番号の桁数が正しくありません（0から始まる10〜11桁）: {s!r}")
    return "-".join(groups)


_LATLON = re.compile(
    r"^\(? ?(?P<lat>[+-]?[0-9]{1,3}(?:\.[0-9]+)?) ?°? ?[,/、 ] ?(?P<lon>[+-]?[0-9]{1,3}(?:\.[0-9]+)?) ?°? ?\)?$"
)


def parse_latlon(s: str) -> tuple[float, float]:
    """Read ``'32.8031, 130.7079'`` (latitude first) as ``(lat, lon)``; range-checked, never swapped."""
    m = _LATLON.match(normalize_text(s))
    if m is None:
        raise TextParseError(f"緯度・経度として読めません（例: 32.8031, 130.7079）: {s!r}")
    lat, lon = float(m["lat"]), float(m["lon"])
    if not -90 <= lat <= 90 or not -180 <= lon <= 180:
        raise TextParseError(f"緯度は±90、経度は±180の範囲で、緯度を先に書いてください: {s!r}")
    return lat, lon


_KANJI_DIGITS = {"〇": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CHOME = re.compile(r"([〇一二三四五六七八九十]+)丁目")
_CITY_PREFIX = re.compile(r"^(熊本県)?(熊本市)?(中央区|東区|西区|南区|北区)?")


def kanji_number(text: str) -> int | None:
    """A kanji numeral up to 99 as an integer (一 → 1, 十二 → 12, 二十三 → 23, 二〇 → 20); None if it is not one."""
    if not text or any(c not in _KANJI_DIGITS and c != "十" for c in text):
        return None
    if "十" not in text:
        return int("".join(str(_KANJI_DIGITS[c]) for c in text))
    tens, _, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1 or "十" in ones:
        return None
    return (_KANJI_DIGITS[tens] if tens else 1) * 10 + (_KANJI_DIGITS[ones] if ones else 0)


def normalize_town_name(s: str) -> str:
    """A 町丁・字 or 校区 name for matching: NFKC, no spaces, 丁目 numbers in digits, no leading city or ward.

    「熊本市中央区 水前寺一丁目」, 「水前寺１丁目」 and 「水前寺1丁目」 all become 「水前寺1丁目」.
    """
    t = re.sub(r"\s+", "", normalize_text(s))
    t = _CHOME.sub(
        lambda m: f"{kanji_number(m.group(1))}丁目" if kanji_number(m.group(1)) is not None else m.group(0), t
    )
    return _CITY_PREFIX.sub("", t) or t
