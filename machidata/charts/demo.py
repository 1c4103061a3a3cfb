"""Demo charts and dashboards over the demo data, shared with all staff.

* 飲食店営業許可一覧 (real, Kumamoto City open data, CC BY 4.0): by fiscal year, by month, top 業種, a pivot.
* 救急出動記録 (synthetic): hour × ward heatmap and counts by fiscal year.
* 区別・年齢階級別人口 (synthetic, written here once into the catalog entry 町丁別・年齢別人口).
* 歩行者通行量と天気 (synthetic, the prep room's counter × weather recipe): per-day averages by weekday and weather.
* A placeholder board for the data strategy's KPIs, pointing to the EBPM KPI board (/ebpm/strategy/).

Called by ``demo.services.load_demo_data`` after the files are ingested and the prep recipes ran; a chart or
dashboard that already exists (same owner and title) is left alone (a listed chart missing from an existing
board is added), so a second load writes nothing. Boards whose table is missing are skipped with a message.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from django.contrib.auth import get_user_model
from django.db import transaction

from machidata.access.policy import actor_for
from machidata.catalog.models import Dataset, Table
from machidata.charts.models import Chart, Dashboard, Sharing
from machidata.charts.services import chart_create, dashboard_add_chart, dashboard_add_text, dashboard_create
from machidata.core.errors import MachidataError

PERMITS_SLUG: Final = "kumamoto-restaurant-permits"
OWNER: Final = "admin"  # the demo's データ戦略課 account
BY_YEAR: Final = "飲食店営業許可の件数（許可日の年度別）"
BY_MONTH: Final = "飲食店営業許可の件数（許可日の月別、令和元年度から）"
TOP_KINDS: Final = "業種別の飲食店営業許可（上位10）"
PIVOT: Final = "業種と年度の飲食店営業許可（ピボット表）"
SOURCE: Final = "熊本市オープンデータ「飲食店営業許可一覧」（熊本市, CC BY 4.0）"
SYNTHETIC_SOURCE: Final = "デモ用の合成データ（実際の記録ではありません）"


def _query(table: Table, **query: Any) -> dict[str, Any]:
    return {
        "table": {"dataset": table.dataset.slug, "name": table.name, "version": None},
        "filters": [],
        **query,
    }


def demo_charts(table: Table) -> list[dict[str, Any]]:
    """The demo charts: permits by fiscal year of 許可日, and the ten most common 業種."""
    return [
        {
            "title": BY_YEAR,
            "description": "許可日を4月始まりの年度にまとめた件数です。",
            "document": {
                "query": _query(
                    table,
                    group_by=[{"column": "許可日", "grain": "fiscal_year", "as": "許可日（年度）"}],
                    measures=[{"op": "count", "as": "件数"}],
                ),
                "visual": {
                    "type": "bar",
                    "x": "許可日（年度）",
                    "y": "件数",
                    "color": None,
                    "options": {"era": "wareki", "sort": "key"},
                },
            },
        },
        {
            "title": BY_MONTH,
            "description": "許可日を月ごとにまとめた件数の移り変わりです（2019年4月以降）。",
            "document": {
                "query": _query(
                    table,
                    filters=[{"column": "許可日", "op": "ge", "value": "2019-04-01"}],
                    group_by=[{"column": "許可日", "grain": "month", "as": "許可日（月）"}],
                    measures=[{"op": "count", "as": "件数"}],
                ),
                "visual": {
                    "type": "line",
                    "x": "許可日（月）",
                    "y": "件数",
                    "color": None,
                    "options": {"era": "wareki"},
                },
            },
        },
        {
            "title": TOP_KINDS,
            "description": "業種ごとの許可の件数が多い順に10業種を示します。",
            "document": {
                "query": _query(
                    table,
                    group_by=[{"column": "業種", "as": "業種"}],
                    measures=[{"op": "count", "as": "件数"}],
                    top_n={"n": 10, "by": "件数"},
                ),
                "visual": {
                    "type": "bar",
                    "x": "業種",
                    "y": "件数",
                    "color": None,
                    "options": {"horizontal": True, "sort": "value_desc"},
                },
            },
        },
        {
            "title": PIVOT,
            "description": "業種（行）と許可日の年度（列）ごとの件数です。最後の行と列が合計です。",
            "document": {
                "query": _query(
                    table,
                    filters=[{"column": "許可日", "op": "ge", "value": "2019-04-01"}],
                    group_by=[
                        {"column": "業種", "as": "業種"},
                        {"column": "許可日", "grain": "fiscal_year", "as": "許可日（年度）"},
                    ],
                    measures=[{"op": "count", "as": "件数"}],
                    totals={"rows": 1, "as": "合計区分"},
                ),
                "visual": {
                    "type": "pivot",
                    "rows": ["業種"],
                    "columns": ["許可日（年度）"],
                    "y": "件数",
                    "op": "count",
                    "options": {"era": "wareki"},
                },
            },
        },
    ]


# ---- synthetic demo tables: 救急出動記録, 区別・年齢階級別人口, 歩行者通行量と天気 ---------------------------------

AMBULANCE: Final = ("ambulance-dispatch-records", "dispatches")
POPULATION: Final = ("population-by-town-age", "ward_age")
COUNTER_WEATHER: Final = ("pedestrian-counter-with-weather", "daily")
AMBULANCE_OWNER: Final = "steward-kyukyu"  # the prep demo's 救急課 データ所有者 account
AMB_HEAT: Final = "救急出動の件数（時間帯×区、合成データ）"
AMB_YEAR: Final = "救急出動の件数（年度別・区別、合成データ）"
POP_BARS: Final = "区別・年齢階級別の人口（合成データ）"
POP_PIVOT: Final = "区と年齢階級の人口（ピボット表、合成データ）"
CNT_WEEKDAY: Final = "曜日・天気別の1日平均の歩行者通行量（合成データ）"
CNT_DAYS: Final = "天気別の日数（合成データ）"
# (区, 人口) as the prep room's synthetic ward population, and each age band's share (synthetic, rounded).
WARD_TOTALS: Final = (
    ("中央区", 186_000),
    ("東区", 191_000),
    ("西区", 93_000),
    ("南区", 127_000),
    ("北区", 142_000),
)
AGE_BANDS: Final = ("0〜14歳", "15〜64歳", "65〜74歳", "75歳以上")
AGE_SHARES: Final = {
    "中央区": (0.12, 0.64, 0.12, 0.12),
    "東区": (0.14, 0.59, 0.14, 0.13),
    "西区": (0.12, 0.55, 0.16, 0.17),
    "南区": (0.14, 0.56, 0.15, 0.15),
    "北区": (0.14, 0.57, 0.15, 0.14),
}


def ward_age_rows() -> list[dict[str, Any]]:
    """The synthetic 区 × 年齢階級 population (rounded to 10; each ward sums to about its synthetic total)."""
    return [
        {"区": ward, "年齢階級": band, "人口": round(total * share, -1)}
        for ward, total in WARD_TOTALS
        for band, share in zip(AGE_BANDS, AGE_SHARES[ward], strict=True)
    ]


def _population_table() -> Table | None:
    """The synthetic ward × age-band table in the catalog entry 町丁別・年齢別人口 (合成), written once."""
    import pyarrow as pa

    from machidata.lake.protocol import write_version

    dataset = Dataset.objects.filter(slug=POPULATION[0]).first()
    if dataset is None:
        return None
    schema = pa.schema([("区", pa.string()), ("年齢階級", pa.string()), ("人口", pa.int64())])
    with transaction.atomic():
        table = Table.objects.filter(dataset=dataset, name=POPULATION[1]).first()
        if table is None:
            table = Table.objects.create(
                dataset=dataset, name=POPULATION[1], title="区別・年齢階級別人口（デモ用の合成値）",
                storage_key=uuid.uuid4().hex,
                description="熊本市の5区の年齢階級別人口を模した合成データです。公式の統計ではありません。",
            )  # fmt: skip
    if table.current_version_id is None:
        rows = [{**r, "人口": int(r["人口"])} for r in ward_age_rows()]
        write_version(table=table, batches=[pa.RecordBatch.from_pylist(rows, schema=schema)], schema=schema,
                      mode="replace", job_id=f"demo-charts-{uuid.uuid4().hex[:8]}",
                      source_name="区別・年齢階級別人口（合成）", note="デモ用の合成データ")  # fmt: skip
        table.refresh_from_db()
    return table


def _table(slug: str, name: str) -> Table | None:
    return (
        Table.objects.filter(dataset__slug=slug, name=name, current_version__isnull=False)
        .select_related("dataset")
        .first()
    )


def _chart(
    table: Table, title: str, description: str, visual: dict[str, Any], **query: Any
) -> dict[str, Any]:
    return {
        "title": title,
        "description": description,
        "document": {"query": _query(table, **query), "visual": visual},
    }


def _count(alias: str = "件数") -> list[dict[str, Any]]:
    return [{"op": "count", "as": alias}]


@dataclass
class Board:
    """A demo dashboard: its charts (made first), a note and shared filters."""

    title: str
    description: str
    note: str
    filters: list[dict[str, str]]
    charts: list[dict[str, Any]] = field(default_factory=list)
    source: str = SYNTHETIC_SOURCE
    width: int = 6
    owner: str = OWNER  # the account that makes it: it must be able to read the tables
    sharing: str = Sharing.STAFF


def ambulance_board(table: Table) -> Board:
    """Dispatches by hour × ward (heatmap) and by fiscal year and ward; the table is 機密 (personal data), so the
    board is the 救急課 data owner's, shared within 救急課."""
    return Board(
        owner=AMBULANCE_OWNER,
        sharing=Sharing.DEPARTMENT,
        title="救急出動の概況（合成データ、デモ）",
        description="合成データの救急出動記録（令和4〜6年度）から作ったデモのダッシュボードです。実際の記録ではありません。",
        note="区や年度で絞り込むと、両方のグラフに反映されます。時間帯は覚知日時の時（0〜23時）です。",
        filters=[{"column": "区", "kind": "value"}, {"column": "覚知日時", "kind": "fiscal_year"}],
        charts=[
            _chart(table, AMB_HEAT, "覚知日時の時間帯（0〜23時）と区ごとの出動件数です。色が濃いほど多い時間帯です。",
                   {"type": "heatmap", "x": "時間帯", "y": "区", "value": "件数", "options": {}},
                   group_by=[{"column": "覚知日時", "grain": "hour", "as": "時間帯"}, {"column": "区", "as": "区"}],
                   measures=_count()),
            _chart(table, AMB_YEAR, "覚知日時を4月始まりの年度にまとめ、区ごとに積み上げた出動件数です。",
                   {"type": "bar", "x": "年度", "y": "件数", "color": "区", "options": {"era": "wareki", "sort": "key"}},
                   group_by=[{"column": "覚知日時", "grain": "fiscal_year", "as": "年度"}, {"column": "区", "as": "区"}],
                   measures=_count()),
        ],
    )  # fmt: skip


