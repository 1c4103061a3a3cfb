"""Demo charts over the real 飲食店営業許可一覧 (Kumamoto City open data, CC BY 4.0), shared with all staff.

Called by ``demo.services.load_demo_data`` after the files are ingested; a chart that already exists
(same owner and title) is left alone, so a second load writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from django.contrib.auth import get_user_model

from machidata.access.policy import actor_for
from machidata.catalog.models import Table
from machidata.charts.models import Chart, Dashboard, Sharing
from machidata.charts.services import chart_create, dashboard_add_chart, dashboard_add_text, dashboard_create
from machidata.core.errors import MachidataError

PERMITS_SLUG: Final = "kumamoto-restaurant-permits"
OWNER: Final = "admin"  # the demo's データ戦略課 account
BY_YEAR: Final = "飲食店営業許可の件数（許可日の年度別）"
TOP_KINDS: Final = "業種別の飲食店営業許可（上位10）"
PIVOT: Final = "業種と年度の飲食店営業許可（ピボット表）"
SOURCE: Final = "熊本市オープンデータ「飲食店営業許可一覧」（熊本市, CC BY 4.0）"


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


def load_charts_demo(*, say: Callable[..., None] = lambda *a, **k: None) -> int:
    """Create the demo charts that do not exist yet; returns how many were created."""
    owner = get_user_model().objects.filter(username=OWNER).first()
    table = (
        Table.objects.filter(dataset__slug=PERMITS_SLUG, current_version__isnull=False)
        .select_related("dataset")
        .first()
    )
    if owner is None or table is None:
        say("グラフのデモ: 飲食店営業許可一覧の表がないため省略します。")
        return 0
    actor = actor_for(owner)
    created = 0
    for item in demo_charts(table):
        if Chart.objects.filter(owner=owner, title=item["title"]).exists():
            continue
        try:
            chart_create(actor=actor, title=item["title"], document=item["document"], description=item["description"],
                         source=SOURCE, sharing=Sharing.STAFF)  # fmt: skip
        except MachidataError as exc:
            say(f"グラフのデモ「{item['title']}」を作れませんでした: {exc.message}")
            continue
        created += 1
    created += _demo_dashboard(actor, owner)
    say(f"グラフのデモ: {created}件作成しました。")
    return created


DASHBOARD_TITLE: Final = "飲食店営業許可の概況（デモ）"


def _demo_dashboard(actor: Any, owner: Any) -> int:
    """A dashboard with the demo charts and a note, filterable by 許可日; created once."""
    if Dashboard.objects.filter(owner=owner, title=DASHBOARD_TITLE).exists():
        return 0
    charts = list(Chart.objects.filter(owner=owner, title__in=[BY_YEAR, TOP_KINDS]).order_by("id"))
    board = dashboard_create(actor=actor, title=DASHBOARD_TITLE, sharing=Sharing.STAFF,
                             description="熊本市オープンデータ「飲食店営業許可一覧」から作ったデモのダッシュボードです。",
                             filters=[{"column": "許可日", "kind": "date_range"}, {"column": "業種", "kind": "value"}])  # fmt: skip
    board = dashboard_add_text(actor=actor, dashboard=board, lock_version=board.lock_version,
                               text="許可日の期間や業種で絞り込むと、すべてのグラフに反映されます。")  # fmt: skip
    for chart in charts:
        board = dashboard_add_chart(actor=actor, dashboard=board, lock_version=board.lock_version,
                                    chart_uuid=str(chart.uuid), width=6)  # fmt: skip
    return 1
