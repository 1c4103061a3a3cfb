"""Demo of the standard open-data sets: Kumamoto City's real 病院一覧 as 推奨データセット「医療機関一覧」.

The source is ``shared/data/real/431001_kumamoto_byouin_list.xlsx`` (熊本市, CC BY 4.0, via
codeforkumamoto/od_kumamoto_city). The demo keeps 施設名, 種類, 病床数 (the sum of the five bed
kinds) and 診療科目 (the ○ columns joined with「;」) and leaves out the 開設者 and 管理者 names. It also
leaves out 所在地 and 電話番号: the ingest screen flags them (a hospital's address and switchboard look like a
person's), which sends the request to the privacy unit (MACHIDATA_PRIVACY_UNIT_CODE), which the demo has
not set; a city that sets it publishes them through that step and a 管理 override of the screen gate.
The demo ingests the rest as 健康づくり推進課's table, declares it 医療機関一覧 with the suggested mapping (the demo plays the owner confirming it), and publishes it
through the route (課長, then データ戦略課). The checklist honestly lists what the city's file lacks
(住所, 名称_カナ, 診療曜日・時間, URL). Idempotent: a second run changes nothing.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Final

from django.contrib.auth import get_user_model
from django.db import transaction

from machidata.access.models import Unit
from machidata.access.policy import actor_for
from machidata.catalog.models import Dataset, Licence, Table, ValidationPolicy

SLUG: Final = "kumamoto-hospitals-standard"
TABLE: Final = "hospitals"
STANDARD: Final = "hospital"
OWNER_CODE: Final = "30201000"  # 健康づくり推進課: its 課長 (kacho) is made by publish/demo.py
SOURCE_FILE: Final = "431001_kumamoto_byouin_list.xlsx"
ATTRIBUTION: Final = "熊本市オープンデータ「病院一覧」（熊本市, CC BY 4.0）をもとに作成"
COLUMNS: Final = ["施設名", "医療機関の種類", "病床数", "診療科目"]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).replace("\n", "").strip()


def hospital_rows(path: Path) -> list[list[str]]:
    """The standard's columns from the city's workbook: one row per hospital, names of people left out."""
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(path))
    try:
        sheet = workbook.get_sheet_by_index(0).to_python()
    finally:
        workbook.close()
    header = [_text(h) for h in sheet[0]]
    body = [r for r in sheet[1:] if any(_text(c) for c in r)]

    def col(word: str) -> int:
        return next(i for i, h in enumerate(header) if word in h)

    beds = [i for i, h in enumerate(header) if "病床" in h]
    named = {col("施設区分"), col("施設正式名称"), col("所在地"), col("電話番号"), col("郵便番号"), *beds}
    flags = [
        i for i, h in enumerate(header)
        if i not in named and h and any(_text(r[i]) for r in body) and all(_text(r[i]) in ("", "○") for r in body)
    ]  # fmt: skip
    out = [COLUMNS]
    for r in body:
        kind = _text(r[col("施設区分")]) or "病院"
        total = sum(int(float(_text(r[i]))) for i in beds if _text(r[i]).replace(".", "", 1).isdigit())
        subjects = ";".join(header[i] for i in flags if _text(r[i]) == "○")
        out.append([_text(r[col("施設正式名称")]), kind, str(total), subjects])
    return out


def load_standards_demo(*, home: Path, real_dir: Path) -> str:
    """Declare and publish the hospital list as 医療機関一覧; returns what was done, in Japanese."""
    from machidata.catalog.table_services import table_update_schema
    from machidata.ingest.services import ingest_file, table_get_or_create
    from machidata.publish.models import PublicationRequest
    from machidata.publish.services import publication_act, publication_request_create
    from machidata.standards import definitions
    from machidata.standards.services import declaration_set

    source = Path(real_dir) / SOURCE_FILE
    unit = Unit.objects.filter(code=OWNER_CODE).first()
    users = get_user_model().objects
    steward_u, head_u, admin_u = (users.filter(username=n).first() for n in ("steward", "kacho", "admin"))
    if not source.is_file() or unit is None or None in (steward_u, head_u, admin_u):
        return f"実データ {SOURCE_FILE} または公開申請のデモ用アカウントがないため省略しました"
    if not Licence.objects.filter(code="cc-by-4.0").exists():
        return "ライセンス cc-by-4.0 がないため省略しました"
    steward = actor_for(steward_u)
    with transaction.atomic():
        ds, _ = Dataset.objects.get_or_create(slug=SLUG, defaults={
            "identifier": f"demo-{SLUG}", "title": "病院一覧（推奨データセット「医療機関一覧」形式）", "owner": unit,
            "classification": "internal", "personal_data": "none", "lg_code": "431001", "spatial": "熊本市",
            "description": (
                "熊本市の病院一覧（令和6年2月1日現在、90施設）を推奨データセット「医療機関一覧」の項目にそろえた表です。"
                "病床数は5種類の病床の合計、診療科目は○の付いた診療科を「;」でつないだものです。"
                "開設者・管理者の氏名は含めていません。"
                "所在地と電話番号は、取り込み時の個人情報の確認が（病院のものでも）個人情報の可能性として止めるため、"
                f"このデモでは載せていません（個人情報担当の課を設定すると、協議の段を経て公開できます）。\n\n出典: {ATTRIBUTION}（{SOURCE_FILE}）"
            ),
        })  # fmt: skip
    if PublicationRequest.objects.filter(dataset=ds).exists():
        return "作成済み"
    table = table_get_or_create(actor=steward, dataset=ds, name=TABLE, title="病院一覧（医療機関一覧）")
    if table.validation_policy != ValidationPolicy.WARN:
        table = table_update_schema(actor=steward, table=table, validation_policy=ValidationPolicy.WARN)
    folder = Path(home) / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kumamoto_hospitals_standard.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(hospital_rows(source))
    version = ingest_file(
        actor=steward, table=Table.objects.get(pk=table.pk), path=path, source_name=path.name
    )
    standard = definitions.by_code(STANDARD)
    assert standard is not None
    columns = [str(f["name"]) for f in (version.schema or {}).get("fields", [])]
    mapping = {s.item: s.column for s in definitions.suggest(standard, columns)}  # the owner confirms them
    declaration_set(
        actor=steward, table=Table.objects.get(pk=table.pk), standard_code=STANDARD, mapping=mapping
    )
    req = publication_request_create(actor=steward, dataset=ds, version_ids=[version.pk], licence_code="cc-by-4.0",
                                     attribution=ATTRIBUTION, note="推奨データセット「医療機関一覧」として公開します。")  # fmt: skip
    req = publication_act(
        actor=actor_for(head_u), request=req, decision="approve", comment="公開して差し支えない。"
    )
    publication_act(actor=actor_for(admin_u), request=req, decision="approve", comment="確認しました。")
    return f"医療機関一覧を宣言して公開しました（{version.rows or 0}行）"
