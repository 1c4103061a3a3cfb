"""The demo content as plain data: Kumamoto City's organisation, vocabularies, catalog entries, accounts.

What is real and what is not:

* The organisation is modelled on Kumamoto City's published structure (局・区役所・行政委員会・公営企業
  → 部 → 課 → 係); the unit codes, mailboxes and phone numbers are made up for the demo.
* Entries with a ``real_file`` describe the real files in ``shared/data/real/`` with the source,
  licence and attribution that ``SOURCE.md`` gives for them.
* The staff-survey and KPI entries quote 熊本市「データに基づく事業立案等推進戦略（案）」.
* Everything else is invented: ``is_synthetic=True`` and 「デモ用の合成データ」 in its description.
"""

from __future__ import annotations

from typing import Any, Final

SYNTHETIC_NOTE: Final = "デモ用の合成データです。"
LG_CODE: Final = "431001"

# ---- organisation ----------------------------------------------------------------------------------
# (code, name, kind, parent code). Codes: 2 digits per level (局 / 部 / 課 / 係), so they sort as a tree.
UNITS: Final[list[tuple[str, str, str, str | None]]] = [
    # 政策局
    ("10000000", "政策局", "bureau", None),
    ("10100000", "総合政策部", "department", "10000000"),
    ("10101000", "政策企画課", "division", "10100000"),
    # The strategy: 「令和5年4月 データ戦略課設置 — 政策局総合政策部内にデータ戦略課を新設」.
    ("10102000", "データ戦略課", "division", "10100000"),
    ("10102001", "データ活用推進係", "section", "10102000"),
    ("10102002", "データ基盤係", "section", "10102000"),
    ("10200000", "危機管理防災総室", "department", "10000000"),
    ("10201000", "危機管理課", "division", "10200000"),
    # 総務局・財政局
    ("20000000", "総務局", "bureau", None),
    ("20100000", "行政管理部", "department", "20000000"),
    ("20101000", "人事課", "division", "20100000"),
    ("21000000", "財政局", "bureau", None),
    ("21100000", "財務部", "department", "21000000"),
    ("21101000", "財政課", "division", "21100000"),
    ("21102000", "資産マネジメント課", "division", "21100000"),
    # 健康福祉局
    ("30000000", "健康福祉局", "bureau", None),
    ("30100000", "福祉部", "department", "30000000"),
    ("30101000", "高齢福祉課", "division", "30100000"),
    ("30102000", "介護保険課", "division", "30100000"),
    ("30200000", "保健衛生部", "department", "30000000"),
    ("30201000", "健康づくり推進課", "division", "30200000"),
    ("30201001", "健康づくり係", "section", "30201000"),
    ("30201002", "母子保健係", "section", "30201000"),
    ("30202000", "医療政策課", "division", "30200000"),
    ("30203000", "食品保健課", "division", "30200000"),
    # こども局
    ("31000000", "こども局", "bureau", None),
    ("31100000", "子ども未来部", "department", "31000000"),
    ("31101000", "子ども政策課", "division", "31100000"),
    ("31102000", "保育幼稚園課", "division", "31100000"),
    # 環境局
    ("40000000", "環境局", "bureau", None),
    ("40100000", "環境推進部", "department", "40000000"),
    ("40101000", "環境政策課", "division", "40100000"),
    ("40102000", "廃棄物計画課", "division", "40100000"),
    # 経済観光局
    ("50000000", "経済観光局", "bureau", None),
    ("50100000", "産業部", "department", "50000000"),
    ("50101000", "経済政策課", "division", "50100000"),
    ("50200000", "観光交流部", "department", "50000000"),
    ("50201000", "観光政策課", "division", "50200000"),
    # 都市建設局
    ("60000000", "都市建設局", "bureau", None),
    ("60100000", "都市政策部", "department", "60000000"),
    ("60101000", "都市政策課", "division", "60100000"),
    # 消防局
    ("70000000", "消防局", "bureau", None),
    ("70100000", "警防部", "department", "70000000"),
    ("70101000", "警防課", "division", "70100000"),
    ("70102000", "救急課", "division", "70100000"),
    # 区役所 (each with 区民課 and 福祉課)
    ("81000000", "中央区役所", "ward_office", None),
    ("81001000", "中央区 区民課", "division", "81000000"),
    ("81002000", "中央区 福祉課", "division", "81000000"),
    ("82000000", "東区役所", "ward_office", None),
    ("82001000", "東区 区民課", "division", "82000000"),
    ("82002000", "東区 福祉課", "division", "82000000"),
    ("83000000", "西区役所", "ward_office", None),
    ("83001000", "西区 区民課", "division", "83000000"),
    ("83002000", "西区 福祉課", "division", "83000000"),
    ("84000000", "南区役所", "ward_office", None),
    ("84001000", "南区 区民課", "division", "84000000"),
    ("84002000", "南区 福祉課", "division", "84000000"),
    ("85000000", "北区役所", "ward_office", None),
    ("85001000", "北区 区民課", "division", "85000000"),
    ("85002000", "北区 福祉課", "division", "85000000"),
    # 公営企業
    ("90000000", "交通局", "enterprise", None),
    ("90001000", "交通局 総務課", "division", "90000000"),
    ("91000000", "上下水道局", "enterprise", None),
    ("91200000", "計画整備部", "department", "91000000"),
    ("91201000", "水道整備課", "division", "91200000"),
    # 行政委員会
    ("95000000", "教育委員会", "commission", None),
    ("95100000", "教育総務部", "department", "95000000"),
    ("95101000", "教育政策課", "division", "95100000"),
    ("95200000", "学校教育部", "department", "95000000"),
    ("95201000", "指導課", "division", "95200000"),
]

