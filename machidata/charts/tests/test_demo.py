"""Demo charts over the real 飲食店営業許可一覧: created once, counts checked against the CSV itself."""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from machidata.access.policy import actor_for
from machidata.charts.demo import load_charts_demo
from machidata.charts.models import Chart, Dashboard
from machidata.charts.selectors import chart_render
from machidata.demo.services import SHARED_REAL, load_demo, load_demo_data

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the lake commits outside any transaction
    pytest.mark.skipif(not SHARED_REAL.is_dir(), reason=f"no shared data folder at {SHARED_REAL}"),
]
PERMITS = "431001_kumamoto_inshokuten_eigyo_kyoka.csv"


def _fiscal_years_from_the_csv() -> Counter[int]:
    counts: Counter[int] = Counter()
    with (SHARED_REAL / PERMITS).open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            m = re.fullmatch(r"(\d{4})年(\d{2})月(\d{2})日", (row["許可日"] or "").strip())
            if m:
                d = dt.date(int(m[1]), int(m[2]), int(m[3]))
                counts[d.year if d.month >= 4 else d.year - 1] += 1
    return counts


def test_demo_charts_are_created_once_and_count_right(settings: Any, tmp_path: Path) -> None:
    settings.MACHIDATA_HOME = tmp_path / "home"
    load_demo(home=settings.MACHIDATA_HOME)
    load_demo_data(home=settings.MACHIDATA_HOME, files=[PERMITS], ambulance=False, system=False)
    assert Chart.objects.count() == 4
    board = Dashboard.objects.get(title="飲食店営業許可の概況（デモ）")
    assert [i["kind"] for i in board.items] == ["text", "chart", "chart", "chart"]
    # Without the synthetic tables only the KPI placeholder board is made beside it.
    assert set(Dashboard.objects.values_list("title", flat=True)) == {board.title, "データ戦略のKPI（デモ）"}
    assert load_charts_demo() == 0
    assert Chart.objects.count() == 4
    chart = Chart.objects.get(title="飲食店営業許可の件数（許可日の年度別）")
    staff = actor_for(
        chart.owner.__class__.objects.get(username="staff")
    )  # 警防課: sees it (庁内 sharing, public data)
    rendered = chart_render(actor=staff, chart=chart)
    expected = _fiscal_years_from_the_csv()
    got = {r["許可日（年度）"]: r["件数"] for r in rendered.data.rows if r["許可日（年度）"] is not None}
    assert sum(expected.values()) > 8000
    assert got == dict(expected)
    assert rendered.spec["encoding"]["x"]["sort"][-1].endswith("年度")


def test_demo_pivot_totals_match_the_csv(settings: Any, tmp_path: Path) -> None:
    settings.MACHIDATA_HOME = tmp_path / "home"
    load_demo(home=settings.MACHIDATA_HOME)
    load_demo_data(home=settings.MACHIDATA_HOME, files=[PERMITS], ambulance=False, system=False)
    chart = Chart.objects.get(title="業種と年度の飲食店営業許可（ピボット表）")
    owner = actor_for(chart.owner)
    pivot = chart_render(actor=owner, chart=chart).pivot
    assert pivot is not None
    expected = {y: n for y, n in _fiscal_years_from_the_csv().items() if y >= 2019}
    total_line = len(pivot.rows) - 1
    got = {pivot.cols[j].key[0]: pivot.values.get((total_line, j)) for j in range(len(pivot.cols) - 1)}
    assert got == expected
    assert pivot.grand_total in (None, sum(expected.values()))


def test_a_board_made_before_a_new_demo_chart_gets_it_once(settings: Any, tmp_path: Path) -> None:
    settings.MACHIDATA_HOME = tmp_path / "home"
    load_demo(home=settings.MACHIDATA_HOME)
    load_demo_data(home=settings.MACHIDATA_HOME, files=[PERMITS], ambulance=False, system=False)
    board = Dashboard.objects.get(title="飲食店営業許可の概況（デモ）")
    monthly = Chart.objects.get(title__startswith="飲食店営業許可の件数（許可日の月別")
    board.items = [i for i in board.items if i.get("chart") != str(monthly.uuid)]  # as an older demo left it
    board.save(update_fields=["items"])
    monthly.delete()
    assert load_charts_demo() == 1  # the chart, added to the existing board
    board.refresh_from_db()
    assert [i["kind"] for i in board.items] == ["text", "chart", "chart", "chart"]
    assert load_charts_demo() == 0
    board.refresh_from_db()
    assert len(board.items) == 4


def test_kpi_placeholder_links_to_the_ebpm_board(settings: Any, tmp_path: Path, client: Any) -> None:
    settings.MACHIDATA_HOME = tmp_path / "home"
    load_demo(home=settings.MACHIDATA_HOME)
    load_charts_demo()
    board = Dashboard.objects.get(title="データ戦略のKPI（デモ）")
    client.force_login(board.owner)
    page = client.get(f"/charts/dashboards/{board.uuid}/").content.decode()
    assert '<a href="/ebpm/strategy/">/ebpm/strategy/</a>' in page
    assert client.get("/ebpm/strategy/").status_code == 200
