"""A deterministic generated catalog of Japanese municipal datasets for the search benchmarks.

Each entry comes from a template (a kind of municipal data: 町丁別人口, 救急出動件数, 保育所入所待機児童数 …)
× a scope (the whole city or one of the five wards) × a fiscal year, written with the orthographic
variants real catalogs contain (子ども/子供/こども, 申込/申し込み, ごみ/ゴミ/ｺﾞﾐ, 令和５年度/2023年度,
ＡＥＤ/AED). Every template carries *concepts* with a grade (3 = the entry is about it, 2 = closely
related, 1 = touches on it): the judged set (``bench/search_judgements.json``) grades an entry
for a query from these concepts, so the judgements do not depend on how any search system matches
strings. ``random.Random(SEED)`` makes the catalog identical on every run; :func:`catalog_sha256`
lets the judged set record which catalog it was judged on.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

SEED = 20261126

# (ward name, unit code of its 区民課, unit code of its 福祉課, 全国地方公共団体コード)
WARDS = [
    ("中央区", "81001000", "81002000", "431010"),
    ("東区", "82001000", "82002000", "431028"),
    ("西区", "83001000", "83002000", "431036"),
    ("南区", "84001000", "84002000", "431044"),
    ("北区", "85001000", "85002000", "431052"),
]
CITY_CODE = "431001"
YEARS = list(range(2015, 2025))  # fiscal years: 平成27年度 … 令和6年度

CLASSIFICATIONS = ["public", "public", "internal", "internal", "restricted", "confidential"]
LICENCES = {"public": ["cc-by-4.0", "pdl-1.0"], "other": ["internal-only"]}
FORMATS = ["csv", "xlsx", "pdf", "geojson", "system", "paper"]


@dataclass(frozen=True)
class Template:
    """One kind of municipal data and the ways it is written."""

    key: str
    titles: tuple[str, ...]  # orthographic variants of the name
    concepts: dict[str, int]
    category: str
    owner: str  # unit code; ward-level entries use the ward's own unit
    keywords: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    axes: tuple[str, ...] = ("年度別",)
    wards: bool = True  # also published per ward
    ward_unit: str = "kumin"  # which ward unit owns ward-level entries: kumin (区民課) or fukushi (福祉課)
    note: str = ""  # an extra description sentence (may mention other subjects: a hard negative)
    extra: dict[str, Any] = field(default_factory=dict)


T = Template
TEMPLATES: list[Template] = [
    # ---- 人口・世帯
    T("pop_town", ("町丁別人口", "町丁別人口集計表", "町丁目別人口"), {"population": 3, "population_town": 3, "household": 2},
      "population", "10101000", ("人口", "町丁別"), ("町丁名", "男", "女", "総数", "世帯数"), ("月別", "年度別"),
      note="住民基本台帳に基づく毎月1日現在の値です。"),
    T("pop_age", ("年齢別人口", "年齢階級別人口", "5歳階級別人口"), {"population": 3, "population_age": 3},
      "population", "10101000", ("人口", "年齢別"), ("年齢階級", "男", "女", "総数"), ("年度別",)),
    T("households", ("世帯数の推移", "世帯数", "世帯人員別世帯数"), {"household": 3, "population": 2},
      "population", "10101000", ("世帯",), ("区分", "世帯数", "世帯人員"), ("年度別", "月別")),
    T("births", ("出生数", "出生届出件数"), {"births": 3, "population": 1},
      "population", "10101000", ("出生", "人口動態"), ("月", "出生数", "男", "女")),
    T("moving", ("転入・転出者数", "引越し手続件数", "引っ越し手続き件数", "転居届出件数"), {"moving": 3, "population": 1},
      "population", "10101000", ("転入", "転出", "転居"), ("月", "転入者数", "転出者数", "転居者数"), ("月別", "年度別")),
    T("elderly", ("高齢者人口", "65歳以上人口", "高齢化率"), {"elderly": 3, "population": 2},
      "health-welfare", "30101000", ("高齢者", "高齢化率"), ("町丁名", "65歳以上人口", "高齢化率"), ward_unit="fukushi"),
    # ---- 防災・安全
    T("ambulance_dispatch", ("救急出動件数", "救急出場件数", "救急隊出動件数"), {"ambulance": 3, "ambulance_dispatch": 3},
      "safety", "70102000", ("救急", "出動件数"), ("月", "時間帯", "出動件数"), ("月別", "時間帯別"),
      note="人口1万人あたりの出動件数も掲載しています。"),
    T("ambulance_transport", ("救急搬送人員", "救急搬送者数", "救急搬送状況（傷病程度別）"), {"ambulance": 3, "ambulance_transport": 3},
      "safety", "70102000", ("救急", "搬送"), ("傷病程度", "年齢区分", "搬送人員"), ("年度別", "傷病程度別")),
    T("aed", ("AED設置場所一覧", "ＡＥＤ設置施設一覧", "自動体外式除細動器（AED）設置箇所"), {"aed": 3, "ambulance": 1},
      "safety", "70102000", ("AED", "救命"), ("施設名", "設置場所", "利用可能時間", "緯度", "経度"), ("施設別",)),
    T("fire", ("火災発生件数", "火災件数", "火災の状況"), {"fire": 3},
      "safety", "70101000", ("火災", "消防統計"), ("出火原因", "件数", "損害額"), ("年度別", "原因別")),
    T("hydrant", ("消火栓位置一覧", "消防水利（消火栓・防火水槽）"), {"firewater": 3, "fire": 1},
      "safety", "70101000", ("消火栓", "防火水槽"), ("種別", "所在地", "緯度", "経度"), ("施設別",)),
    T("evac_site", ("避難場所一覧", "指定緊急避難場所一覧", "緊急避難場所"), {"evacuation": 3, "disaster": 1},
      "safety", "10201000", ("避難場所", "防災"), ("名称", "所在地", "洪水", "土砂災害", "地震", "収容人数"), ("施設別",)),
    T("evac_shelter", ("避難所一覧", "指定避難所一覧", "避難所開設状況"), {"evacuation": 3, "disaster": 1},
      "safety", "10201000", ("避難所", "防災"), ("名称", "所在地", "収容人数", "開設日時"), ("施設別",)),
    T("drill", ("防災訓練参加者数", "自主防災組織活動状況"), {"disaster": 3},
      "safety", "10201000", ("防災", "訓練"), ("校区", "参加者数"), ("年度別",)),
    T("crime", ("犯罪発生件数", "刑法犯認知件数"), {"crime": 3},
      "safety", "10201000", ("防犯", "犯罪"), ("罪種", "件数"), ("年別",), wards=True),
    T("traffic_accident", ("交通事故発生件数", "交通事故件数（人身事故）"), {"traffic_accident": 3},
      "safety", "60101000", ("交通安全", "交通事故"), ("発生場所", "死者数", "負傷者数"), ("月別", "年別")),
    # ---- 子育て・教育
    T("nursery_waiting", ("保育所入所待機児童数", "保育園待機児童数", "保育所等利用待機児童数"), {"nursery": 3, "waiting": 3, "child": 2},
      "children-education", "31102000", ("保育", "待機児童"), ("年齢", "申込者数", "利用児童数", "待機児童数"), ("年度別",)),
    T("nursery_list", ("保育所一覧", "保育園一覧", "認可保育所一覧"), {"nursery": 3, "child": 2},
      "children-education", "31102000", ("保育所", "保育園"), ("施設名", "所在地", "定員", "対象年齢"), ("施設別",)),
    T("nursery_apply", ("保育所入所申込者数", "保育所入所申し込み状況", "保育園入園申込数"), {"nursery": 3, "nursery_apply": 3, "application": 3, "child": 2},
      "children-education", "31102000", ("保育", "入所申込"), ("年齢", "申込者数", "内定者数"), ("年度別", "月別")),
    T("kindergarten", ("幼稚園一覧", "認定こども園一覧"), {"kindergarten": 3, "child": 2, "nursery": 1},
      "children-education", "31102000", ("幼稚園", "認定こども園"), ("施設名", "所在地", "定員"), ("施設別",)),
    T("child_medical", ("子ども医療費助成件数", "子供医療費助成状況", "こども医療費助成実績"), {"child": 3, "child_medical": 3},
      "children-education", "31101000", ("子ども医療費", "助成"), ("年齢", "件数", "助成額"), ("年度別", "月別")),
    T("child_consult", ("子ども家庭相談件数", "子供の相談件数", "こども相談受付件数"), {"child": 3, "child_consult": 3, "consultation": 2},
      "children-education", "31101000", ("児童相談", "家庭相談"), ("相談種別", "件数"), ("年度別",)),
    T("kids_club", ("児童育成クラブ登録児童数", "放課後児童クラブ利用者数"), {"child": 3, "kids_club": 3},
      "children-education", "31101000", ("放課後児童クラブ",), ("クラブ名", "登録児童数"), ("年度別",)),
    T("school_pupils", ("学校別児童生徒数", "児童生徒数", "小中学校児童生徒数"), {"school": 3, "child": 1},
      "children-education", "95101000", ("学校", "児童生徒数"), ("学校名", "学年", "児童数", "生徒数"), ("学校別",)),
    T("library", ("図書館貸出冊数", "図書貸出数"), {"library": 3},
      "children-education", "95101000", ("図書館",), ("館名", "貸出冊数", "利用者数"), ("月別",)),
    # ---- 環境
    T("waste_collect", ("ごみ収集量", "ゴミ収集量", "家庭ごみ収集量", "ｺﾞﾐ収集量"), {"waste": 3},
      "environment", "40102000", ("ごみ", "収集量"), ("品目", "収集量（t）"), ("月別", "品目別")),
    T("waste_process", ("廃棄物処理量", "一般廃棄物処理実績", "産業廃棄物処理状況"), {"waste": 3},
      "environment", "40102000", ("廃棄物",), ("区分", "処理量（t）"), ("年度別",), wards=False),
    T("recycle", ("資源物回収量", "リサイクル率"), {"recycling": 3, "waste": 2},
      "environment", "40102000", ("資源物", "リサイクル"), ("品目", "回収量（t）"), ("月別",)),
    T("illegal_dump", ("不法投棄件数",), {"waste": 2, "illegal_dump": 3},
      "environment", "40102000", ("不法投棄",), ("発生場所", "件数"), ("年度別",)),
    T("ghg", ("温室効果ガス排出量", "CO2排出量（部門別）"), {"ghg": 3},
      "environment", "40101000", ("温室効果ガス", "脱炭素"), ("部門", "排出量（t-CO2）"), ("年度別",), wards=False,
      note="部門には産業、業務、家庭、運輸、廃棄物を含みます。"),
    T("air", ("大気汚染測定結果", "大気環境測定値"), {"air": 3},
      "environment", "40101000", ("大気", "PM2.5"), ("測定局", "PM2.5", "光化学オキシダント"), ("月別",), wards=False),
    # ---- 健康・福祉
    T("care_cert", ("要介護認定者数", "要介護（要支援）認定者数"), {"care": 3, "elderly": 1},
      "health-welfare", "30102000", ("介護保険", "要介護認定"), ("要介護度", "認定者数"), ("年度別", "月別"), ward_unit="fukushi"),
    T("care_facility", ("介護施設一覧", "介護サービス事業所一覧"), {"care": 3},
      "health-welfare", "30102000", ("介護", "事業所"), ("事業所名", "サービス種類", "所在地", "定員"), ("施設別",)),
    T("checkup", ("特定健診受診率", "特定健康診査受診率"), {"checkup": 3},
      "health-welfare", "30201000", ("特定健診", "国民健康保険"), ("年齢階級", "対象者数", "受診者数", "受診率"), ("年度別",)),
    T("cancer", ("がん検診受診者数", "癌検診受診者数", "がん検診受診率"), {"cancer": 3, "checkup": 1},
      "health-welfare", "30201000", ("がん検診",), ("検診種別", "受診者数"), ("年度別",)),
    T("vaccine", ("予防接種実施状況", "予防接種者数"), {"vaccine": 3},
      "health-welfare", "30201000", ("予防接種",), ("ワクチン種別", "接種者数"), ("月別",)),
    T("hospital", ("病院一覧", "医療機関一覧", "救急告示病院一覧"), {"hospital": 3, "medical": 3},
      "health-welfare", "30202000", ("病院", "医療機関"), ("医療機関名", "所在地", "診療科", "病床数"), ("施設別",)),
    T("pharmacy", ("薬局一覧", "調剤薬局一覧"), {"pharmacy": 3, "medical": 2},
      "health-welfare", "30202000", ("薬局",), ("薬局名", "所在地", "電話番号"), ("施設別",)),
    T("welfare_assist", ("生活保護受給世帯数", "生活保護の状況"), {"welfare_assist": 3},
      "health-welfare", "30101000", ("生活保護",), ("世帯類型", "世帯数", "人員"), ("月別",), ward_unit="fukushi"),
    # ---- 観光・産業・交通・都市
    T("tourism", ("観光客数", "観光入込客数", "主要観光地入込客数"), {"tourism": 3},
      "tourism-industry", "50201000", ("観光",), ("観光地", "入込客数"), ("月別",), wards=False),
    T("hotel", ("宿泊者数", "ホテル・旅館宿泊者数"), {"tourism": 2, "hotel": 3},
      "tourism-industry", "50201000", ("宿泊",), ("月", "宿泊者数", "外国人宿泊者数"), ("月別",), wards=False),
    T("footfall", ("人流データ", "滞在人口（人流）"), {"footfall": 3, "population": 1},
      "tourism-industry", "50101000", ("人流", "滞在人口"), ("エリア", "時間帯", "滞在人口"), ("時間帯別",)),
    T("tram", ("市電乗降客数", "市電利用者数", "電停別乗降客数"), {"tram": 3, "transport": 2},
      "urban-transport", "90001000", ("市電", "公共交通"), ("電停名", "乗車人員", "降車人員"), ("月別",), wards=False),
    T("bus", ("バス利用者数", "市営バス乗車人員"), {"bus": 3, "transport": 2},
      "urban-transport", "90001000", ("バス", "公共交通"), ("路線", "乗車人員"), ("月別",), wards=False),
    T("bicycle", ("放置自転車撤去台数", "駐輪場利用状況"), {"bicycle": 3},
      "urban-transport", "60101000", ("自転車",), ("駐輪場名", "台数"), ("月別",)),
    T("zoning", ("用途地域", "都市計画用途地域図"), {"zoning": 3},
      "geospatial", "60101000", ("都市計画", "用途地域", "GIS"), ("用途地域", "建ぺい率", "容積率"), ("区域別",), wards=False),
    T("park", ("公園一覧", "都市公園一覧"), {"park": 3, "facility": 1},
      "urban-transport", "60101000", ("公園",), ("公園名", "所在地", "面積"), ("施設別",)),
    T("facility", ("公共施設一覧", "市有施設一覧"), {"facility": 3},
      "urban-transport", "21102000", ("公共施設",), ("施設名", "所在地", "延床面積"), ("施設別",)),
    T("water", ("水道使用量", "上水道給水量", "配水量"), {"water": 3},
      "urban-transport", "91201000", ("水道",), ("月", "給水量（m3）"), ("月別",), wards=False),
    T("pipes", ("水道管路延長", "配水管布設状況"), {"water": 3},
      "geospatial", "91201000", ("水道", "管路"), ("管種", "口径", "延長（m）"), ("年度別",), wards=False),
    T("wifi", ("公衆無線LAN（Wi-Fi）アクセスポイント一覧", "ＷｉＦｉ設置場所一覧", "フリーWiFiスポット"), {"wifi": 3},
      "urban-transport", "10101000", ("Wi-Fi", "公衆無線LAN"), ("設置場所", "SSID", "緯度", "経度"), ("施設別",)),
    # ---- 行財政
    T("budget", ("当初予算額", "歳出予算（款別）", "予算・決算の状況"), {"budget": 3},
      "administration", "21101000", ("予算", "財政"), ("款", "予算額", "決算額"), ("年度別",), wards=False),
    T("tax", ("市税収入額", "市民税課税状況"), {"tax": 3},
      "administration", "21101000", ("市税",), ("税目", "調定額", "収入額"), ("年度別",), wards=False),
    T("staff", ("職員数", "部局別職員数", "職種別職員数"), {"staff": 3},
      "administration", "20101000", ("職員数", "定員管理"), ("部局", "職種", "職員数"), ("年度別",), wards=False),
    T("counter", ("窓口来庁者数", "窓口待ち時間"), {"counter": 3},
      "administration", "81001000", ("窓口", "来庁者"), ("窓口", "時間帯", "来庁者数", "平均待ち時間"), ("時間帯別", "月別")),
    T("certificate", ("証明書発行件数", "住民票の写し交付件数"), {"certificate": 3},
      "administration", "81001000", ("証明書", "住民票"), ("証明書種別", "発行件数"), ("月別",)),
    T("mynumber", ("マイナンバーカード交付率", "ﾏｲﾅﾝﾊﾞｰｶｰﾄﾞ交付枚数", "マイナンバーカード申請件数"), {"mynumber": 3},
      "administration", "81001000", ("マイナンバーカード",), ("月", "交付枚数", "交付率"), ("月別",)),
    T("eapply", ("電子申請利用件数", "オンライン申込件数", "電子申し込み受付件数"), {"application": 3, "eapply": 3},
      "administration", "10102000", ("電子申請", "行政手続オンライン化"), ("手続名", "申請件数"), ("月別",), wards=False),
    T("consult", ("市民相談件数", "市民相談受付状況"), {"consultation": 3},
      "administration", "10101000", ("市民相談",), ("相談分野", "件数"), ("月別",)),
    T("opendata", ("オープンデータ公開件数", "オープンデータ一覧"), {"opendata": 3},
      "administration", "10102000", ("オープンデータ",), ("データ名", "所管課", "公開日"), ("年度別",), wards=False),
]  # fmt: skip

WARD_NAMES = [w[0] for w in WARDS]


def _year_label(year: int, style: int) -> str:
    """How a fiscal year is written in a title: 令和5年度, 2023年度, 令和５年度 (full-width), 平成30年度."""
    if year < 2019:
        era, n = "平成", year - 1988
    else:
        era, n = "令和", year - 2018
    num = "元" if n == 1 else str(n)
    full = "元" if n == 1 else "".join(chr(0xFF10 + int(d)) for d in str(n))
    return [f"{era}{num}年度", f"{year}年度", f"{era}{full}年度", f"{era}{num}年度"][style]


def generate(seed: int = SEED) -> list[dict[str, Any]]:
    """Return the generated catalog entries (plain dicts, the same on every call with the same seed)."""
    rng = random.Random(seed)
    entries: list[dict[str, Any]] = []
    base = datetime(2015, 4, 1, tzinfo=UTC)
    n = 0
    for t in TEMPLATES:
        scopes: list[tuple[str | None, str, str]] = [(None, t.owner, CITY_CODE)]
        if t.wards:
            for name, kumin, fukushi, code in WARDS:
                scopes.append((name, fukushi if t.ward_unit == "fukushi" else kumin, code))
        for ward, owner, lg_code in scopes:
            for year in YEARS:
                for axis in t.axes:
                    # Not every department publishes every year for every ward: keep about two thirds.
                    if ward and rng.random() < 0.35:
                        continue
                    n += 1
                    name = rng.choice(t.titles)
                    year_label = _year_label(year, rng.randrange(4))
                    prefix = f"{ward} " if ward else rng.choice(["", "", "熊本市 "])
                    title = f"{prefix}{name}（{axis}・{year_label}）"
                    scope_text = ward or "市全体"
                    description = f"{scope_text}の{name}を{axis}に集計したもの（{year_label}）。"
                    if t.note:
                        description += t.note
                    classification = rng.choice(CLASSIFICATIONS)
                    licence = rng.choice(LICENCES["public" if classification == "public" else "other"])
                    formats = sorted(set(rng.sample(FORMATS[:3], k=rng.randint(1, 2))))
                    updated = base + timedelta(
                        days=(year - 2015) * 365 + rng.randrange(400), minutes=rng.randrange(1440)
                    )
                    entries.append(
                        {
                            "identifier": f"gen-{n:06d}",
                            "title": title,
                            "description": description,
                            "keywords": list(t.keywords),
                            "owner": owner,
                            "category": t.category,
                            "classification": classification,
                            "licence": licence,
                            "formats": formats,
                            "columns": list(t.columns),
                            "spatial": f"熊本市{ward}" if ward else "熊本市",
                            "lg_code": lg_code,
                            "location": "machidata",
                            "location_detail": "",
                            "updated_at": updated.isoformat(),
                            # Judging metadata (never indexed): what the entry is about.
                            "_template": t.key,
                            "_concepts": dict(t.concepts),
                            "_ward": ward,
                            "_year": year,
                        }
                    )
    return entries


def searchable(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry without its judging metadata (what a search system may see)."""
    return {k: v for k, v in entry.items() if not k.startswith("_")}


