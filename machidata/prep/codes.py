"""The shipped code lists (Kumamoto's 全国地方公共団体コード and ward codes, 年齢階級) and item definitions.

Sources (see ``data/codes/SOURCE.md``): 総務省「全国地方公共団体コード」 (熊本県の団体),
国土交通省 国土数値情報「行政区域コード」 (history: 欠番 dates of 熊本市 43201 and the merged towns),
and the computed ward codes of 熊本市 (check digits by :func:`machidata.jp.codes.complete_lg_code`).
The load is idempotent: each list is replaced as a whole, in one transaction, audited.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any, Final

from django.db import transaction

from machidata.access.policy import Actor, system_actor
from machidata.audit.services import audit_record
from machidata.jp.codes import complete_lg_code
from machidata.jp.wareki import parse_date
from machidata.prep.models import CodeEntry, CodeList, ItemDefinition

DATA: Final = Path(__file__).resolve().parent / "data" / "codes"
SYSTEM: Final = system_actor("prep-codes")
LG_SLUG: Final = "lg-code-kumamoto"
WARD_SLUG: Final = "ward-kumamoto"
AGE_SLUG: Final = "age-group-5"
SOURCE_SOUMU: Final = "総務省「全国地方公共団体コード」（熊本県の団体）、国土交通省 国土数値情報「行政区域コード」（改正の履歴）"


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def lg_code_entries() -> list[dict[str, Any]]:
    """全国地方公共団体コード (6 digits) of 熊本県's団体 and 熊本市's wards, with end dates of retired codes."""
    entries: dict[str, dict[str, Any]] = {}
    for r in _rows("soumu_lg_code_kumamoto_pref.csv"):
        name = r["市区町村名（漢字）"] or r["都道府県名（漢字）"]
        entries[r["団体コード"]] = {
            "code": r["団体コード"],
            "name": name,
            "valid_from": None,
            "valid_to": None,
            "note": "",
        }
    for r in _rows("kumamoto_city_lg_codes.csv"):
        if r["kind"] == "行政区":
            entries[r["lg_code6"]] = {
                "code": r["lg_code6"],
                "name": r["name"],
                "valid_from": dt.date(2012, 4, 1),
                "valid_to": None,
                "note": "政令指定都市の行政区",
            }
    entries.get("431001", {}).update(
        {"valid_from": dt.date(2012, 4, 1), "note": "政令指定都市（平成24年4月1日から）"}
    )
    for r in _rows("mlit_gyosei_kuiki_code_kumamoto_pref.csv"):
        if r["コードの改定区分"] != "欠番" or not r["改正年月日"]:
            continue
        code = complete_lg_code(r["行政区域コード"])
        retired = parse_date(r["改正年月日"])
        entries.setdefault(code, {"code": code, "name": r["市区町村名（漢字）"], "valid_from": None})
        entries[code].update(
            {"valid_to": retired - dt.timedelta(days=1), "note": f"{r['改正事由等']}（{r['改正年月日']}）"}
        )
    return sorted(entries.values(), key=lambda e: e["code"])


def ward_entries() -> list[dict[str, Any]]:
    """熊本市's wards: 6-digit code → ward name without the city (中央区 …)."""
    return [
        {
            "code": r["lg_code6"],
            "name": r["name"].removeprefix("熊本市"),
            "valid_from": dt.date(2012, 4, 1),
            "valid_to": None,
            "note": "",
        }
        for r in _rows("kumamoto_city_lg_codes.csv")
        if r["kind"] == "行政区"
    ]


def age_group_entries() -> list[dict[str, Any]]:
    """年齢階級 (5歳階級): the age in years → 「0〜4歳」…「85歳以上」 (a code per age, so a recode maps ages)."""
    out = []
    for age in range(121):
        label = "85歳以上" if age >= 85 else f"{age // 5 * 5}〜{age // 5 * 5 + 4}歳"
        out.append({"code": str(age), "name": label, "valid_from": None, "valid_to": None, "note": ""})
    return out


def codelist_replace(
    *,
    actor: Actor,
    slug: str,
    title: str,
    entries: list[dict[str, Any]],
    description: str = "",
    source: str = "",
) -> CodeList:
    """Create or replace a code list (no access check: callers are the 管理 service and the loaders)."""
    codelist, _ = CodeList.objects.update_or_create(
        slug=slug, defaults={"title": title, "description": description, "source": source}
    )
    codelist.entries.all().delete()
    CodeEntry.objects.bulk_create(
        [
            CodeEntry(
                codelist=codelist,
                code=e["code"],
                name=e["name"],
                valid_from=e.get("valid_from"),
                valid_to=e.get("valid_to"),
                note=str(e.get("note") or "")[:300],
            )
            for e in entries
        ]
    )
    audit_record(actor=actor, action="prep.codelist.save", obj=codelist, changes={"entries": len(entries)})
    return codelist


@transaction.atomic
def load_shipped_codes(*, actor: Actor = SYSTEM) -> dict[str, int]:
    """Load (or refresh) the shipped code lists and item definitions; returns entries per list."""
    lg = codelist_replace(
        actor=actor,
        slug=LG_SLUG,
        title="全国地方公共団体コード（熊本県）",
        entries=lg_code_entries(),
        description="6桁の団体コード（検査数字つき）と団体名。熊本市の行政区と、合併などで使われなくなったコードを含みます。",
        source=SOURCE_SOUMU,
    )
    ward = codelist_replace(
        actor=actor,
        slug=WARD_SLUG,
        title="熊本市の区コード",
        entries=ward_entries(),
        description="熊本市の5つの区の全国地方公共団体コード（6桁）と区名。",
        source="全国地方公共団体コード（総務省）から計算（検査数字）",
    )
    age = codelist_replace(
        actor=actor,
        slug=AGE_SLUG,
        title="年齢階級（5歳階級）",
        entries=age_group_entries(),
        description="年齢（歳）を5歳ごとの階級に置き換えます。85歳以上はまとめます。",
    )
    items = [
        (
            "lg-code",
            "全国地方公共団体コード",
            "都道府県・市区町村を表す6桁のコード（5桁の団体コード＋検査数字）。",
            "string",
            "6桁の数字",
            "431001",
            lg,
        ),
        (
            "ward-code",
            "区コード",
            "熊本市の行政区を表す全国地方公共団体コード。",
            "string",
            "6桁の数字",
            "431010",
            ward,
        ),
        (
            "age-group",
            "年齢階級",
            "5歳ごとの年齢の区分（85歳以上はまとめる）。",
            "string",
            "「0〜4歳」の形",
            "65〜69歳",
            age,
        ),
        (
            "town-code",
            "町丁コード",
            "町・丁目を表すコード。先頭の0を含む文字として扱います。",
            "string",
            "先頭の0を含む数字",
            "0012",
            None,
        ),
        (
            "facility-id",
            "施設ID",
            "市の施設を表す番号。部署をまたいで同じ番号を使います。",
            "string",
            "",
            "",
            None,
        ),
        (
            "fiscal-year",
            "年度",
            "4月から翌年3月まで。西暦の年で表します（令和6年度 → 2024）。",
            "integer",
            "西暦4桁",
            "2024",
            None,
        ),
    ]
    for slug, title, desc, typ, fmt, example, codelist in items:
        ItemDefinition.objects.update_or_create(
            slug=slug,
            defaults={
                "title": title,
                "description": desc,
                "type": typ,
                "format": fmt,
                "example": example,
                "codelist": codelist,
            },
        )
    return {LG_SLUG: lg.entries.count(), WARD_SLUG: ward.entries.count(), AGE_SLUG: age.entries.count()}
