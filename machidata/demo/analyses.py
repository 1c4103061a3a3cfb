"""The analysis room's demo: a synthetic (合成) counter log, and saved analyses a demo user sees on first visit.

The counter log is shaped like Shiga's counter-congestion case: visitors and the mean wait per hour of the day at
each ward office's 区民課 counter, opening days only (weekdays that are not holidays or 12/29–1/3), 令和6〜7年度,
with a busy season in March–April, a Monday and after-holiday peak and a morning peak. The rule change: 中央区
moved moving-in/out procedures to advance booking on 2025-10-01 and 東区 on 2026-01-05 (about 15% fewer walk-in
visitors and shorter waits); no weather. Everything is invented from a fixed seed and labelled 合成.
A second synthetic table gives synthetic control its shape (one treated unit, yearly, many donors): visitors per
year at twelve community centres (第1地区 … 第12地区), 2014–2025, driven by two shared factors; 第1地区 moved
certificates to convenience-store issuing in 2021 (about 10% fewer visitors from then).

The saved analyses (the issue's "done when"): next month's ambulance dispatches by ward and hour with its backtest
(the 救急課 data owner's), and the rule change as interrupted time series, difference-in-differences and staggered
adoption (データ戦略課 管理's). The staff survey's obstacles by bureau are in the surveys room (its crosstab page).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Final

import jpholiday
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SEED: Final = 1010
COUNTER_SLUG: Final = "ward-counter-visitors"
COUNTER_TABLE: Final = ("counter_visits", "区役所窓口の来庁者数（令和6〜7年度、合成）")
COUNTER_FILE: Final = "ward_counter_visits_fy2024-2025_synthetic.parquet"
FIRST: Final = dt.date(2024, 4, 1)
LAST: Final = dt.date(2026, 3, 31)
# Booking starts (the rule change) per ward; the others never change.
RULE_CHANGE: Final = {"中央区": dt.date(2025, 10, 1), "東区": dt.date(2026, 1, 5)}
EFFECT: Final = 0.85  # walk-in visitors keep 85% after the change
WARD_SIZE: Final = {"中央区": 34.0, "東区": 30.0, "西区": 16.0, "南区": 22.0, "北区": 25.0}
# Visitors by hour of opening (08:00 … 16:00), relative.
HOURS: Final = [0.8, 1.3, 1.4, 1.2, 0.8, 1.1, 1.0, 0.9, 0.6]
MONTH: Final = {
    1: 0.95,
    2: 0.95,
    3: 1.6,
    4: 1.7,
    5: 1.0,
    6: 0.9,
    7: 0.95,
    8: 0.9,
    9: 0.9,
    10: 0.95,
    11: 0.9,
    12: 1.0,
}
SCHEMA: Final = pa.schema(
    [
        ("日時", pa.timestamp("s")),
        ("区", pa.string()),
        ("来庁者数", pa.int64()),
        ("平均待ち時間（分）", pa.float64()),
    ]
)


def opening_days(first: dt.date = FIRST, last: dt.date = LAST) -> list[dt.date]:
    """Weekdays that are not national holidays or the new-year closure (12/29–1/3)."""
    days = []
    day = first
    while day <= last:
        closure = (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)
        if day.weekday() < 5 and not jpholiday.is_holiday(day) and not closure:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def counter_rows(seed: int = SEED) -> dict[str, list[Any]]:
    """The columns of the synthetic counter log (one row per ward, opening day and hour)."""
    rng = np.random.default_rng(seed)
    days = opening_days()
    after_closed = {d for i, d in enumerate(days) if i and (d - days[i - 1]).days > 1}
    columns: dict[str, list[Any]] = {name: [] for name in SCHEMA.names}
    for ward, size in WARD_SIZE.items():
        change = RULE_CHANGE.get(ward)
        for day in days:
            # Additive season and after-holiday peak: the same extra visitors at every ward (parallel trends).
            level = size + 20.0 * (MONTH[day.month] - 1.0) + (6.0 if day in after_closed else 0.0)
            if change is not None and day >= change:
                level *= EFFECT
            for h, shape in enumerate(HOURS):
                visitors = int(rng.poisson(level * shape))
                wait = max(1.0, 3.0 + 0.35 * visitors + rng.normal(0, 2.0))
                columns["日時"].append(dt.datetime.combine(day, dt.time(8 + h)))
                columns["区"].append(ward)
                columns["来庁者数"].append(visitors)
                columns["平均待ち時間（分）"].append(round(wait, 1))
    return columns


def write_counter_log(directory: Path) -> Path:
    """Write the synthetic counter log as Parquet (same bytes every time: the ingest skips it when unchanged)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / COUNTER_FILE
    table = pa.table(counter_rows(), schema=SCHEMA)
    pq.write_table(table, path, compression="zstd")
    return path


YEARLY_TABLE: Final = ("centre_visits_yearly", "地区センターの年度別来所者数（2014〜2025年度、合成）")
YEARLY_FILE: Final = "centre_visits_yearly_2014-2025_synthetic.parquet"
YEARLY_SCHEMA: Final = pa.schema([("年度", pa.date32()), ("地区", pa.string()), ("来所者数", pa.int64())])
YEARLY_START: Final = 2021  # 第1地区: convenience-store certificates from this fiscal year
YEARLY_EFFECT: Final = 0.90


