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


def _dataset(slug: str, identifier: str, title: str, description: str, owner: Unit) -> Dataset:
    dataset, created = Dataset.objects.get_or_create(
        slug=slug,
        defaults={
            "identifier": identifier,
            "title": title,
            "description": description,
            "owner": owner,
            "classification": Classification.RESTRICTED,
            "is_synthetic": True,
        },
    )
    if created:
        audit_record(actor=SYSTEM, action="dataset.create", obj=dataset, changes={"demo": "prep"})
    return dataset


def load_prep_demo() -> PrepDemoSummary:
    """Load the codes, the synthetic population table (once) and the rate recipe, and run it when it never ran."""
    from machidata.lake.protocol import write_version
    from machidata.prep.services import recipe_execute

    summary = PrepDemoSummary(codelists=load_shipped_codes())
    load_unpivot_demo(summary)
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