# ---- vocabularies -----------------------------------------------------------------------------------
CATEGORIES: Final[list[tuple[str, str]]] = [
    ("population", "人口・世帯"),
    ("health-welfare", "健康・福祉"),
    ("children-education", "子育て・教育"),
    ("safety", "防災・安全"),
    ("environment", "環境"),
    ("tourism-industry", "観光・産業"),
    ("urban-transport", "都市計画・交通"),
    ("administration", "行財政"),
    ("geospatial", "地理空間"),
]

# (code, name, url, is_open)
LICENCES: Final[list[tuple[str, str, str, bool]]] = [
    ("cc-by-4.0", "クリエイティブ・コモンズ 表示 4.0 国際（CC BY 4.0）", "https://creativecommons.org/licenses/by/4.0/deed.ja", True),
    ("pdl-1.0", "公共データ利用規約（第1.0版）（PDL1.0）", "https://www.digital.go.jp/resources/open_data/public_data_license_v1.0", True),
    ("internal-only", "庁内利用のみ", "", False),
    # SOURCE.md says the licence of two reference files was not verified; say so instead of guessing.
    ("unverified", "ライセンス未確認（利用前に要確認）", "", False),
]  # fmt: skip

FORMATS: Final[list[tuple[str, str]]] = [
    ("csv", "CSV"),
    ("xlsx", "Excel"),
    ("pdf", "PDF"),
    ("geojson", "GeoJSON"),
    ("paper", "紙"),
    ("system", "業務システム"),
]

# ---- accounts (demo only: these passwords are published in the README and printed by `machidata demo`)
# (username, display name, unit code, role, is_staff, password)
ACCOUNTS: Final[list[tuple[str, str, str, str, bool, str]]] = [
    ("admin", "データ戦略課 管理者", "10102000", "admin", True, "demo-admin-2024"),
    ("steward", "健康づくり推進課 データ所有者", "30201000", "editor", False, "demo-steward-2024"),
    ("steward2", "保育幼稚園課 データ所有者", "31102000", "editor", False, "demo-steward2-2024"),
    ("staff", "警防課 職員", "70101000", "viewer", False, "demo-staff-2024"),
    # Data owners of the 課 whose real files are openly licensed (they file the 公開申請 of those files).
    ("seisaku", "政策企画課 データ所有者", "10101000", "editor", False, "demo-seisaku-2024"),
    ("kikikanri", "危機管理課 データ所有者", "10201000", "editor", False, "demo-kikikanri-2024"),
    ("iryo", "医療政策課 データ所有者", "30202000", "editor", False, "demo-iryo-2024"),
    ("shokuhin", "食品保健課 データ所有者", "30203000", "editor", False, "demo-shokuhin-2024"),
]

# ---- catalog entries ---------------------------------------------------------------------------------
_KUMAMOTO_REPO = "codeforkumamoto/od_kumamoto_city"
_KUMAMOTO_ATTRIBUTION = "熊本市オープンデータ（熊本市, CC BY 4.0）— via codeforkumamoto/od_kumamoto_city"
_KUMAMOTO_NOTE = (
    "出典：熊本市オープンデータ（CC BY 4.0）。著作者: 熊本市。"
    "リポジトリ README の記載「このデータセットは CC BY 4.0 国際 で提供されています。熊本市のオープンデータを改変・再配布」。"
    "免責: https://odcs.bodik.jp/431001/tos/"
)
_PERSON_NAMES_NOTE = "申請者・代表者の氏名（個人名）が市の公表どおり含まれます。画面写しやデモでの表示は必要な範囲に留めてください。"


def _real(
    *,
    number: int,
    slug: str,
    title: str,
    real_file: str,
    owner: str,
    category: str,
    description: str,
    source: str,
    source_detail: str,
    licence: str,
    formats: list[str],
    keywords: list[str],
    spatial: str,
    lg_code: str,
    frequency: str = "irregular",
) -> dict[str, Any]:
    return {
        "identifier": f"{LG_CODE}-{number:05d}",
        "slug": slug,
        "title": title,
        "description": description,
        "owner": owner,
        "category": category,
        "classification": "public",
        "personal_data": "none",
        "discoverable": False,
        "location": "machidata",
        "location_detail": real_file,
        "frequency": frequency,
        "source": source,
        "source_detail": source_detail,
        "licence": licence,
        "formats": formats,
        "keywords": keywords,
        "spatial": spatial,
        "lg_code": lg_code,
        "is_synthetic": False,
        "real_file": real_file,
    }


def _synthetic(*, number: int, slug: str, title: str, description: str, **fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "identifier": f"{LG_CODE}-{number:05d}",
        "slug": slug,
        "title": title,
        "description": f"{description}\n\n{SYNTHETIC_NOTE}（中身・件数は架空です）",
        "discoverable": False,
        "personal_data": "none",
        "location": "machidata",
        "location_detail": "",
        "frequency": "yearly",
        "source": "city",
        "source_detail": "",
        "keywords": [],
        "spatial": "熊本市",
        "lg_code": LG_CODE,
        "is_synthetic": True,
        "real_file": "",
    }
    entry.update(fields)
    return entry