def population_board(table: Table) -> Board:
    """Population by ward and age band: stacked bars and a pivot with totals."""
    people = [{"op": "sum", "column": "人口", "as": "人口"}]
    return Board(
        title="区別・年齢階級別の人口（合成データ、デモ）",
        description="熊本市の5区の年齢階級別人口を模した合成データから作ったデモのダッシュボードです。公式の統計ではありません。",
        note="区で絞り込むと、両方のグラフに反映されます。",
        filters=[{"column": "区", "kind": "value"}],
        charts=[
            _chart(table, POP_BARS, "区ごとの人口を年齢階級別に積み上げています。",
                   {"type": "bar", "x": "区", "y": "人口", "color": "年齢階級", "options": {"sort": "key"}},
                   group_by=[{"column": "区", "as": "区"}, {"column": "年齢階級", "as": "年齢階級"}], measures=people),
            _chart(table, POP_PIVOT, "区（行）と年齢階級（列）ごとの人口です。最後の行と列が合計です。",
                   {"type": "pivot", "rows": ["区"], "columns": ["年齢階級"], "y": "人口", "op": "sum", "options": {}},
                   group_by=[{"column": "区", "as": "区"}, {"column": "年齢階級", "as": "年齢階級"}], measures=people,
                   totals={"rows": 1, "as": "合計区分"}),
        ],
    )  # fmt: skip


