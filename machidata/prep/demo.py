"""Demo content of the prep room: the shipped code lists, a synthetic ward population table, and the recipe
「救急出動率（区別・年度別、千人当たり）」 joining the demo ambulance table with it.

The population figures are **synthetic** (rounded, of the order of each ward's population; the dataset is
marked 合成データ). Call :func:`load_prep_demo` after the ambulance table is ingested, outside any
transaction (the lake commits on its own).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any, Final

import pyarrow as pa
from django.db import transaction

from machidata.access.models import Classification, Unit
from machidata.access.policy import actor_for
from machidata.audit.services import audit_record
from machidata.catalog.models import Dataset, Table, TableVersion
from machidata.core.errors import MachidataError
from machidata.prep.codes import SYSTEM, load_shipped_codes
from machidata.prep.models import Recipe

AMBULANCE_KEY: Final = "ambulance-dispatch-records/dispatches"
OWNER_CODE: Final = "70102000"  # 救急課, the owner of the ambulance records
POP_SLUG: Final = "ward-population-synthetic"
RATE_SLUG: Final = "ambulance-rate-by-ward"
# (username, display name, password): a demo account like those of the demo room (demo only).
STEWARD: Final = ("steward-kyukyu", "救急課 データ所有者", "demo-kyukyu-2024")
# (区コード, 区名, 人口) — synthetic, rounded; not official figures.
WARD_POPULATION: Final = (
    ("431010", "中央区", 186_000),
    ("431028", "東区", 191_000),
    ("431036", "西区", 93_000),
    ("431044", "南区", 127_000),
    ("431052", "北区", 142_000),
)
POP_SCHEMA: Final = pa.schema([("区コード", pa.string()), ("区名", pa.string()), ("人口", pa.int64())])
RATE_DEFINITION: Final[dict[str, Any]] = {
    "version": 1,
    "sources": [
        {"alias": "s1", "table": AMBULANCE_KEY, "label": "救急出動記録（令和4〜6年度、合成）"},
        {"alias": "s2", "table": f"{POP_SLUG}/population", "label": "区別人口（合成）"},
    ],
    "steps": [
        {"type": "calculate", "name": "年度", "expression": "年度([覚知日時])"},
        {"type": "aggregate", "by": ["区", "年度"], "measures": [{"op": "count", "name": "出動件数"}]},
        {
            "type": "join",
            "source": "s2",
            "keys": [{"left": "区", "right": "区名"}],
            "how": "left",
            "normalise": {"nfkc": True},
            "columns": ["区コード", "人口"],
        },
        {
            "type": "calculate",
            "name": "千人当たり出動件数",
            "expression": "round([出動件数] * 1000 / [人口], 2)",
        },
        {
            "type": "calculate",
            "name": "年度（和暦）",
            "expression": "concat(case([年度] >= 2019, '令和', '平成'), text(case([年度] >= 2019, [年度] - 2018, [年度] - 1988)), '年度')",
        },
    ],
}


# The real 高松市 table (its columns man1 … woman18: sex × 5-year band) made long by an unpivot recipe.
TAKAMATSU_SLUG: Final = "reference-takamatsu-population-by-town-age"
TAKAMATSU_TABLE: Final = "372013_takamatsu_population_by_town_age_202303"
LONG_SLUG: Final = "takamatsu-population-long"
STRATEGY_CODE: Final = "10102000"  # データ戦略課
BANDS: Final = tuple(f"{sex}{i}" for i in range(1, 19) for sex in ("man", "woman"))
UNPIVOT_STEPS: Final[list[dict[str, Any]]] = [
    {"type": "select", "columns": ["regionName", *BANDS], "rename": {"regionName": "町名"}},
    {"type": "unpivot", "columns": list(BANDS), "names_to": "項目", "values_to": "人数"},
    {"type": "calculate", "name": "性別", "expression": "if(left([項目], 3) = 'man', '男', '女')"},
    {
        "type": "calculate",
        "name": "階級",
        "expression": "round(number(replace(replace([項目], 'woman', ''), 'man', '')))",
    },
    {
        "type": "calculate",
        "name": "年齢",
        "expression": "if([階級] = 18, '85歳以上', concat(text(([階級] - 1) * 5), '〜', text([階級] * 5 - 1), '歳'))",
    },
]


@dataclass
class PrepDemoSummary:
    """What the prep demo loaded."""

    codelists: dict[str, int] = field(default_factory=dict)
    population_version: int | None = None
    recipe_id: int | None = None
    rate_version: int | None = None
    long_version: int | None = None
    skipped: str = ""
    recipes: dict[str, int] = field(default_factory=dict)  # the join and stack demos' recipes by table name


def demo_steward(unit: Unit) -> Any:
    """The demo account of 救急課's data steward (編集), who owns the demo recipe (created once)."""
    from django.contrib.auth import get_user_model

    from machidata.access.models import Membership, Role

    user, created = get_user_model().objects.get_or_create(
        username=STEWARD[0], defaults={"first_name": STEWARD[1], "is_active": True}
    )
    if created:
        user.set_password(STEWARD[2])
        user.save(update_fields=["password"])
        Membership.objects.create(user=user, unit=unit, role=Role.EDITOR, valid_from=dt.date(2000, 4, 1))
        audit_record(
            actor=SYSTEM, action="user.create", obj=user, changes={"demo": "prep", "unit": unit.code}
        )
    return user