def yearly_rows() -> dict[str, list[Any]]:
    """Visitors per fiscal year (dated 4/1) at twelve centres: two shared factors, 第1地区 inside the donors' range."""
    rng = np.random.default_rng(SEED + 1)
    years = np.arange(2014, 2026)
    trend = np.linspace(0.0, 1.0, len(years))
    cycle = np.sin(np.linspace(0.0, 3.0, len(years)))
    loadings = rng.uniform(0.2, 1.0, size=(12, 2))
    loadings[0] = 0.5 * loadings[1] + 0.3 * loadings[2] + 0.2 * loadings[3]
    columns: dict[str, list[Any]] = {"年度": [], "地区": [], "来所者数": []}
    for i in range(12):
        base = 8000.0 if i == 0 else rng.uniform(5000.0, 11000.0)
        if i == 0:
            base = 0.5 * 7000.0 + 0.3 * 9000.0 + 0.2 * 8000.0
        for k, year in enumerate(years):
            value = base * (1.0 - 0.15 * loadings[i, 0] * trend[k] + 0.05 * loadings[i, 1] * cycle[k])
            if i == 0 and year >= YEARLY_START:
                value *= YEARLY_EFFECT
            columns["年度"].append(dt.date(int(year), 4, 1))
            columns["地区"].append(f"第{i + 1}地区")
            columns["来所者数"].append(round(float(value + rng.normal(0.0, 40.0))))
    return columns


def write_yearly(directory: Path) -> Path:
    """Write the synthetic yearly table as Parquet (same bytes every time)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / YEARLY_FILE
    pq.write_table(pa.table(yearly_rows(), schema=YEARLY_SCHEMA), path, compression="zstd")
    return path


COUNTER_COMMON: Final = {"time": "日時", "grain": "month", "outcome": "来庁者数", "unit": "区"}
# (owner username, title, table slug, spec)
ANALYSES: Final[list[tuple[str, str, str, dict[str, Any]]]] = [
    (
        "steward-kyukyu",
        "来月の救急出動件数の予測（区別・時間別）",
        "ambulance-dispatch-records",
        {
            "design": "forecast",
            "time": "覚知日時",
            "grain": "hour",
            "unit": "区",
            "horizon": 24 * 30,
            "since": "2024-12-01",
        },
    ),
    (
        "admin",
        "窓口の予約制の効果（中央区、中断時系列分析、合成データ）",
        COUNTER_SLUG,
        {**COUNTER_COMMON, "design": "its", "only_units": "中央区", "intervention": "2025-10-01"},
    ),
    (
        "admin",
        "窓口の予約制の効果（中央区と他の区、差の差分析、合成データ）",
        COUNTER_SLUG,
        {
            **COUNTER_COMMON,
            "design": "did_twfe",
            "treated_units": "中央区",
            "intervention": "2025-10-01",
            "until": "2026-01-01",
        },
    ),
    (
        "admin",
        "窓口の予約制の効果（区ごとに開始時期が違う、合成データ）",
        COUNTER_SLUG,
        {**COUNTER_COMMON, "design": "did_staggered", "treated_units": "中央区=2025-10-01, 東区=2026-01-01"},
    ),
    (
        "admin",
        "コンビニ交付の効果（第1地区、合成コントロール法、合成データ）",
        f"{COUNTER_SLUG}:{YEARLY_TABLE[0]}",
        {
            "design": "synthetic_control",
            "time": "年度",
            "grain": "year",
            "outcome": "来所者数",
            "unit": "地区",
            "treated_units": "第1地区",
            "intervention": str(YEARLY_START),
        },
    ),
]


def load_analysis_demo(*, home: Path, say: Any) -> dict[str, int]:
    """Ingest the counter log (skipped when unchanged) and save the demo analyses not saved yet (by title)."""
    from django.contrib.auth import get_user_model

    from machidata.access.policy import actor_for
    from machidata.analysis.models import Analysis
    from machidata.analysis.services import analysis_run
    from machidata.catalog.models import Dataset, Table
    from machidata.core.errors import MachidataError
    from machidata.demo.services import DataSummary, ingest_demo_file

    made = {"ingested": 0, "analyses": 0}
    dataset = Dataset.objects.filter(slug=COUNTER_SLUG).first()
    if dataset is None:
        say("区役所窓口の来庁者数のカタログ項目がないため、分析のデモを省略します。")
        return made
    summary = DataSummary()
    ingest_demo_file(
        dataset=dataset,
        path=write_counter_log(Path(home) / "demo"),
        table_name=COUNTER_TABLE[0],
        title=COUNTER_TABLE[1],
        label="合成データを取り込んでいます",
        summary=summary,
        say=say,
    )
    ingest_demo_file(
        dataset=dataset,
        path=write_yearly(Path(home) / "demo"),
        table_name=YEARLY_TABLE[0],
        title=YEARLY_TABLE[1],
        label="合成データを取り込んでいます",
        summary=summary,
        say=say,
    )
    made["ingested"] = sum(summary.ingested.values())
    users = get_user_model().objects
    for username, title, slug, spec in ANALYSES:
        user = users.filter(username=username).first()
        dataset_slug, _, table_name = slug.partition(":")
        tables = Table.objects.filter(dataset__slug=dataset_slug)
        table = (tables.filter(name=table_name) if table_name else tables).order_by("pk").first()
        if user is None or table is None or Analysis.objects.filter(title=title, owner=user).exists():
            continue
        say(f"分析の例を作っています: {title} … ", end="")
        try:
            analysis_run(actor=actor_for(user), table=table, title=title, spec=spec)
        except MachidataError as exc:
            say(f"作れませんでした（{exc.message}）")
            continue
        made["analyses"] += 1
        say("完了")
    return made