def catalog_sha256(entries: list[dict[str, Any]]) -> str:
    """A fingerprint of the generated catalog, recorded in the judged set."""
    blob = json.dumps(entries, ensure_ascii=False, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()


# ---- the judged set ---------------------------------------------------------------------------------
# The demo entries' concepts, judged by hand from their titles, descriptions and keywords
# (machidata/demo/content.py). Grades as for the templates: 3 about it, 2 closely related, 1 touches on it.
DEMO_CONCEPTS: dict[str, dict[str, int]] = {
    "431001-00001": {"hospital": 3, "medical": 3},
    "431001-00002": {"restaurant": 3, "food_permit": 3},
    "431001-00003": {"restaurant": 3, "food_permit": 3},
    "431001-00004": {"pharmacy": 3, "medical": 2},
    "431001-00005": {"tourism": 3, "facility": 1},
    "431001-00006": {"facility": 3},
    "431001-00007": {"population": 3, "population_town": 3, "population_age": 3, "household": 2},
    "431001-00008": {"evacuation": 3, "disaster": 2},
    "431001-00009": {"survey": 3, "datause": 3, "staff": 2},
    "431001-00010": {"survey": 3, "datause": 2, "staff": 2},
    "431001-00011": {"kpi": 3, "datause": 2},
    "431001-00012": {"aed": 3, "ambulance": 2},
    "431001-00013": {"evacuation": 3, "disaster": 2},
    "431001-00014": {"facility": 3},
    "431001-00015": {"nursery": 3, "kindergarten": 3, "child": 2},
    "431001-00016": {"firewater": 3, "fire": 2},
    "431001-00017": {"care": 3},
    "431001-00018": {"population": 3, "population_town": 3, "population_age": 3, "household": 2},
    "431001-00019": {"opendata": 3},
    "431001-00020": {"ambulance": 3, "ambulance_dispatch": 2},
    "431001-00021": {"ambulance": 3, "ambulance_dispatch": 3},
    "431001-00022": {"fire": 3},
    "431001-00023": {"checkup": 3},
    "431001-00024": {"checkup": 2, "dental": 3, "child": 2},
    "431001-00025": {"care": 3, "elderly": 1},
    "431001-00026": {"elderly": 3},
    "431001-00027": {"nursery": 3, "waiting": 3, "child": 2, "application": 1},
    "431001-00028": {"child": 2, "allowance": 3},
    "431001-00029": {"waste": 3},
    "431001-00030": {"ghg": 3, "waste": 1},
    "431001-00031": {"footfall": 3, "population": 1},
    "431001-00032": {"tourism": 3},
    "431001-00033": {"zoning": 3},
    "431001-00034": {"tram": 3, "transport": 2},
    "431001-00035": {"water": 3},
    "431001-00036": {"budget": 3},
    "431001-00037": {"staff": 3},
    "431001-00038": {"school": 3, "child": 1},
    "431001-00039": {"counter": 3},
    "431001-00040": {"welfare_assist": 3},
    "431001-00041": {"school": 2, "academic": 3},
}
DEMO_WARD = {"431001-00039": "中央区", "431001-00040": "東区"}

_POP = {"population": 3, "household": 2, "elderly": 2, "births": 1, "moving": 1, "footfall": 1}
_CHILD = {"child": 3, "nursery": 2, "kindergarten": 2, "allowance": 2, "school": 1, "dental": 1}
_WASTE = {"waste": 3, "recycling": 2}
_EVAC = {"evacuation": 3, "disaster": 1}
_AED = {"aed": 3, "ambulance": 1}

# (query as staff type it, kind, concept grades, constraints). Constraints: ward (the entry must be about
# that ward), year (that fiscal year; entries without a year get at most 1), ids (explicit grades),
# title_contains (a plain string rule, used only for the one-character query 市).
QUERIES: list[tuple[str, str, dict[str, int], dict[str, Any]]] = [
    ("人口", "short", _POP, {}),
    ("じんこう", "kana", _POP, {}),
    ("ジンコウ", "kana", _POP, {}),
    ("救急", "short", {"ambulance": 3, "aed": 1}, {}),
    ("きゅうきゅう", "kana", {"ambulance": 3, "aed": 1}, {}),
    ("保育", "short", {"nursery": 3, "kindergarten": 2, "waiting": 3}, {}),
    ("ほいく", "kana", {"nursery": 3, "kindergarten": 2, "waiting": 3}, {}),
    ("市", "one-char", {}, {"title_contains": "市"}),
    ("子ども", "variant", _CHILD, {}),
    ("子供", "variant", _CHILD, {}),
    ("こども", "variant", _CHILD, {}),
    ("申込", "variant", {"application": 3, "nursery_apply": 3}, {}),
    ("申し込み", "variant", {"application": 3, "nursery_apply": 3}, {}),
    ("引越し", "variant", {"moving": 3}, {}),
    ("引っ越し", "variant", {"moving": 3}, {}),
    ("ＡＥＤ", "width", _AED, {}),
    ("aed", "width", _AED, {}),
    ("自動体外式除細動器", "synonym", _AED, {}),
    ("避難所", "synonym", _EVAC, {}),
    ("避難場所", "synonym", _EVAC, {}),
    ("ひなんじょ", "kana", _EVAC, {}),
    ("ごみ", "synonym", _WASTE, {}),
    ("ゴミ", "variant", _WASTE, {}),
    ("廃棄物", "synonym", _WASTE, {}),
    ("ｺﾞﾐ", "width", _WASTE, {}),
    ("保育園", "synonym", {"nursery": 3, "kindergarten": 1, "waiting": 3}, {}),
    ("保育所", "synonym", {"nursery": 3, "kindergarten": 1, "waiting": 3}, {}),
    ("待機児童", "short", {"waiting": 3}, {}),
    ("救急出動件数", "compound", {"ambulance_dispatch": 3, "ambulance": 1}, {}),
    ("町丁別人口", "compound", {"population_town": 3, "population": 1}, {}),
    ("431001-00012", "code", {}, {"ids": {"431001-00012": 3}}),
    ("431028", "code", {}, {"ward": "東区", "any": 2}),
    ("病院", "short", {"hospital": 3, "medical": 2}, {}),
    ("びょういん", "kana", {"hospital": 3, "medical": 2}, {}),
    ("薬局", "short", {"pharmacy": 3}, {}),
    ("介護", "short", {"care": 3}, {}),
    ("かいご", "kana", {"care": 3}, {}),
    ("観光", "short", {"tourism": 3, "hotel": 1}, {}),
    ("市電", "short", {"tram": 3, "transport": 1}, {}),
    ("予算", "short", {"budget": 3}, {}),
    ("職員", "short", {"staff": 3}, {}),
    ("アンケート", "short", {"survey": 3}, {}),
    ("KPI", "ascii", {"kpi": 3}, {}),
    ("ｋｐｉ", "width", {"kpi": 3}, {}),
    ("火災", "short", {"fire": 3, "firewater": 1}, {}),
    ("消火栓", "short", {"firewater": 3}, {}),
    ("温室効果ガス", "compound", {"ghg": 3}, {}),
    ("CO2", "synonym", {"ghg": 3}, {}),
    ("がん検診", "variant", {"cancer": 3}, {}),
    ("癌検診", "variant", {"cancer": 3}, {}),
    ("マイナンバーカード", "compound", {"mynumber": 3}, {}),
    ("まいなんばー", "kana", {"mynumber": 3}, {}),
    ("ﾏｲﾅﾝﾊﾞｰ", "width", {"mynumber": 3}, {}),
    ("Wi-Fi", "ascii", {"wifi": 3}, {}),
    ("wifi", "ascii", {"wifi": 3}, {}),
    ("オープンデータ", "short", {"opendata": 3}, {}),
    ("中央区 人口", "multi", _POP, {"ward": "中央区"}),
    ("救急 令和5年度", "multi", {"ambulance": 3, "aed": 1}, {"year": 2023}),
    ("ごみ 2022", "multi", _WASTE, {"year": 2022}),
    ("子ども 医療費", "multi", {"child_medical": 3}, {}),
    ("保育所 申込", "multi", {"nursery_apply": 3, "waiting": 1, "application": 1}, {}),
    ("人流", "short", {"footfall": 3}, {}),
    ("用途地域", "short", {"zoning": 3}, {}),
    ("学校", "short", {"school": 3, "academic": 3}, {}),
    ("ちょうちょうべつ", "kana", {"population_town": 3}, {}),
    ("避難", "short", _EVAC, {}),
    ("健診", "short", {"checkup": 3, "dental": 2, "cancer": 1}, {}),
    ("飲食店", "short", {"restaurant": 3, "food_permit": 2}, {}),
    ("生活保護", "short", {"welfare_assist": 3}, {}),
    ("水道", "short", {"water": 3}, {}),
    ("データ活用", "compound", {"datause": 3}, {}),
    ("交通事故", "short", {"traffic_accident": 3}, {}),
    ("高齢者", "short", {"elderly": 3, "care": 1}, {}),
    ("人口\u3000世帯", "multi", {"household": 3, "population": 1}, {}),
]


def _grade(
    concepts: dict[str, int],
    q: dict[str, int],
    cons: dict[str, Any],
    *,
    ident: str,
    title: str,
    ward: str | None,
    year: int | None,
) -> int:
    """The grade of one entry for one query, from concepts and constraints (never from a search system)."""
    if "ids" in cons:
        return int(cons["ids"].get(ident, 0))
    if "title_contains" in cons:
        return 1 if cons["title_contains"] in title else 0
    if "ward" in cons and ward != cons["ward"]:
        return 0
    g = int(cons.get("any", 0))
    for c, w in q.items():
        if c in concepts:
            g = max(g, min(w, concepts[c]))
    if "year" in cons and g:
        g = min(g, 1) if year is None else (g if year == cons["year"] else 0)
    return g


def build_judgements() -> dict[str, Any]:
    """Grade every demo and generated entry for every query of :data:`QUERIES`."""
    from machidata.demo.content import DATASETS

    gen = generate()
    out: list[dict[str, Any]] = []
    for i, (text, kind, q, cons) in enumerate(QUERIES, 1):
        judged: dict[str, int] = {}
        for d in DATASETS:
            ident = d["identifier"]
            g = _grade(
                DEMO_CONCEPTS[ident],
                q,
                cons,
                ident=ident,
                title=d["title"],
                ward=DEMO_WARD.get(ident),
                year=None,
            )
            if g:
                judged[ident] = g
        for e in gen:
            g = _grade(
                e["_concepts"],
                q,
                cons,
                ident=e["identifier"],
                title=e["title"],
                ward=e["_ward"],
                year=e["_year"],
            )
            if g:
                judged[e["identifier"]] = g
        out.append({"id": f"q{i:03d}", "query": text, "kind": kind, "judgements": judged})
    return {
        "description": "Judged queries for bench/search_quality.py (issue 4). Grades 0-3 per identifier; absent = 0.",
        "frozen_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "generated_catalog": {"seed": SEED, "entries": len(gen), "sha256": catalog_sha256(gen)},
        "corrections": [],
        "queries": out,
    }


def write_judgements(path: str, *, force: bool = False) -> None:
    """Write the judged set once; it is frozen afterwards (corrections go into its ``corrections`` list)."""
    import os

    if os.path.exists(path) and not force:
        raise SystemExit(f"{path} exists and is frozen; record corrections in it instead of regenerating")
    data = build_judgements()
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1, sort_keys=False)
        f.write("\n")


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--write-judgements"]:
        write_judgements("bench/search_judgements.json")
    cat = generate()
    print(len(cat), catalog_sha256(cat))