def _dataset(
    slug: str, identifier: str, title: str, description: str, owner: Unit, *, synthetic: bool = True
) -> Dataset:
    dataset, created = Dataset.objects.get_or_create(
        slug=slug,
        defaults={
            "identifier": identifier,
            "title": title,
            "description": description,
            "owner": owner,
            "classification": Classification.RESTRICTED,
            "is_synthetic": synthetic,
        },
    )
    if created:
        audit_record(actor=SYSTEM, action="dataset.create", obj=dataset, changes={"demo": "prep"})
    return dataset


def load_prep_demo(real_dir: Any = None) -> PrepDemoSummary:
    """Load the codes, the synthetic population table (once) and the rate recipe, and run it when it never ran.

    Also the unpivot demo, the counter × weather join (synthetic) and, when ``real_dir`` holds the workbook,
    the new-restaurant-permit sheets stacked across months.
    """
    from machidata.lake.protocol import write_version
    from machidata.prep.services import recipe_execute

    summary = PrepDemoSummary(codelists=load_shipped_codes())
    load_unpivot_demo(summary)
    load_join_and_stack_demo(summary, real_dir)
    owner = Unit.objects.filter(code=OWNER_CODE).first()
    if (
        owner is None
        or not Table.objects.filter(dataset__slug=AMBULANCE_KEY.split("/")[0], name="dispatches").exists()
    ):
        summary.skipped = "救急出動記録の表がないため、加工の手順のデモを省略しました。"
        return summary
    with transaction.atomic():
        popds = _dataset(
            POP_SLUG,
            "431001-08001",
            "区別人口（デモ用の合成値）",
            "熊本市の5区の人口（概数）。加工の手順のデモで使う合成データです。公式の統計ではありません。",
            owner,
        )
        target = _dataset(
            RATE_SLUG,
            "431001-08002",
            "救急出動率（区別・年度別、千人当たり）",
            "救急出動記録と区別人口を結合し、区別・年度別の人口千人当たり出動件数を計算した表（加工の手順で作成）。",
            owner,
        )
        population = Table.objects.filter(dataset=popds, name="population").first()
        if population is None:
            population = Table.objects.create(
                dataset=popds,
                name="population",
                title="区別人口（合成）",
                storage_key=uuid.uuid4().hex,
                schema={
                    "fields": [
                        {"name": "区コード", "type": "string"},
                        {"name": "区名", "type": "string"},
                        {"name": "人口", "type": "integer", "unit": "人"},
                    ]
                },
            )
    if population.current_version_id is None:
        rows = [{"区コード": c, "区名": w, "人口": n} for c, w, n in WARD_POPULATION]
        version: TableVersion = write_version(
            table=population,
            batches=[pa.RecordBatch.from_pylist(rows, schema=POP_SCHEMA)],
            schema=POP_SCHEMA,
            mode="replace",
            job_id=f"demo-prep-{uuid.uuid4().hex[:8]}",
            source_name="区別人口（合成）",
            note="デモ用の合成データ",
        )
        summary.population_version = version.number
    with transaction.atomic():
        steward = demo_steward(owner)
        recipe, created = Recipe.objects.get_or_create(
            dataset=target,
            table_name="rate",
            defaults={
                "title": "救急出動率（区別・年度別、千人当たり）",
                "unit": owner,
                "definition": RATE_DEFINITION,
                "created_by": steward,
            },
        )
        if created:
            audit_record(actor=SYSTEM, action="prep.recipe.create", obj=recipe, changes={"demo": True})
    summary.recipe_id = recipe.pk
    if recipe.output_table_id is None:
        try:
            out = recipe_execute(
                actor=actor_for(steward), recipe=recipe, job_id=f"demo-prep-{uuid.uuid4().hex[:8]}"
            )
        except MachidataError as exc:
            summary.skipped = f"加工の手順のデモを実行できませんでした（{exc.message}）"
        else:
            summary.rate_version = out.number
    return summary


