"""Check digits of マイナンバー (個人番号, 12 digits) and 法人番号 (13 digits).

Only the check digit is verified: a valid check digit does not mean the number was ever issued.
Never log or store the numbers themselves outside the systems allowed to hold them (番号法).
"""

from __future__ import annotations

import re

from machidata.jp.text import normalize_text


class NumberFormatError(ValueError):
    """A マイナンバー or 法人番号 with the wrong length, characters or check digit."""


# 行政手続における特定の個人を識別するための番号の利用等に関する法律施行令 第8条:
# check digit = 11 − (Σ Pn × Qn mod 11), or 0 when the remainder is 0 or 1, where Pn is the n-th
# digit counted from the right of the first 11 digits and Qn = n + 1 (1 ≤ n ≤ 6), n − 5 (7 ≤ n ≤ 11).
# Read left to right, the 11 weights are therefore 6 5 4 3 2 7 6 5 4 3 2.
MYNUMBER_WEIGHTS = tuple((n + 1 if n <= 6 else n - 5) for n in range(11, 0, -1))

_SEPARATORS = re.compile("[ -]")


def _digits(s: str, length: int, label: str) -> str:
    t = _SEPARATORS.sub("", normalize_text(s))
    if len(t) != length or not t.isascii() or not t.isdigit():
        raise NumberFormatError(f"{label}は{length}桁の数字です")
    return t


def mynumber_check_digit(first11: str) -> int:
    """Return the check digit for the first 11 digits of a マイナンバー (施行令第8条)."""
    digits = _digits(first11, 11, "マイナンバーの先頭部分")
    remainder = sum(int(c) * w for c, w in zip(digits, MYNUMBER_WEIGHTS, strict=True)) % 11
    return 0 if remainder <= 1 else 11 - remainder


def validate_mynumber(s: str) -> str:
    """Return the 12 digits of a マイナンバー (spaces/hyphens removed) or raise NumberFormatError."""
    digits = _digits(s, 12, "マイナンバー")
    if mynumber_check_digit(digits[:11]) != int(digits[11]):
        raise NumberFormatError("マイナンバーの検査用数字が一致しません")
    return digits


def is_valid_mynumber(s: str) -> bool:
    """True if ``s`` is 12 digits whose last digit is the correct check digit."""
    try:
        validate_mynumber(s)
    except NumberFormatError:
        return False
    return True


def corporate_check_digit(base12: str) -> int:
    """Return the leading check digit of a 法人番号 for its 12-digit base (法人番号の指定等に関する省令)."""
    digits = _digits(base12, 12, "法人番号の基礎番号")
    # Pn is the n-th digit from the right; Qn is 1 for odd n, 2 for even n; check = 9 − (Σ mod 9).
    total = sum(int(c) * (1 if n % 2 else 2) for n, c in enumerate(reversed(digits), start=1))
    return 9 - total % 9


def validate_corporate_number(s: str) -> str:
    """Return the 13 digits of a 法人番号 or raise NumberFormatError."""
    digits = _digits(s, 13, "法人番号")
    if corporate_check_digit(digits[1:]) != int(digits[0]):
        raise NumberFormatError("法人番号の検査用数字が一致しません")
    return digits


def is_valid_corporate_number(s: str) -> bool:
    """True if ``s`` is a 13-digit 法人番号 with a correct leading check digit."""
    try:
        validate_corporate_number(s)
    except NumberFormatError:
        return False
    return True
