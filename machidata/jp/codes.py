"""全国地方公共団体コード (local-government codes) and the wards of Kumamoto City.

A code is five digits (2 for the prefecture, 3 for the municipality) plus a check digit (検査数字):
S = 6·d1 + 5·d2 + 4·d3 + 3·d4 + 2·d5, check digit = (11 − S mod 11) mod 10.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from machidata.jp.text import normalize_text


class CodeError(ValueError):
    """A local-government code with the wrong length, characters or check digit."""


_WEIGHTS = (6, 5, 4, 3, 2)


def _clean(code: str) -> str:
    # Strings only: an int loses leading zeros (01100 vs 011002 for Hokkaido) and becomes ambiguous.
    t = normalize_text(code)
    if not t.isascii() or not t.isdigit():
        raise CodeError(f"団体コードは数字です: {code!r}")
    return t


def lg_check_digit(code5: str) -> str:
    """Return the check digit (検査数字) of a 5-digit local-government code."""
    t = _clean(code5)
    if len(t) != 5:
        raise CodeError(f"検査数字は5桁の団体コードから計算します: {code5!r}")
    return str((11 - sum(int(d) * w for d, w in zip(t, _WEIGHTS, strict=True)) % 11) % 10)


def complete_lg_code(code: str) -> str:
    """Return the 6-digit code for a 5- or 6-digit code (validating a 6-digit one's check digit)."""
    t = _clean(code)
    if len(t) == 5:
        return t + lg_check_digit(t)
    if len(t) == 6:
        if lg_check_digit(t[:5]) != t[5]:
            raise CodeError(
                f"団体コード{t}の検査数字が正しくありません（正しくは{t[:5]}{lg_check_digit(t[:5])}）"
            )
        return t
    raise CodeError(f"団体コードは5桁または6桁です: {code!r}")


def is_valid_lg_code(code: str) -> bool:
    """True if ``code`` is a 6-digit code with the correct check digit."""
    try:
        t = _clean(code)
        return len(t) == 6 and lg_check_digit(t[:5]) == t[5]
    except CodeError:
        return False


@dataclass(frozen=True, slots=True)
class Ward:
    """An administrative ward (行政区) of a designated city."""

    code5: str
    code6: str
    name: str  # 中央区
    city: str  # 熊本市
    name_kana: str  # チュウオウク (NFKC of the source's half-width kana)

    @property
    def full_name(self) -> str:
        """City and ward, e.g. 熊本市中央区."""
        return self.city + self.name


# Source: /work/shared/data/codes/kumamoto_city_lg_codes.csv (computed codes; names and kana from
# 国土交通省 国土数値情報「行政区域コード」, see that folder's SOURCE.md). Codes and names are facts
# (no copyright); attribute the kana to 国土交通省 under the 国土数値情報 terms.
KUMAMOTO_PREFECTURE_CODE = "430005"
KUMAMOTO_CITY_CODE = "431001"
KUMAMOTO_CITY_OLD_CODE5 = "43201"  # before becoming a designated city on 2012-04-01 (H24.4.1)
KUMAMOTO_WARDS = (
    Ward("43101", "431010", "中央区", "熊本市", "チュウオウク"),
    Ward("43102", "431028", "東区", "熊本市", "ヒガシク"),
    Ward("43103", "431036", "西区", "熊本市", "ニシク"),
    Ward("43104", "431044", "南区", "熊本市", "ミナミク"),
    Ward("43105", "431052", "北区", "熊本市", "キタク"),
)
_WARD_BY_NAME = {w.name: w for w in KUMAMOTO_WARDS}
_WARD_BY_CODE5 = {w.code5: w for w in KUMAMOTO_WARDS}
# Towns merged into 熊本市 (same source): 城南町 43341 and 富合町 43342 are now in 南区, 植木町 43385 in 北区.
LEGACY_TOWN_WARDS = {"43341": "南区", "43342": "南区", "43385": "北区"}

_WARD_ALT = "|".join(w.name for w in KUMAMOTO_WARDS)
_WARD_IN_CITY = re.compile(f"熊本市 ?({_WARD_ALT})")
_WARD_AT_START = re.compile(f"^(?:熊本県 ?)?({_WARD_ALT})")


def ward_from_text(text: str) -> Ward | None:
    """Find the Kumamoto City ward in an address or name (熊本市中央区手取本町1-1 -> 中央区), else None."""
    t = normalize_text(text)
    m = _WARD_IN_CITY.search(t) or _WARD_AT_START.match(t)
    return None if m is None else _WARD_BY_NAME[m.group(1)]


def ward_from_code(code: str) -> Ward | None:
    """Return the ward for a 5/6-digit ward code or a merged town's old code (43341 -> 南区), else None."""
    t = _clean(code)
    if len(t) == 6:
        complete_lg_code(t)  # raises on a wrong check digit
        t = t[:5]
    if len(t) != 5:
        raise CodeError(f"団体コードは5桁または6桁です: {code!r}")
    if t in LEGACY_TOWN_WARDS:
        return _WARD_BY_NAME[LEGACY_TOWN_WARDS[t]]
    return _WARD_BY_CODE5.get(t)