def counter_board(table: Table) -> Board:
    """The counter × weather table: per-day averages by weekday and weather, and how many days of each weather."""
    return Board(
        title="歩行者通行量と天気（合成データ、デモ）",
        description="合成データの歩行者通行量（下通、日別）に合成データの天気を結合した表（加工の手順で作成）から作ったデモです。",
        note="1日平均は、その曜日・天気に当たる日の通行量の平均です。天気は降水量1mm以上を「雨」としています。",
        filters=[{"column": "天気", "kind": "value"}, {"column": "日付", "kind": "date_range"}],
        charts=[
            _chart(table, CNT_WEEKDAY, "曜日ごとに、雨の日と雨なしの日の1日平均の通行量を並べています。",
                   {"type": "bar", "x": "曜日", "y": "1日平均の通行量", "color": "天気",
                    "options": {"stack": "grouped", "sort": "key"}},
                   group_by=[{"column": "日付", "grain": "weekday", "as": "曜日"}, {"column": "天気", "as": "天気"}],
                   measures=[{"op": "avg", "column": "通行量", "as": "1日平均の通行量"}]),
            _chart(table, CNT_DAYS, "平均のもとになった日数です（日数が少ない組み合わせの平均はぶれやすくなります）。",
                   {"type": "bar", "x": "天気", "y": "日数", "color": None, "options": {}},
                   group_by=[{"column": "天気", "as": "天気"}], measures=_count("日数")),
        ],
    )  # fmt: skip


