"""Fixtures of the 仮名加工・匿名加工 tests: a synthetic 住民記録-like extract (never real personal data).

:func:`jumin_rows` builds rows in a fixed pattern: for each ward, sex and 10-year age band
``per_cell`` people with made-up names, 宛名番号, birth dates (西暦 or 和暦), full addresses with
番地, phone numbers, 被保険者番号 and incomes (a few very large ones for top-coding). Every
combination of (区, 性別, 10歳階級) therefore holds exactly ``per_cell`` people, which the tests use
as the expected k; ``lonely`` adds people whose combination is unique (k = 1).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest

from machidata.access.models import PersonalData, Role
from machidata.access.policy import Actor, actor_for
from machidata.core.testing import Actors, make_dataset, make_unit, make_user

AS_OF = dt.date(2026, 4, 1)
WARDS = (("中央区", "手取本町", "水前寺"), ("東区", "健軍", "長嶺南"), ("西区", "島崎", "上熊本"),
         ("南区", "城南町舞原", "富合町清藤"), ("北区", "植木町岩野", "清水亀井町"))  # fmt: skip
SURNAMES = ("合成", "試験", "見本", "仮置", "架空", "模擬")
GIVEN = ("一郎", "花子", "次郎", "桜", "三郎", "葵", "四郎", "楓")
HEADER = ["宛名番号", "氏名", "生年月日", "性別", "住所", "電話番号", "被保険者番号", "所得", "備考"]


def _birth(age: int, i: int) -> str:
    """A birth date giving ``age`` on AS_OF; every third one in 和暦."""
    day = dt.date(AS_OF.year - age - 1, 4 + i % 8, 2 + i % 27)
    if i % 3 == 0 and 1990 <= day.year <= 2018:
        return f"平成{day.year - 1988}年{day.month}月{day.day}日"
    if i % 3 == 0 and 1927 <= day.year <= 1988:
        return f"昭和{day.year - 1925}年{day.month}月{day.day}日"
    return day.strftime("%Y/%m/%d")


def jumin_rows(per_cell: int = 5, *, lonely: int = 0) -> list[list[str]]:
    """The extract's rows (without the header); see the module docstring."""
    rows: list[list[str]] = []
    n = 0
    for ward, town_a, town_b in WARDS:
        for sex in ("男", "女"):
            for band in range(0, 100, 10):
                for j in range(per_cell):
                    n += 1
                    age = min(band + (j * 3) % 10, 104)
                    town = town_a if j % 2 else town_b
                    rows.append([
                        f"{10_000_000 + n * 7:08d}",
                        f"{SURNAMES[n % len(SURNAMES)]} {GIVEN[n % len(GIVEN)]}",
                        _birth(age, n),
                        sex,
                        f"熊本市{ward}{town}{1 + n % 4}丁目{n % 30 + 1}-{n % 9 + 1}",
                        f"096-{300 + n % 600:03d}-{n % 10000:04d}",
                        f"{n:08d}",
                        str(50_000_000 if n % 97 == 0 else 1_000_000 + (n * 7919) % 6_000_000),
                        "",
                    ])  # fmt: skip
    for i in range(lonely):
        rows.append([f"{99_000_000 + i:08d}", f"孤立 太郎{i}", "1920/01/01" if i == 0 else "2020/01/01",
                     "女", "熊本県阿蘇市一の宮町1-1", "0967-22-0000", f"9{i:07d}", "100", ""])  # fmt: skip
    return rows


def to_csv(rows: list[list[str]], header: list[str] | None = None, *, encoding: str = "cp932") -> bytes:
    """The rows as a CSV file in the business systems' usual Shift_JIS (CP932)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header or HEADER)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def to_xlsx(rows: list[list[str]], header: list[str] | None = None) -> bytes:
    """The rows as an Excel workbook."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header or HEADER)
    for r in rows:
        sheet.append(r)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def write(tmp_path: Path, data: bytes, name: str = "jumin.csv") -> Path:
    """Write an extract where the services will pick it up (and delete it)."""
    path = tmp_path / name
    path.write_bytes(data)
    return path


def as_actor(actors: Actors, name: str) -> Actor:
    """The policy actor of a named test user."""
    return actor_for(actors.users[name])


PSEUDO_PLAN: dict[str, Any] = {
    "title": "住民記録（仮名加工）",
    "table_name": "jumin",
    "identifiers": ["宛名番号", "氏名"],
    "quasi": [
        {"column": "生年月日", "method": "age10"},
        {"column": "住所", "method": "ward"},
        {"column": "性別", "method": "keep"},
    ],
    "drop": ["電話番号", "被保険者番号", "備考"],
    "k": 5,
}
ANON_PLAN: dict[str, Any] = {
    **PSEUDO_PLAN,
    "title": "住民記録（匿名加工）",
    "table_name": "jumin-anon",
    "identifiers": ["宛名番号", "氏名", "電話番号"],
    "drop": ["被保険者番号", "備考"],
    "top_code": [{"column": "所得", "cap": 10_000_000}],
}


@pytest.fixture
def deid_world(actors: Actors, settings: Any, tmp_path: Path) -> dict[str, Any]:
    """A 仮名加工情報 and a 匿名加工情報 dataset of 健康づくり推進課, the source ledger, and a privacy officer."""
    org = actors.org
    settings.MACHIDATA_HOME = tmp_path / "home"
    settings.MACHIDATA_PRIVACY_UNIT_CODE = "100900"
    privacy_unit = make_unit("個人情報保護担当課", parent=org.policy_bureau, code="100900")
    actors.users["officer"] = make_user("officer", unit=privacy_unit, role=Role.EDITOR)
    pseudo = make_dataset(org.health_div, title="住民記録（仮名加工）", classification="restricted",
                          personal_data=PersonalData.PSEUDONYMISED)  # fmt: skip
    anon = make_dataset(org.health_div, title="住民記録（匿名加工）", classification="internal",
                        personal_data=PersonalData.ANONYMISED)  # fmt: skip
    source = make_dataset(org.health_div, title="住民記録システム（元データ）", classification="restricted",
                          personal_data=PersonalData.PERSONAL)  # fmt: skip
    return {"pseudo": pseudo, "anon": anon, "source": source}
