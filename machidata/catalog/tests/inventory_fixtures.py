"""Shared setup for the inventory import tests: vocabularies and workbooks built with openpyxl."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from machidata.catalog.models import Category, DataFormat, Licence

FIXTURES = Path(__file__).parent / "fixtures" / "inventory"
FIRE_CP932 = FIXTURES / "fire_cp932.csv"

HEADERS = [
    "整理番号", "データ名", "概要", "所管課", "分野", "キーワード", "公開・非公開", "個人情報の有無",
    "保管場所", "更新頻度", "ファイル形式", "出典", "ライセンス", "対象期間", "備考",
]  # fmt: skip

HEALTH_ROWS = [
    ["H-001", "健診受診者数", "地区別の受診者数", "200100", "健康・福祉", "健診、受診率", "庁内", "なし",
     "\\\\fileserver\\kenko\\健診", "毎年", "CSV、Excel", "本市", "CC BY 4.0", "令和2年度～令和5年度", "年度末に更新"],
    ["H-002", "母子健康手帳交付台帳", "交付の記録", "健康づくり推進課", "健康・福祉", "", "所属限定", "あり",
     "母子保健システム", "随時", "Excel", "", "", "", ""],
    ["Ｈ－００３", "乳幼児健診の会場一覧", "会場と日程", "母子保健係", "健康・福祉", "健診", "オープンデータ", "×",
     "https://www.city.example.jp/kenshin", "不定期", "PDF", "熊本市", "CC BY 4.0", "２０２４年度", ""],
]  # fmt: skip


def make_vocabularies() -> dict[str, Any]:
    """分野, ライセンス and 形式 as a city would register them."""
    return {
        "health": Category.objects.create(code="health", name="健康・福祉", order=1),
        "disaster": Category.objects.create(code="disaster", name="防災", order=2),
        "ccby": Licence.objects.create(code="cc-by-4.0", name="CC BY 4.0", is_open=True),
        "csv": DataFormat.objects.create(code="csv", name="CSV"),
        "xlsx": DataFormat.objects.create(code="xlsx", name="Excel"),
        "pdf": DataFormat.objects.create(code="pdf", name="PDF"),
        "paper": DataFormat.objects.create(code="paper", name="紙"),
    }


def workbook_bytes(
    rows: list[list[str]], *, headers: list[str] | None = None, title: bool = True, sheet: str = "棚卸表"
) -> bytes:
    """An .xlsx with an optional title row and a blank row above the header, plus a second sheet."""
    book = Workbook()
    cover = book.active
    assert cover is not None
    cover.title = "記入要領"
    cover.append(["この棚卸表の記入方法"])
    ws = book.create_sheet(sheet)
    if title:
        ws.append(["令和6年度 庁内データ棚卸表（健康福祉局）"])
        ws.append([])
    ws.append(headers or HEADERS)
    for row in rows:
        ws.append(row)
    ws.append([])
    ws.append(["※ 個人情報の有無は「あり・なし」で記入してください。"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