KPI_BOARD: Final = Board(
    title="データ戦略のKPI（デモ）",
    description="データ活用推進の検証指標（KPI）を並べるためのダッシュボードの置き場所です。",
    note=(
        "データ戦略の検証指標（KPI）は、EBPMの「KPIボード」（/ebpm/strategy/）で年度ごとの目標と実績を確認できます。\n"
        "このダッシュボードには、KPIの元データが表として登録されたら、そのグラフを追加していく予定です。"
    ),
    filters=[],
    source="",
)


def demo_boards() -> list[tuple[str, Board | None]]:
    """Each demo board with the name of its data (None when that table is not loaded)."""
    amb = _table(*AMBULANCE)
    pop = _population_table() if amb is not None else None  # only with the full (synthetic) demo
    cnt = _table(*COUNTER_WEATHER)
    return [
        ("救急出動記録", ambulance_board(amb) if amb else None),
        ("区別・年齢階級別人口", population_board(pop) if pop else None),
        ("歩行者通行量と天気", counter_board(cnt) if cnt else None),
        ("データ戦略のKPI", KPI_BOARD),
    ]


def load_charts_demo(*, say: Callable[..., None] = lambda *a, **k: None) -> int:
    """Create the demo charts and dashboards that do not exist yet; returns how many were created."""
    boards: list[tuple[str, Board | None]] = []
    permits = _permits_table()
    if permits is not None:
        boards.append(("飲食店営業許可一覧", Board(
            title=DASHBOARD_TITLE, description="熊本市オープンデータ「飲食店営業許可一覧」から作ったデモのダッシュボードです。",
            note="許可日の期間や業種で絞り込むと、すべてのグラフに反映されます。",
            filters=[{"column": "許可日", "kind": "date_range"}, {"column": "業種", "kind": "value"}],
            charts=demo_charts(permits), source=SOURCE)))  # fmt: skip
    else:
        boards.append(("飲食店営業許可一覧", None))
    boards += demo_boards()
    users = get_user_model().objects
    created = 0
    for name, board in boards:
        owner = users.filter(username=board.owner).first() if board is not None else None
        if board is None or owner is None:
            say(
                f"グラフのデモ: {name}の表（または作成者のアカウント）がないため、そのダッシュボードを省略します。"
            )
            continue
        on_board = {BY_YEAR, BY_MONTH, TOP_KINDS} if board.title == DASHBOARD_TITLE else None
        created += _make_board(actor_for(owner), owner, board, on_board=on_board, say=say)
    say(f"グラフのデモ: {created}件作成しました。")
    return created


def _permits_table() -> Table | None:
    return (
        Table.objects.filter(dataset__slug=PERMITS_SLUG, current_version__isnull=False)
        .select_related("dataset")
        .first()
    )


DASHBOARD_TITLE: Final = "飲食店営業許可の概況（デモ）"


def _make_board(
    actor: Any, owner: Any, board: Board, *, on_board: set[str] | None, say: Callable[..., None]
) -> int:
    """Make the board's missing charts, then the board (once); add listed charts an existing board lacks."""
    created = 0
    for item in board.charts:
        if Chart.objects.filter(owner=owner, title=item["title"]).exists():
            continue
        try:
            chart_create(actor=actor, title=item["title"], document=item["document"], description=item["description"],
                         source=board.source, sharing=board.sharing)  # fmt: skip
        except MachidataError as exc:
            say(f"グラフのデモ「{item['title']}」を作れませんでした: {exc.message}")
            continue
        created += 1
    titles = [i["title"] for i in board.charts if on_board is None or i["title"] in on_board]
    by_title = {c.title: c for c in Chart.objects.filter(owner=owner, title__in=titles)}
    dashboard = Dashboard.objects.filter(owner=owner, title=board.title).first()
    if dashboard is None:
        dashboard = dashboard_create(actor=actor, title=board.title, description=board.description,
                                     sharing=board.sharing, filters=board.filters)  # fmt: skip
        dashboard = dashboard_add_text(actor=actor, dashboard=dashboard, lock_version=dashboard.lock_version,
                                       text=board.note)  # fmt: skip
        created += 1
    shown = {str(i.get("chart")) for i in dashboard.items if i.get("kind") == "chart"}
    for title in titles:
        chart = by_title.get(title)
        if chart is not None and str(chart.uuid) not in shown:
            dashboard = dashboard_add_chart(actor=actor, dashboard=dashboard, lock_version=dashboard.lock_version,
                                            chart_uuid=str(chart.uuid), width=board.width)  # fmt: skip
    return created
