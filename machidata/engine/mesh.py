"""地域メッシュ (JIS X 0410 standard grid squares): codes from latitude/longitude, and a code's square.

The standard's arithmetic (統計局「地域メッシュ統計の概要」; JIS X 0410:2002), on the Japanese
geodetic datum 2011 (JGD2011, practically WGS 84 for this purpose):

* 1st level (第1次地域区画, 4 digits ``pp uu``): 40′ of latitude × 1° of longitude;
  ``pp = ⌊lat × 1.5⌋``, ``uu = ⌊lon⌋ − 100``.
* 2nd level (第2次, 6 digits, + ``q v``): the 1st-level square cut 8 × 8 (5′ × 7′30″).
* 3rd level (第3次・基準地域メッシュ, 8 digits, + ``r w``): the 2nd-level square cut 10 × 10 (30″ × 45″, about 1 km).
* 1/2 mesh (2分の1地域メッシュ, 9 digits, + ``m``): the 3rd-level square cut 2 × 2, numbered
  1 (south-west), 2 (south-east), 3 (north-west), 4 (north-east); 1/4 mesh (10 digits) cuts that again.

Everything works on whole numbers of the finest cell (1/4 mesh: 7.5″ × 11.25″), so a point is
floored once and every level's digits are integer divisions of the same two indexes; the engine's
SQL (:func:`machidata.engine.compile`) uses the same formula. A point outside the standard's area
(latitude 20–46°, longitude 122–154°) has no code. No library: the one on PyPI (``jismesh``) has
had no release since 2020, and the formula is a few lines.
"""

from __future__ import annotations

import math
from typing import Final

# Grain name → number of digits of the code.
MESH_GRAINS: Final[dict[str, int]] = {
    "mesh1": 4,
    "mesh2": 6,
    "mesh3": 8,
    "mesh_half": 9,
    "mesh_quarter": 10,
}
MESH_LABELS: Final[dict[str, str]] = {
    "mesh1": "1次メッシュ",
    "mesh2": "2次メッシュ",
    "mesh3": "3次メッシュ",
    "mesh_half": "2分の1メッシュ",
    "mesh_quarter": "4分の1メッシュ",
}
# The finest cell (1/4 mesh) in degrees: 1/480° of latitude (7.5″), 1/320° of longitude (11.25″).
LAT_STEPS: Final = 480
LON_STEPS: Final = 320
LAT_RANGE: Final = (20.0, 46.0)
LON_RANGE: Final = (122.0, 154.0)


class MeshError(ValueError):
    """Not a mesh code, or a point outside the standard's area; the message is Japanese."""


def in_area(lat: float, lon: float) -> bool:
    """Whether a point lies where the standard grid is defined (Japan and its seas)."""
    return LAT_RANGE[0] <= lat < LAT_RANGE[1] and LON_RANGE[0] <= lon < LON_RANGE[1]


def code_from_indexes(iy: int, ix: int, grain: str) -> int:
    """The code of the cell holding the finest-cell indexes ``iy = ⌊lat × 480⌋``, ``ix = ⌊(lon − 100) × 320⌋``."""
    code = (iy // 320) * 100 + ix // 320
    if grain == "mesh1":
        return code
    code = code * 100 + ((iy % 320) // 40) * 10 + (ix % 320) // 40
    if grain == "mesh2":
        return code
    code = code * 100 + ((iy % 40) // 4) * 10 + (ix % 40) // 4
    if grain == "mesh3":
        return code
    code = code * 10 + ((iy % 4) // 2) * 2 + (ix % 4) // 2 + 1
    if grain == "mesh_half":
        return code
    return code * 10 + (iy % 2) * 2 + ix % 2 + 1


def mesh_code(lat: float, lon: float, grain: str = "mesh3") -> int:
    """The mesh code of a point at one level (``mesh1`` … ``mesh_quarter``)."""
    if grain not in MESH_GRAINS:
        raise MeshError(f"メッシュの種類「{grain}」はありません（{'・'.join(MESH_LABELS.values())}）。")
    if not (math.isfinite(lat) and math.isfinite(lon)) or not in_area(lat, lon):
        raise MeshError(f"緯度{lat}・経度{lon}は地域メッシュの範囲（日本とその周辺）の外です。")
    return code_from_indexes(math.floor(lat * LAT_STEPS), math.floor((lon - 100) * LON_STEPS), grain)


def mesh_bounds(code: int | str) -> tuple[float, float, float, float]:
    """The square of a code: (south, west, north, east) in degrees. The level is read from the digit count."""
    text = str(code).strip()
    if not text.isdigit() or len(text) not in MESH_GRAINS.values():
        raise MeshError(f"「{code}」は地域メッシュのコード（4・6・8・9・10桁の数字）ではありません。")
    south, west = int(text[0:2]) / 1.5, int(text[2:4]) + 100.0
    height, width = 1 / 1.5, 1.0
    if len(text) >= 6:
        q, v = int(text[4]), int(text[5])
        if q > 7 or v > 7:
            raise MeshError(f"「{code}」の2次メッシュの番号（5・6桁目）は0〜7です。")
        height, width = height / 8, width / 8
        south, west = south + q * height, west + v * width
    if len(text) >= 8:
        r, w = int(text[6]), int(text[7])
        height, width = height / 10, width / 10
        south, west = south + r * height, west + w * width
    for digit in text[8:10]:
        m = int(digit)
        if not 1 <= m <= 4:
            raise MeshError(f"「{code}」の分割メッシュの番号（9・10桁目）は1〜4です。")
        height, width = height / 2, width / 2
        south, west = south + ((m - 1) // 2) * height, west + ((m - 1) % 2) * width
    return south, west, south + height, west + width


def grain_of(code: int | str) -> str:
    """The level of a code from its digit count."""
    digits = len(str(code).strip())
    for grain, n in MESH_GRAINS.items():
        if n == digits:
            return grain
    raise MeshError(f"「{code}」は地域メッシュのコード（4・6・8・9・10桁の数字）ではありません。")