DATASETS: Final[list[dict[str, Any]]] = [
    # ---- the real files (their contents are ingested by services.load_demo_data) ----
    _real(
        number=1,
        slug="kumamoto-hospitals",
        title="病院一覧（令和6年2月1日現在）",
        real_file="431001_kumamoto_byouin_list.xlsx",
        owner="30202000",
        category="health-welfare",
        description=(
            "熊本市内の病院90施設の一覧（名称、所在地、開設年月日、診療科ごとの有無など118項目）。"
            "推奨データセット「医療機関一覧」に相当します。\n\n"
            f"{_KUMAMOTO_NOTE}\n\n"
            f"取得元: {_KUMAMOTO_REPO} data/byouin_list/org/byouin_list.xlsx @ eb199050529bd75b2f46205804dbacd0914cad2d"
        ),
        source="city",
        source_detail=_KUMAMOTO_ATTRIBUTION,
        licence="cc-by-4.0",
        formats=["xlsx"],
        keywords=["病院", "医療機関", "診療科", "推奨データセット"],
        spatial="熊本市",
        lg_code=LG_CODE,
        frequency="yearly",
    ),
    _real(
        number=2,
        slug="kumamoto-new-restaurant-permits-fy2024",
        title="新規飲食店営業許可（令和6年度）",
        real_file="431001_kumamoto_shinki_inshokuten_eigyo_kyoka.xlsx",
        owner="30203000",
        category="health-welfare",
        description=(
            "令和6年度に新たに許可した飲食店営業の一覧。月ごとに1シート（4月〜2月の11シート）。\n\n"
            f"{_PERSON_NAMES_NOTE}\n\n{_KUMAMOTO_NOTE}\n\n"
            f"取得元: {_KUMAMOTO_REPO} data/Insyokutenneigyoukyoka/org/ShinnkiInsyokutenneigyoukyoka.xlsx"
            " @ 047ab30f36ccb3ccbece36e181c2fafe40542248"
        ),
        source="city",
        source_detail=_KUMAMOTO_ATTRIBUTION,
        licence="cc-by-4.0",
        formats=["xlsx"],
        keywords=["食品衛生", "営業許可", "飲食店"],
        spatial="熊本市",
        lg_code=LG_CODE,
        frequency="monthly",
    ),
    _real(
        number=3,
        slug="kumamoto-restaurant-permits",
        title="飲食店営業許可一覧",
        real_file="431001_kumamoto_inshokuten_eigyo_kyoka.csv",
        owner="30203000",
        category="health-welfare",
        description=(
            "飲食店営業許可の一覧（8,351件、14項目、UTF-8 BOM付きCSV）。許可の期限（開始日・満了日）を含みます。\n\n"
            f"{_PERSON_NAMES_NOTE}\n\n{_KUMAMOTO_NOTE}\n\n"
            f"取得元: {_KUMAMOTO_REPO} data/Insyokutenneigyoukyoka/org/Insyokutenneigyoukyoka.csv"
            " @ d2a3114cb383af6c19b4595d7428628c3faf6e3c（BODIK のリソースから取得）"
        ),
        source="city",
        source_detail=_KUMAMOTO_ATTRIBUTION,
        licence="cc-by-4.0",
        formats=["csv"],
        keywords=["食品衛生", "営業許可", "飲食店", "推奨データセット"],
        spatial="熊本市",
        lg_code=LG_CODE,
        frequency="monthly",
    ),
    _real(
        number=4,
        slug="kumamoto-pharmacies",
        title="熊本市内薬局一覧（令和7年4月1日時点）",
        real_file="431001_kumamoto_yakkyoku_list.xlsx",
        owner="30202000",
        category="health-welfare",
        description=(
            "熊本市内の薬局400施設の一覧（許可期間、所在地など）。\n\n"
            f"{_PERSON_NAMES_NOTE}\n\n{_KUMAMOTO_NOTE}\n\n"
            f"取得元: {_KUMAMOTO_REPO} data/yakkyoku_list/org/yakkyoku_list.xlsx @ 5583b004ecc5d6e9e5e7195098447aa109eb72d1"
        ),
        source="city",
        source_detail=_KUMAMOTO_ATTRIBUTION,
        licence="cc-by-4.0",
        formats=["xlsx"],
        keywords=["薬局", "医療"],
        spatial="熊本市",
        lg_code=LG_CODE,
        frequency="yearly",
    ),
    _real(
        number=5,
        slug="reference-yamaguchi-tourism",
        title="【参考】山口県 観光施設一覧（旧推奨データセット形式）",
        real_file="350001_yamaguchi_tourism.csv",
        owner="50201000",
        category="tourism-industry",
        description=(
            "他自治体の参考データ: 山口県の観光施設一覧（792件、Shift_JIS の CSV）。"
            "推奨データセット「観光施設一覧」の形式例として登録しています。\n\n"
            "ライセンス: 取得元リポジトリにライセンスの記載がありません。山口県オープンデータカタログのファイルは通常 CC BY 4.0 ですが、"
            "このファイルについては確認されていません。\n\n"
            "取得元: gghatano/TableLinker data/csv/350001_tourism.csv @ c4bcd68205d90bd0f9c647d90697102436e8866e"
        ),
        source="other_lg",
        source_detail="山口県オープンデータ（観光施設一覧）— via gghatano/TableLinker",
        licence="unverified",
        formats=["csv"],
        keywords=["観光", "推奨データセット", "他自治体"],
        spatial="山口県",
        lg_code="350001",
    ),
    _real(
        number=6,
        slug="reference-sapporo-public-facilities",
        title="【参考】札幌市 公共施設一覧",
        real_file="011002_sapporo_public_facility.csv",
        owner="21102000",
        category="urban-transport",
        description=(
            "他自治体の参考データ: 札幌市（区のある政令指定都市）の公共施設一覧（674件、92項目）。"
            "推奨データセット「公共施設一覧」の形式例として登録しています。\n\n"
            "ライセンス: DATA-SMART CITY SAPPORO（ckan.pf-sapporo.jp、データセット public_facility）のファイルは通常 CC BY 4.0 ですが、"
            "このファイルについては再確認されていません。\n\n"
            "取得元: gghatano/TableLinker api/tablelinker/db/seed/opendata/sapporo/011002publicfacility.csv"
            " @ c4bcd68205d90bd0f9c647d90697102436e8866e"
        ),
        source="other_lg",
        source_detail="札幌市（公共施設一覧）— via gghatano/TableLinker",
        licence="unverified",
        formats=["csv"],
        keywords=["公共施設", "推奨データセット", "他自治体"],
        spatial="札幌市",
        lg_code="011002",
    ),
    _real(
        number=7,
        slug="reference-takamatsu-population-by-town-age",
        title="【参考】高松市 地域・年齢別人口（令和5年3月1日）",
        real_file="372013_takamatsu_population_by_town_age_202303.csv",
        owner="10101000",
        category="population",
        description=(
            "他自治体の参考データ: 高松市の町丁別・5歳階級別・男女別人口と世帯数（235町丁）。"
            "熊本市の町丁別人口ファイルが見つからなかったため、同じ種類のデータとして登録しています。\n\n"
            "ライセンス: リポジトリの LICENSE は CC BY 4.0。ファイル内の記載は "
            "#license,http://creativecommons.org/licenses/by/3.0/deed.ja（CC BY 3.0）です。\n\n"
            "取得元: takamatsu-city/opendata old_data/0066_202303.csv @ 8f784eff7d437009c4815d1b9fe0ba43a7b29648"
        ),
        source="other_lg",
        source_detail="高松市オープンデータ（高松市, CC BY）— takamatsu-city/opendata",
        licence="cc-by-4.0",
        formats=["csv"],
        keywords=["人口", "町丁別", "年齢別", "推奨データセット", "他自治体"],
        spatial="高松市",
        lg_code="372013",
        frequency="monthly",
    ),
    _real(
        number=8,
        slug="reference-takamatsu-evacuation-spaces",
        title="【参考】高松市 指定緊急避難場所一覧",
        real_file="372013_takamatsu_evacuation_space.csv",
        owner="10201000",
        category="safety",
        description=(
            "他自治体の参考データ: 高松市の指定緊急避難場所（193か所、災害種別ごとの可否、標高、収容人数）。\n\n"
            "ライセンス: リポジトリの LICENSE は CC BY 4.0。ファイル内の記載は CC BY 3.0 です。\n\n"
            "取得元: takamatsu-city/opendata old_data/0060.csv @ 5320141e4677125ea3599a3b05e8ba0e620c7b0d"
        ),
        source="other_lg",
        source_detail="高松市オープンデータ（高松市, CC BY）— takamatsu-city/opendata",
        licence="cc-by-4.0",
        formats=["csv"],
        keywords=["避難場所", "防災", "推奨データセット", "他自治体"],
        spatial="高松市",
        lg_code="372013",
    ),
    # ---- the strategy's own datasets ----
    {
        "identifier": f"{LG_CODE}-00009",
        "slug": "staff-survey-data-use-2023",
        "title": "データ活用に関する職員アンケート結果（令和5年度）",
        "description": (
            "データ戦略課が実施した、データ活用に関する職員意識の調査の集計結果。"
            "出典: 熊本市「データに基づく事業立案等推進戦略（案）」参考〈職員アンケートの結果〉。\n\n"
            "- 調査目的: データ活用に関する職員意識の現状及び課題を把握するため\n"
            "- 調査期間: 令和5年（2023年）7月7日（金）〜7月21日（金）\n"
            "- 調査対象: 熊本市職員／調査方法: Microsoft Forms\n"
            "- 回答状況: 2,464件（うち「データを活用するうえでの課題」の集計対象 1,544件）\n\n"
            "課題の回答割合（全体 1,544件）: 業務繁忙 35.6%、知識や活用スキル 29.4%、収集に人的・予算的にコスト 27.2%、"
            "必要とするデータがどこにあるのか分からない 24.4%、収集する手段がない 20.4%、データが電子化されていない 15.9%、"
            "データの提供を受けるまでの依頼や手続 15.1%、庁内の理解や風土 9.8%、対外的なニーズ 8.0%、"
            "思い当たる課題はない 7.2%、機密性が高い 5.4%、その他 2.7%。"
        ),
        "owner": "10102000",
        "category": "administration",
        "classification": "internal",
        "personal_data": "none",
        "discoverable": False,
        "location": "machidata",
        "location_detail": "",
        "frequency": "yearly",
        "source": "city",
        "source_detail": "熊本市「データに基づく事業立案等推進戦略（案）」参考〈職員アンケートの結果①〉",
        "licence": "internal-only",
        "formats": ["xlsx"],
        "keywords": ["職員アンケート", "データ活用", "EBPM"],
        "spatial": "熊本市",
        "lg_code": LG_CODE,
        "temporal_start": "2023-07-07",
        "temporal_end": "2023-07-21",
        "is_synthetic": False,
        "real_file": "",
    },
    _synthetic(
        number=10,
        slug="staff-survey-data-use-2023-responses",
        title="データ活用に関する職員アンケート 個票（令和5年度）",
        description=(
            "上記アンケートの回答ごとのデータ（所属局・職位・自由記述を含む）。"
            "所属と職位の組み合わせで個人が特定できるため所属限定とし、分析には集計結果を使います。"
        ),
        owner="10102000",
        category="administration",
        classification="restricted",
        personal_data="personal",
        location="file_share",
        location_detail=r"\\fs-seisaku\データ戦略課\02_職員アンケート\R5\回答データ.xlsx",
        frequency="none",
        licence="internal-only",
        formats=["xlsx"],
        keywords=["職員アンケート", "個票"],
    ),
    _synthetic(
        number=11,
        slug="data-strategy-kpi",
        title="データ活用推進戦略 検証指標（KPI）",
        description=(
            "戦略（案）の3つの施策の検証指標の年度ごとの実績と目標。指標の項目は戦略（案）のとおりです:\n\n"
            "- 施策1 データ利活用人材の育成: 課題として「知識や活用スキル」と回答した職員の割合（%）、"
            "研修受講者の理解度（点）、データ利活用に関する相談件数（件）\n"
            "- 施策2 データを活用するルール整備: 事業等の立案においてデータ利活用を意識している職員の割合（%）、ルール化の状況\n"
            "- 施策3 データ・ハード・ツールの環境整備: 「必要とするデータがどこにあるのか分からない」と回答した職員の割合（%）、"
            "データカタログにおけるデータ数（件）\n\n"
            "基準値（令和5年度アンケート）: 知識や活用スキル 29.4%、データの所在が分からない 24.4%。"
            "令和6年度以降の値はデモ用の合成データです。"
        ),
        owner="10102000",
        category="administration",
        classification="internal",
        source_detail="熊本市「データに基づく事業立案等推進戦略（案）」第3章 検証指標",
        licence="internal-only",
        formats=["xlsx"],
        keywords=["KPI", "検証指標", "EBPM", "データ戦略"],
        temporal_start="2024-04-01",
        temporal_end="2028-03-31",
    ),
    # ---- national standard open-data sets (推奨データセット) ----
    _synthetic(
        number=12,
        slug="aed-locations",
        title="AED設置箇所一覧",
        description="市内のAED（自動体外式除細動器）の設置施設、設置場所、利用可能な時間帯。推奨データセット「AED設置箇所一覧」の項目定義に沿っています。",
        owner="70102000",
        category="safety",
        classification="public",
        licence="cc-by-4.0",
        formats=["csv"],
        keywords=["AED", "救急", "推奨データセット"],
    ),
    _synthetic(
        number=13,
        slug="designated-emergency-evacuation-sites",
        title="指定緊急避難場所一覧",
        description="災害種別（洪水、土砂災害、地震、内水氾濫など）ごとの指定緊急避難場所。推奨データセット「指定緊急避難場所一覧」の形式です。",
        owner="10201000",
        category="safety",
        classification="public",
        licence="cc-by-4.0",
        formats=["csv", "geojson"],
        keywords=["避難場所", "防災", "推奨データセット"],
    ),
    _synthetic(
        number=14,
        slug="public-facilities",
        title="公共施設一覧",
        description="市有の公共施設（庁舎、公民館、体育館、図書館など）の名称、所在地、緯度経度。推奨データセット「公共施設一覧」の形式です。",
        owner="21102000",
        category="urban-transport",
        classification="public",
        licence="cc-by-4.0",
        formats=["csv"],
        keywords=["公共施設", "推奨データセット"],
    ),
    _synthetic(
        number=15,
        slug="childcare-facilities",
        title="子育て施設一覧",
        description="保育所、幼稚園、認定こども園の名称、所在地、定員、対象年齢。推奨データセット「子育て施設一覧」の形式です。",
        owner="31102000",
        category="children-education",
        classification="public",
        licence="pdl-1.0",
        formats=["csv"],
        keywords=["保育所", "幼稚園", "認定こども園", "推奨データセット"],
        frequency="quarterly",
    ),
    _synthetic(
        number=16,
        slug="fire-water-sources",
        title="消防水利施設一覧",
        description="消火栓・防火水槽の位置と種別。推奨データセット「消防水利施設一覧」の形式です。",
        owner="70101000",
        category="safety",
        classification="public",
        licence="cc-by-4.0",
        formats=["csv", "geojson"],
        keywords=["消火栓", "防火水槽", "推奨データセット"],
    ),
    _synthetic(
        number=17,
        slug="care-service-providers",
        title="介護サービス事業所一覧",
        description="市内の介護サービス事業所の名称、サービス種類、所在地、定員。推奨データセット「介護サービス事業所一覧」の形式です。",
        owner="30102000",
        category="health-welfare",
        classification="public",
        licence="cc-by-4.0",
        formats=["csv"],
        keywords=["介護", "事業所", "推奨データセット"],
        frequency="monthly",
    ),
    _synthetic(
        number=18,
        slug="population-by-town-age",
        title="町丁別・年齢別人口（住民基本台帳）",
        description="住民基本台帳に基づく町丁別・5歳階級別・男女別の人口と世帯数（毎月1日現在）。推奨データセット「地域・年齢別人口」の形式です。",
        owner="10101000",
        category="population",
        classification="public",
        licence="cc-by-4.0",
        formats=["csv"],
        keywords=["人口", "世帯", "町丁別", "推奨データセット"],
        frequency="monthly",
    ),
    _synthetic(
        number=19,
        slug="open-data-list",
        title="オープンデータ一覧",
        description="本市が公開しているオープンデータの一覧（データ名、所管課、更新頻度、URL）。推奨データセット「オープンデータ一覧」。オープンデータカタログサイトで公開しています。",
        owner="10102000",
        category="administration",
        classification="public",
        location="external_url",
        location_detail="https://odcs.bodik.jp/431001/",
        licence="cc-by-4.0",
        formats=["csv"],
        keywords=["オープンデータ", "推奨データセット"],
        source_detail="熊本市オープンデータカタログ（BODIK ODCS）",
    ),
    # ---- departmental data (synthetic) ----
    _synthetic(
        number=20,
        slug="ambulance-dispatch-records",
        title="救急出動記録（個票）",
        description=(
            "救急出動ごとの覚知時刻、現場到着時刻、出動場所、傷病程度、搬送先。傷病者の病歴等を含むため機密です。"
            "存在は庁内に示し、分析は利用申請のうえ仮名加工したもので行います（仙台市の救急需要予測の事例を参照）。"
            "デモでは令和4〜6年度の出動約23万件（覚知日時、区、町名、事故種別、傷病程度、年齢区分、"
            "現場到着所要時間、搬送の有無）を表「救急出動記録（令和4〜6年度、合成）」に取り込んでいます。"
        ),
        owner="70102000",
        category="safety",
        classification="confidential",
        discoverable=True,
        personal_data="sensitive",
        # The demo ingests a generated table (machidata/demo/ambulance.py: 令和4〜6年度, about 228,000 rows).
        location="machidata",
        location_detail="消防指令管制システム（救急統計データ）から取り込み",
        frequency="daily",
        licence="internal-only",
        formats=["system"],
        keywords=["救急", "出動", "搬送"],
    ),
    _synthetic(
        number=21,
        slug="ambulance-dispatches-monthly",
        title="救急出動件数（月別・区別・時間帯別）",
        description="救急出動件数を月、区、時間帯（1時間単位）で集計したもの。",
        owner="70102000",
        category="safety",
        classification="public",
        frequency="monthly",
        licence="cc-by-4.0",
        formats=["csv"],
        keywords=["救急", "出動件数", "時間帯"],
    ),
    _synthetic(
        number=22,
        slug="fire-incidents",
        title="火災発生状況（年別・区別・原因別）",
        description="火災の件数、焼損面積、損害額を原因別・区別に集計したもの。",
        owner="70101000",
        category="safety",
        classification="internal",
        licence="internal-only",
        formats=["xlsx", "pdf"],
        keywords=["火災", "消防統計"],
    ),
    _synthetic(
        number=23,
        slug="specific-health-checkups",
        title="特定健康診査 受診者データ",
        description="国民健康保険の特定健診の受診者ごとの検査値と問診結果。要配慮個人情報を含み、存在も庁内に示しません。",
        owner="30201000",
        category="health-welfare",
        classification="confidential",
        discoverable=False,
        personal_data="sensitive",
        location="business_system",
        location_detail="健康管理システム",
        licence="internal-only",
        formats=["system"],
        keywords=["特定健診", "国民健康保険"],
    ),
    _synthetic(
        number=24,
        slug="infant-dental-checkups-pseudonymised",
        title="幼児歯科健診結果（仮名加工）",
        description="1歳6か月児・3歳児歯科健診の結果を仮名加工したもの（施設別・年齢別のむし歯の状況の分析用。足立区の事例を参照）。",
        owner="30201000",
        category="children-education",
        classification="restricted",
        personal_data="pseudonymised",
        licence="internal-only",
        formats=["csv"],
        keywords=["歯科健診", "むし歯", "母子保健", "仮名加工"],
    ),
    _synthetic(
        number=25,
        slug="long-term-care-certification-anonymised",
        title="要介護認定者データ（匿名加工）",
        description="要介護認定の区分、年齢階級、区、認定日を匿名加工したもの。",
        owner="30102000",
        category="health-welfare",
        classification="internal",
        personal_data="anonymised",
        frequency="monthly",
        licence="internal-only",
        formats=["csv"],
        keywords=["介護保険", "要介護認定", "匿名加工"],
    ),
    _synthetic(
        number=26,
        slug="elderly-watch-list",
        title="高齢者見守り対象者名簿",
        description="地域の見守り活動の対象となる一人暮らし高齢者の名簿（氏名、住所、緊急連絡先）。",
        owner="30101000",
        category="health-welfare",
        classification="restricted",
        personal_data="personal",
        location="file_share",
        location_detail=r"\\fs-kenkou\高齢福祉課\見守り\見守り対象者名簿.xlsx",
        frequency="monthly",
        licence="internal-only",
        formats=["xlsx"],
        keywords=["高齢者", "見守り"],
    ),
    _synthetic(
        number=27,
        slug="nursery-waiting-children",
        title="保育所等利用待機児童数",
        description="年度ごと・区ごとの保育所等利用申込者数、利用児童数、待機児童数（4月1日・10月1日現在）。",
        owner="31102000",
        category="children-education",
        classification="public",
        frequency="quarterly",
        licence="pdl-1.0",
        formats=["xlsx"],
        keywords=["保育", "待機児童"],
    ),
    _synthetic(
        number=28,
        slug="child-allowance-recipients",
        title="児童手当 受給者台帳",
        description="児童手当の受給者と対象児童の台帳。",
        owner="31101000",
        category="children-education",
        classification="confidential",
        discoverable=False,
        personal_data="personal",
        location="business_system",
        location_detail="子ども・子育て支援システム",
        frequency="daily",
        licence="internal-only",
        formats=["system"],
        keywords=["児童手当"],
    ),
    _synthetic(
        number=29,
        slug="household-waste-by-ward",
        title="家庭ごみ排出量（月別・区別）",
        description="燃やすごみ、資源物などの種類別・区別の月ごとの排出量（トン）。",
        owner="40102000",
        category="environment",
        classification="public",
        frequency="monthly",
        licence="cc-by-4.0",
        formats=["csv"],
        keywords=["ごみ", "資源物", "排出量"],
    ),
    _synthetic(
        number=30,
        slug="greenhouse-gas-emissions",
        title="温室効果ガス排出量（部門別）",
        description="市域の温室効果ガス排出量を部門別（産業、業務、家庭、運輸、廃棄物）に推計したもの。",
        owner="40101000",
        category="environment",
        classification="public",
        licence="cc-by-4.0",
        formats=["pdf", "xlsx"],
        keywords=["温室効果ガス", "脱炭素"],
    ),
    _synthetic(
        number=31,
        slug="city-centre-footfall",
        title="中心市街地 人流データ（時間帯別）",
        description="民間事業者から購入した携帯電話の位置情報に基づく、中心市街地のエリア別・時間帯別の滞在人口の推計値。契約により庁内利用のみ。",
        owner="50101000",
        category="tourism-industry",
        classification="restricted",
        source="private",
        source_detail="人流データ提供事業者（購入データ）",
        frequency="monthly",
        licence="internal-only",
        formats=["csv"],
        keywords=["人流", "中心市街地", "滞在人口"],
    ),
    _synthetic(
        number=32,
        slug="tourist-visitors",
        title="観光入込客数（月別・主要観光地別）",
        description="主要観光地の月別の入込客数と宿泊者数。",
        owner="50201000",
        category="tourism-industry",
        classification="public",
        frequency="monthly",
        licence="cc-by-4.0",
        formats=["xlsx"],
        keywords=["観光", "入込客数"],
    ),
    _synthetic(
        number=33,
        slug="land-use-zoning",
        title="都市計画 用途地域",
        description="用途地域、建ぺい率、容積率の区域（ポリゴン）。",
        owner="60101000",
        category="geospatial",
        classification="public",
        frequency="irregular",
        licence="cc-by-4.0",
        formats=["geojson"],
        keywords=["都市計画", "用途地域", "GIS"],
    ),
    _synthetic(
        number=34,
        slug="tram-passengers-by-stop",
        title="熊本市電 電停別乗降客数",
        description="電停ごと・時間帯ごとの乗車人員と降車人員（ICカードデータの集計）。",
        owner="90001000",
        category="urban-transport",
        classification="internal",
        location="file_share",
        location_detail=r"\\fs-kotsu\総務課\統計\電停別乗降客数",
        frequency="monthly",
        licence="internal-only",
        formats=["xlsx"],
        keywords=["市電", "乗降客数", "公共交通"],
    ),
    _synthetic(
        number=35,
        slug="water-pipe-network",
        title="水道管路台帳",
        description="配水管の位置、口径、管種、布設年度。老朽管更新の計画に使います。",
        owner="91201000",
        category="geospatial",
        classification="restricted",
        location="business_system",
        location_detail="上下水道マッピングシステム",
        frequency="irregular",
        licence="internal-only",
        formats=["system"],
        keywords=["水道", "管路", "アセットマネジメント"],
    ),
    _synthetic(
        number=36,
        slug="budget-and-settlement",
        title="一般会計 予算・決算（款別）",
        description="一般会計の款別の当初予算額と決算額。",
        owner="21101000",
        category="administration",
        classification="public",
        licence="cc-by-4.0",
        formats=["xlsx", "pdf"],
        keywords=["予算", "決算", "財政"],
    ),
    _synthetic(
        number=37,
        slug="staff-numbers-by-bureau",
        title="部局別職員数",
        description="4月1日現在の部局別・職種別の職員数。",
        owner="20101000",
        category="administration",
        classification="internal",
        licence="internal-only",
        formats=["xlsx"],
        keywords=["職員数", "定員管理"],
    ),
    _synthetic(
        number=38,
        slug="pupils-by-school",
        title="学校別児童生徒数・学級数",
        description="市立小中学校ごとの学年別児童生徒数と学級数（5月1日現在）。",
        owner="95101000",
        category="children-education",
        classification="public",
        licence="cc-by-4.0",
        formats=["csv"],
        keywords=["学校", "児童生徒数"],
    ),
    _synthetic(
        number=39,
        slug="ward-counter-visitors",
        title="区役所 窓口来庁者数（時間帯別）",
        description=(
            "区役所の区民課窓口の来庁者数と平均待ち時間を、開庁日の1時間ごと・区ごとに数えたもの（発券機の記録）。"
            "窓口の混雑緩和と職員配置の検討に使います（滋賀県の事例を参照）。デモでは令和6〜7年度の記録を表"
            "「区役所窓口の来庁者数（令和6〜7年度、合成）」に取り込んでいます。中央区は2025年10月1日から、東区は"
            "2026年1月5日から転入・転出の手続を事前予約制にした（規則の変更）という設定で、その効果を「分析」の画面で"
            "確かめられます。天候の影響は入れていません。"
        ),
        owner="81001000",
        category="administration",
        classification="internal",
        frequency="daily",
        licence="internal-only",
        formats=["csv"],
        keywords=["窓口", "来庁者", "混雑", "待ち時間", "効果検証"],
        spatial="熊本市",
    ),
    _synthetic(
        number=40,
        slug="public-assistance-case-records",
        title="生活保護 ケース記録",
        description="生活保護の世帯ごとのケース記録（紙のファイル）。",
        owner="82002000",
        category="health-welfare",
        classification="confidential",
        discoverable=False,
        personal_data="sensitive",
        location="paper",
        location_detail="東区役所 福祉課 書庫",
        frequency="realtime",
        licence="internal-only",
        formats=["paper"],
        keywords=["生活保護"],
        spatial="熊本市東区",
        lg_code="431028",
    ),
    _synthetic(
        number=41,
        slug="academic-survey-results",
        title="全国学力・学習状況調査 結果（学校別）",
        description="全国学力・学習状況調査の学校別の平均正答率と質問紙調査の結果。学校の序列化を避けるため指導課内に限ります。",
        owner="95201000",
        category="children-education",
        classification="restricted",
        licence="internal-only",
        formats=["xlsx"],
        keywords=["学力調査", "学校"],
    ),
]

