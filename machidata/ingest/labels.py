"""Japanese words for the codes of a Table Schema (types, kinds, missing reasons), for every page staff see.

The codes (``integer``, ``postal_code``, ``suppressed`` …) stay in the stored schema and the API;
pages show these words instead (design guide §7: English stays in the code).
"""

from __future__ import annotations

from typing import Final

TYPE_LABELS: Final[dict[str, str]] = {
    "string": "文字列",
    "integer": "整数",
    "number": "小数",
    "boolean": "真偽（はい・いいえ）",
    "date": "日付",
    "datetime": "日時",
    "time": "時刻",
    "year": "年（西暦）",
    "yearmonth": "年月",
    "geojson": "地図上の形（GeoJSON）",
}
KIND_LABELS: Final[dict[str, str]] = {
    "fiscal_year": "年度",
    "postal_code": "郵便番号",
    "phone": "電話番号",
    "lg_code": "地方公共団体コード",
    "ward": "区名",
    "latlon": "緯度・経度",
}
# Reasons a cell is empty (e-Stat style symbols): what the marker means for the number.
REASON_LABELS: Final[dict[str, str]] = {
    "none": "該当なし（0 や数字なし）",
    "suppressed": "秘匿（数字はあるが伏せている）",
    "unknown": "不詳（数字が得られない）",
}
# Types offered when staff override what inference chose (geometry comes only from GeoJSON files).
OVERRIDE_TYPES: Final = (
    "string",
    "integer",
    "number",
    "boolean",
    "date",
    "datetime",
    "time",
    "year",
    "yearmonth",
)


def type_label(ftype: str, kind: str | None = None) -> str:
    """The Japanese word for a field type, with its kind when it has one: 「整数（年度）」, 「文字列（郵便番号）」."""
    label = TYPE_LABELS.get(ftype, "その他")
    if kind:
        label += f"（{KIND_LABELS.get(kind, 'その他')}）"
    return label