def load_unpivot_demo(summary: PrepDemoSummary) -> None:
    """The unpivot demo over the real 高松市 table, owned by データ戦略課 and run as the demo 管理 account."""
    from django.contrib.auth import get_user_model

    from machidata.prep.services import recipe_execute

    source = Table.objects.filter(dataset__slug=TAKAMATSU_SLUG, name=TAKAMATSU_TABLE).first()
    unit = Unit.objects.filter(code=STRATEGY_CODE).first()
    admin = get_user_model().objects.filter(username="admin").first()
    if source is None or source.current_version_id is None or unit is None or admin is None:
        return
    with transaction.atomic():
        target = _dataset(
            LONG_SLUG,
            "431001-08003",
            "【参考】高松市 町丁別・男女別・5歳階級別人口（縦持ち）",
            "高松市の町丁別人口（男女×5歳階級の列が並ぶ表）を、加工の手順の「縦持ちへの変換」で"
            "町名・性別・年齢の行に並べ替えた表です。出典: 高松市オープンデータ（CC BY）。",
            unit,
        )
        definition = {
            "version": 1,
            "sources": [
                {"alias": "s1", "table": f"{TAKAMATSU_SLUG}/{TAKAMATSU_TABLE}", "label": source.title}
            ],
            "steps": UNPIVOT_STEPS,
        }
        recipe, created = Recipe.objects.get_or_create(
            dataset=target,
            table_name="long",
            defaults={
                "title": "高松市の人口を縦持ちにする（男女・5歳階級）",
                "unit": unit,
                "definition": definition,
                "created_by": admin,
            },
        )
        if created:
            audit_record(actor=SYSTEM, action="prep.recipe.create", obj=recipe, changes={"demo": True})
    if recipe.output_table_id is None:
        try:
            out = recipe_execute(
                actor=actor_for(admin), recipe=recipe, job_id=f"demo-prep-{uuid.uuid4().hex[:8]}"
            )
        except MachidataError as exc:
            summary.skipped += f"縦持ちのデモを実行できませんでした（{exc.message}）"
        else:
            summary.long_version = out.number


# ---- counter × weather (synthetic) and the restaurant-permit sheets stacked across months ----------------
COUNTER_SLUG: Final = "pedestrian-counter-synthetic"
WEATHER_SLUG: Final = "daily-weather-synthetic"
COUNTER_WEATHER_SLUG: Final = "pedestrian-counter-with-weather"
PERMIT_FILE: Final = "431001_kumamoto_shinki_inshokuten_eigyo_kyoka.xlsx"
PERMIT_MONTHS_SLUG: Final = "new-restaurant-permits-by-month-sheet"
PERMIT_STACK_SLUG: Final = "new-restaurant-permits-stacked"
FIRST_DAY: Final = dt.date(2024, 4, 1)
DAYS: Final = 365  # 令和6年度 (2024-04-01 … 2025-03-31)
COUNTER_SCHEMA: Final = pa.schema([("日付", pa.date32()), ("地点", pa.string()), ("通行量", pa.int64())])
WEATHER_SCHEMA: Final = pa.schema(
    [("日付", pa.date32()), ("降水量（mm）", pa.float64()), ("最高気温（℃）", pa.float64())]
)
PERMIT_COLUMNS: Final = (
    "業種",
    "屋号",
    "営業所所在地",
    "許可日",
)  # no person names (申請者・代表者) are copied
PERMIT_SCHEMA: Final = pa.schema(
    [("業種", pa.string()), ("屋号", pa.string()), ("営業所所在地", pa.string()), ("許可日", pa.date32())]
)
COUNTER_WEATHER_STEPS: Final[list[dict[str, Any]]] = [
    {
        "type": "join",
        "source": "s2",
        "keys": [{"left": "日付", "right": "日付"}],
        "how": "left",
        "columns": ["降水量（mm）", "最高気温（℃）"],
    },
    {"type": "calculate", "name": "天気", "expression": "if([降水量（mm）] >= 1, '雨', '雨なし')"},
]