# The file names of entries that describe real files in shared/data/real/.
REAL_FILES: Final[dict[str, str]] = {d["identifier"]: d["real_file"] for d in DATASETS if d["real_file"]}

# 課長 (決裁権者) of every 課 that owns a dataset: the 公開申請 and 非公開化 route's first step. The seeding
# gives each a 閲覧 membership of the 課 and a 課長 designation. Two have names of their own (other rooms'
# demos use them); the others are kacho-<所属コード> and share kacho's password (one password hash for
# them all: hashing is slow on purpose, ~0.3–3 s each). Demo only: the passwords are published.
_NAMED_HEADS: Final = {
    "30201000": ("kacho", "健康づくり推進課長", "demo-kacho-2024"),
    "70101000": ("keibo-kacho", "警防課長", "demo-keibo-kacho-2024"),
}


def _heads() -> list[tuple[str, str, str, str]]:
    names = {code: name for code, name, _kind, _parent in UNITS}
    out = []
    for code in dict.fromkeys(d["owner"] for d in DATASETS):
        username, display, password = _NAMED_HEADS.get(
            code, (f"kacho-{code}", f"{names[code]}長", "demo-kacho-2024")
        )
        out.append((username, display, code, password))
    return out


# (username, display name, unit code, password)
HEADS: Final[list[tuple[str, str, str, str]]] = _heads()

