"""The demo dashboards over the synthetic tables: every chart yields rows through the dashboard's own path, values
checked against plain computations on the source rows (the generated Parquet file, the prep room's generators)."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from machidata.access.policy import actor_for
from machidata.charts.demo import load_charts_demo
from machidata.charts.models import Chart, Dashboard
from machidata.charts.selectors import dashboard_render
from machidata.demo.ambulance import FILE_NAME
from machidata.demo.services import SHARED_REAL, load_demo, load_demo_data
from machidata.prep.demo import synthetic_counter, synthetic_weather

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the lake commits outside any transaction
    pytest.mark.skipif(not SHARED_REAL.is_dir(), reason=f"no shared data folder at {SHARED_REAL}"),
]
PERMITS = "431001_kumamoto_inshokuten_eigyo_kyoka.csv"
WEEKDAYS = "月火水木金土日"
BOARDS = {
    "飲食店営業許可の概況（デモ）": 3,
    "救急出動の概況（合成データ、デモ）": 2,
    "区別・年齢階級別の人口（合成データ、デモ）": 2,
    "歩行者通行量と天気（合成データ、デモ）": 2,
    "データ戦略のKPI（デモ）": 0,
}


@pytest.fixture
def demo_home(settings: Any, tmp_path: Path) -> Path:
    settings.MACHIDATA_HOME = tmp_path / "home"
    load_demo(home=settings.MACHIDATA_HOME)
    load_demo_data(home=settings.MACHIDATA_HOME, files=[PERMITS], ambulance=True, system=False)
    return Path(settings.MACHIDATA_HOME)


def _rows(panels: list[Any], title: str) -> list[dict[str, Any]]:
    (panel,) = [p for p in panels if p.chart is not None and p.chart.title == title]
    assert panel.rendered is not None, panel.error
    return list(panel.rendered.data.rows)


def test_every_demo_board_renders_with_values_from_the_source_rows(demo_home: Path, client: Any) -> None:
    boards = {b.title: b for b in Dashboard.objects.all()}
    assert set(boards) == set(BOARDS)
    rendered = {}
    for title, charts in BOARDS.items():
        panels = dashboard_render(actor=actor_for(boards[title].owner), dashboard=boards[title])
        drawn = [p for p in panels if p.kind != "text"]
        assert len(drawn) == charts, title
        for p in drawn:
            assert p.rendered is not None, (title, p.error)
            assert len(p.rendered.data.rows) > 0, p.chart
            assert (p.chart.description + p.chart.title + p.chart.source).count("合成") or "飲食店" in title
        rendered[title] = panels
    for board in boards.values():
        client.force_login(board.owner)
        page = client.get(f"/charts/dashboards/{board.uuid}/")
        assert page.status_code == 200
        assert "このグラフは表示できません" not in page.content.decode()

    # The 救急 board is the 救急課 data owner's (a 機密 table), shared within 救急課 only.
    assert boards["救急出動の概況（合成データ、デモ）"].owner.username == "steward-kyukyu"
    assert boards["救急出動の概況（合成データ、デモ）"].sharing == "department"

    # 救急: hour × ward counts against the generated Parquet file read with pyarrow.
    source = pq.read_table(demo_home / "demo" / FILE_NAME, columns=["覚知日時", "区"]).to_pylist()
    expected = Counter((r["覚知日時"].hour, r["区"]) for r in source)
    heat = _rows(rendered["救急出動の概況（合成データ、デモ）"], "救急出動の件数（時間帯×区、合成データ）")
    assert len(source) > 10_000
    assert {(r["時間帯"], r["区"]): r["件数"] for r in heat} == dict(expected)
    by_year = Counter((r["覚知日時"].year - (r["覚知日時"].month < 4), r["区"]) for r in source)
    years = _rows(
        rendered["救急出動の概況（合成データ、デモ）"], "救急出動の件数（年度別・区別、合成データ）"
    )
    assert {(r["年度"], r["区"]): r["件数"] for r in years} == dict(by_year)

    # 通行量 × 天気: per-day averages by weekday and weather from the prep room's generators (rain: 1 mm or more).
    weather = synthetic_weather()
    rain = {w["日付"]: ("雨" if w["降水量（mm）"] >= 1 else "雨なし") for w in weather}
    days: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
    for r in synthetic_counter(weather):
        day: dt.date = r["日付"]
        days[(WEEKDAYS[day.weekday()], rain[day])].append(r["通行量"])
    panels = rendered["歩行者通行量と天気（合成データ、デモ）"]
    got = {
        (r["曜日"], r["天気"]): r["1日平均の通行量"]
        for r in _rows(panels, "曜日・天気別の1日平均の歩行者通行量（合成データ）")
    }
    assert got.keys() == days.keys()
    for key, counts in days.items():
        assert got[key] == pytest.approx(statistics.fmean(counts))
    assert {r["天気"]: r["日数"] for r in _rows(panels, "天気別の日数（合成データ）")} == dict(
        Counter(rain.values())
    )

    # 人口: each ward's total is the sum of its age bands (the pivot's total column).
    bars = _rows(
        rendered["区別・年齢階級別の人口（合成データ、デモ）"], "区別・年齢階級別の人口（合成データ）"
    )
    totals: Counter[str] = Counter()
    for r in bars:
        totals[r["区"]] += r["人口"]
    assert len(bars) == 20
    assert sum(totals.values()) == pytest.approx(739_000, rel=0.01)

    # Loading again adds nothing.
    before = (Chart.objects.count(), Dashboard.objects.count())
    assert load_charts_demo() == 0
    assert (Chart.objects.count(), Dashboard.objects.count()) == before