def synthetic_weather() -> list[dict[str, Any]]:
    """A daily weather table (synthetic: a seeded pseudo-random series, not observations)."""
    import math
    import random

    rng = random.Random(8)  # noqa: S311 — synthetic demo values, not security
    rows = []
    for i in range(DAYS):
        day = FIRST_DAY + dt.timedelta(days=i)
        rainy = rng.random() < 0.3
        rain = round(rng.uniform(1, 40), 1) if rainy else (0.5 if rng.random() < 0.1 else 0.0)
        high = round(23 + 10 * math.cos((i - 120) / 365 * 2 * math.pi) + rng.uniform(-3, 3), 1)
        rows.append({"日付": day, "降水量（mm）": rain, "最高気温（℃）": high})
    return rows


def synthetic_counter(weather: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A daily pedestrian counter log (synthetic): more on weekends, fewer on rainy days."""
    import random

    rng = random.Random(80)  # noqa: S311 — synthetic demo values, not security
    rows = []
    for w in weather:
        day = w["日付"]
        base = 14_000 if day.weekday() >= 5 else 10_000
        factor = 0.7 if w["降水量（mm）"] >= 1 else 1.0
        rows.append(
            {"日付": day, "地点": "下通（合成）", "通行量": int(base * factor * rng.uniform(0.9, 1.1))}
        )
    return rows


def permit_sheets(path: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    """Each monthly sheet of the new-restaurant-permit workbook as (sheet name, rows of PERMIT_COLUMNS)."""
    from python_calamine import CalamineWorkbook

    out = []
    workbook = CalamineWorkbook.from_path(str(path))
    try:
        for name in workbook.sheet_names:
            cells = workbook.get_sheet_by_name(name).to_python()
            if not cells:
                continue
            header = [str(c).strip() for c in cells[0]]
            where = {c: header.index(c) for c in PERMIT_COLUMNS if c in header}
            if len(where) != len(PERMIT_COLUMNS):
                continue
            rows = []
            for line in cells[1:]:
                if not str(line[where["屋号"]] or "").strip():
                    continue
                issued = line[where["許可日"]]
                if isinstance(issued, dt.datetime):
                    issued = issued.date()
                rows.append(
                    {
                        "業種": str(line[where["業種"]] or "").strip(),
                        "屋号": str(line[where["屋号"]]).strip(),
                        "営業所所在地": str(line[where["営業所所在地"]] or "").strip(),
                        "許可日": issued if isinstance(issued, dt.date) else None,
                    }
                )
            out.append((name.strip(), rows))
    finally:
        workbook.close()
    return out


def _table_with(
    dataset: Dataset, name: str, title: str, rows: list[dict[str, Any]], schema: pa.Schema
) -> Table:
    """A table of the demo (created once), written once."""
    from machidata.lake.protocol import write_version

    with transaction.atomic():
        table = Table.objects.filter(dataset=dataset, name=name).first()
        if table is None:
            table = Table.objects.create(
                dataset=dataset, name=name, title=title, storage_key=uuid.uuid4().hex
            )
    if table.current_version_id is None:
        write_version(
            table=table,
            batches=[pa.RecordBatch.from_pylist(rows, schema=schema)],
            schema=schema,
            mode="replace",
            job_id=f"demo-prep-{uuid.uuid4().hex[:8]}",
            source_name=title,
            note="デモ用のデータ",
        )
        table.refresh_from_db()
    return table


def _demo_recipe(
    summary: PrepDemoSummary,
    *,
    target: Dataset,
    table_name: str,
    title: str,
    definition: dict[str, Any],
    unit: Unit,
    admin: Any,
) -> None:
    from machidata.prep.services import recipe_execute

    with transaction.atomic():
        recipe, created = Recipe.objects.get_or_create(
            dataset=target,
            table_name=table_name,
            defaults={"title": title, "unit": unit, "definition": definition, "created_by": admin},
        )
        if created:
            audit_record(actor=SYSTEM, action="prep.recipe.create", obj=recipe, changes={"demo": True})
    summary.recipes[table_name] = recipe.pk
    if recipe.output_table_id is None:
        try:
            recipe_execute(actor=actor_for(admin), recipe=recipe, job_id=f"demo-prep-{uuid.uuid4().hex[:8]}")
        except MachidataError as exc:
            summary.skipped += f"「{title}」を実行できませんでした（{exc.message}）"


def load_join_and_stack_demo(summary: PrepDemoSummary, real_dir: Any = None) -> None:
    """The counter × weather join (synthetic, 合成データ) and the permit sheets stacked across months (real)."""
    from pathlib import Path

    from django.contrib.auth import get_user_model

    unit = Unit.objects.filter(code=STRATEGY_CODE).first()
    admin = get_user_model().objects.filter(username="admin").first()
    if unit is None or admin is None:
        return
    with transaction.atomic():
        counter_ds = _dataset(
            COUNTER_SLUG,
            "431001-08004",
            "歩行者通行量（日別・合成データ）",
            "下通の歩行者通行量の日別記録を模した合成データです。実際の計測値ではありません（加工の手順のデモ用）。",
            unit,
        )
        weather_ds = _dataset(
            WEATHER_SLUG,
            "431001-08005",
            "日別の天気（降水量・最高気温、合成データ）",
            "熊本市の日別の降水量と最高気温を模した合成データです。気象庁の観測値ではありません（加工の手順のデモ用）。",
            unit,
        )
        joined_ds = _dataset(
            COUNTER_WEATHER_SLUG,
            "431001-08006",
            "歩行者通行量と天気（日別、合成データを結合）",
            "合成データの歩行者通行量に、同じ日の天気（合成データ）を日付で結合し、雨の日かどうかの列を加えた表です。",
            unit,
        )
    weather = synthetic_weather()
    counter = _table_with(
        counter_ds, "daily", "歩行者通行量（日別、合成）", synthetic_counter(weather), COUNTER_SCHEMA
    )
    sky = _table_with(weather_ds, "daily", "日別の天気（合成）", weather, WEATHER_SCHEMA)
    _demo_recipe(
        summary,
        target=joined_ds,
        table_name="daily",
        title="歩行者通行量に天気を結合する（合成データ）",
        definition={
            "version": 1,
            "sources": [
                {"alias": "s1", "table": f"{COUNTER_SLUG}/daily", "label": counter.title},
                {"alias": "s2", "table": f"{WEATHER_SLUG}/daily", "label": sky.title},
            ],
            "steps": COUNTER_WEATHER_STEPS,
        },
        unit=unit,
        admin=admin,
    )
    path = Path(real_dir) / PERMIT_FILE if real_dir else None
    if path is None or not path.is_file():
        return
    sheets = permit_sheets(path)
    if len(sheets) < 2:
        return
    with transaction.atomic():
        months_ds = _dataset(
            PERMIT_MONTHS_SLUG,
            "431001-08007",
            "新規飲食店営業許可（令和6年度、月別のシートごと）",
            "熊本市の新規飲食店営業許可（月ごとに1シート）を、シートごとの表にしたものです（業種・屋号・所在地・許可日のみ。"
            "申請者の氏名は含めていません）。出典: 熊本市オープンデータ（CC BY 4.0）。",
            unit,
            synthetic=False,
        )
        stacked_ds = _dataset(
            PERMIT_STACK_SLUG,
            "431001-08008",
            "新規飲食店営業許可（令和6年度、月別シートを積み重ね）",
            "月別のシートの表を、加工の手順の「積み重ね」で1つの表にし、どの月のシートかを示す列を加えたものです。"
            "出典: 熊本市オープンデータ（CC BY 4.0）。",
            unit,
            synthetic=False,
        )
    sources = []
    for i, (sheet, rows) in enumerate(sheets, start=1):
        table = _table_with(months_ds, f"month-{i:02d}", f"{sheet}のシート", rows, PERMIT_SCHEMA)
        sources.append(
            {"alias": f"s{i}", "table": f"{PERMIT_MONTHS_SLUG}/{table.name}", "label": table.title}
        )
    _demo_recipe(
        summary,
        target=stacked_ds,
        table_name="stacked",
        title="月別のシートを積み重ねる（新規飲食店営業許可）",
        definition={
            "version": 1,
            "sources": sources,
            "steps": [{"type": "stack", "sources": [s["alias"] for s in sources[1:]], "source_column": "月"}],
        },
        unit=unit,
        admin=admin,
    )