# ---- data requests (データの要望) -------------------------------------------------------------------
# Filed, routed and answered through the services (so the timeline, audit trail and notices are real).
# route: unit code or None; answer: (by, kind, text, dataset slug or "", days until the expected date).
DATA_REQUESTS: Final[list[dict[str, Any]]] = [
    {
        "requester": "staff",
        "title": "町丁別の空き家の件数",
        "description": "町丁別・年度別の空き家の件数（空き家実態調査の結果など）。",
        "purpose": "火災予防の巡回計画で、空き家の多い地区を優先するため。",
        "period": "直近3年",
        "query": "空き家",
        "route": None,
        "answer": None,
    },
    {
        "requester": "staff",
        "title": "乳幼児健診の受診率（区別・年度別）",
        "description": "1歳6か月児健診・3歳児健診の区別・年度別の受診率。",
        "purpose": "子育て世帯向けの防火啓発の時期と場所を決めるため。",
        "period": "令和4年度～令和6年度",
        "query": "乳幼児健診 受診率",
        "route": "30201000",
        "answer": None,
    },
    {
        "requester": "steward",
        "title": "保育所の入所待ち児童数（町丁別）",
        "description": "4月1日時点の保育所入所待ち児童数を町丁別に。",
        "purpose": "母子保健の訪問計画と保育の需要を重ねて見るため。",
        "period": "令和5年度～",
        "query": "待機児童 町丁",
        "route": "31102000",
        "answer": ("steward2", "will_create", "4月1日時点の集計を町丁別に作り直して登録します。", "", 60),
    },
    {
        "requester": "steward2",
        "title": "救急出動の件数（町丁別・月別）",
        "description": "保育施設の周辺での救急出動の件数を町丁別・月別に。",
        "purpose": "保育施設の安全対策の優先順位を決めるため。",
        "period": "令和4年度～令和6年度",
        "query": "救急 町丁別",
        "route": "70102000",
        "answer": (
            "admin",
            "exists",
            "救急出動記録（個票）にあります。個票は機密のため、町丁別・月別の集計を救急課へ利用申請してください。",
            "ambulance-dispatch-records",
            0,
        ),
        "comment": ("steward2", "ありがとうございます。救急課に利用申請します。"),
    },
    {
        "requester": "staff",
        "title": "特定健診の受診率（町丁別）",
        "description": "国民健康保険の特定健診の受診率を町丁別に。",
        "purpose": "救急出動の多い地区と健康づくりの状況を比べるため。",
        "period": "令和5年度",
        "query": "特定健診",
        "route": "30201000",
        "answer": (
            "steward",
            "exists",
            "特定健診の結果（機密）を健康づくり推進課で持っています。町丁別の集計値の提供は健康づくり係へご相談ください。",
            "",
            0,
        ),
    },
]
