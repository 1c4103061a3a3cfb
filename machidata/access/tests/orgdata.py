"""Kumamoto City organisation lists for the tests: the 2024 CP932 CSV fixture and a 2025 reorganisation workbook."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from machidata.access.models import Unit

FIXTURES = Path(__file__).parent / "fixtures"
ORG_2024 = FIXTURES / "kumamoto_organisation_2024.csv"
D2024 = dt.date(2024, 4, 1)
D2025 = dt.date(2025, 4, 1)
ORG_HEADER = ["所属コード", "所属名", "種別", "上位所属コード", "代表メール", "代表電話", "旧所属コード"]
STAFF_HEADER = ["職員ID", "氏名", "所属コード", "役割", "メール"]


def rows_2024() -> list[list[str]]:
    """The 2024 organisation (without its heading)."""
    with ORG_2024.open(encoding="cp932", newline="") as fh:
        return list(csv.reader(fh))[1:]


def rows_2025() -> list[list[str]]:
    """The 2025-04-01 reorganisation of the 2024 list.

    - 高齢介護福祉課 (150102) splits into 高齢福祉課 (150103, takes its data) and 介護保険課 (150104)
    - 情報政策課 (110202) merges into データ戦略課 (110201)
    - 観光政策課 is renamed 観光交流政策課; 都市政策課 moves under a new 都市政策部
    - DX推進課 (110203) is new; 子ども政策課 gets a 代表メール
    """
    rows = []
    for original in rows_2024():
        code = original[0]
        if code in {"150102", "110202"}:
            continue
        row = list(original)
        if code == "110201":
            row[6] = "110202"
        if code == "180101":
            row[1] = "観光交流政策課"
        if code == "200101":
            row[3] = "200100"
        if code == "160101":
            row[4] = "kodomoseisaku@city.kumamoto.example.jp"
        rows.append(row)
    rows += [
        ["110203", "DX推進課", "課", "110200", "", "", ""],
        ["150103", "高齢福祉課", "課", "150000", "korei@city.kumamoto.example.jp", "096-328-2347", "150102"],
        ["150104", "介護保険課", "課", "150000", "", "", "150102"],
        ["200100", "都市政策部", "部", "200000", "", "", ""],
    ]
    return rows


STAFF_2025 = [
    ["k0001", "熊本 太郎", "110201", "管理", "taro@city.kumamoto.example.jp"],
    ["k0002", "肥後 花子", "150103", "編集", "hanako@city.kumamoto.example.jp"],
    ["k0003", "新人 一郎", "110203", "閲覧", ""],
]


def write_xlsx(
    path: Path, org_rows: list[list[Any]], staff_rows: list[list[Any]] | None = None, *, title: bool = True
) -> Path:
    """An Excel workbook as the personnel division sends it: a title row, then the table; staff on a second sheet."""
    wb = Workbook()
    ws = wb.active
    ws.title = "組織"
    if title:
        ws.append(["令和7年4月1日 組織改正 所属一覧"])
        ws.append([])
    ws.append(ORG_HEADER)
    for row in org_rows:
        ws.append(row)
    if staff_rows is not None:
        staff = wb.create_sheet("職員")
        staff.append(STAFF_HEADER)
        for row in staff_rows:
            staff.append(row)
    wb.save(path)
    return path


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, encoding: str = "utf-8-sig") -> Path:
    """A CSV file in the given encoding (CRLF, as Excel saves it)."""
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def active_codes(day: dt.date) -> set[str]:
    """所属コード of the units in force on ``day``."""
    return set(Unit.objects.active_on(day).values_list("code", flat=True))
