"""The pure spec function: snapshots per chart type (must fail on change), labels, palette, text alternative,
and every snapshot drawn by vl-convert (the Vega-Lite compiler is the schema check)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest

from machidata.charts.render import render
from machidata.charts.vegalite import (
    PALETTE,
    SpecError,
    grain_label,
    table_view,
    text_alternative,
    vegalite_spec,
)

SNAPSHOTS = Path(__file__).parent / "snapshots"
# Counts of ambulance dispatches by ward and fiscal year, written by hand for the tests.
WARD_FY = [
    {"区": w, "年度": fy, "件数": n}
    for (w, fy, n) in [
        ("中央区", 2022, 120), ("中央区", 2023, 130), ("東区", 2022, 90), ("東区", 2023, 95),
        ("西区", 2022, 60), ("西区", 2023, 58),
    ]
]  # fmt: skip
WARD_FY_COLS = [
    {"name": "区"},
    {"name": "年度", "kind": "integer", "grain": "fiscal_year"},
    {"name": "件数", "kind": "integer"},
]
WEEKDAY = [{"曜日": d, "件数": n} for d, n in [("日", 7), ("月", 1), ("土", 6), ("火", 2)]]
WEEKDAY_COLS = [{"name": "曜日", "grain": "weekday"}, {"name": "件数", "kind": "integer"}]
POINTS = [
    {"年齢": a, "所要時間": t, "区": w}
    for a, t, w in [(30, 8.5, "東区"), (75, 11.0, "西区"), (52, 9.25, "東区")]
]
POINT_COLS = [{"name": "年齢", "kind": "integer"}, {"name": "所要時間", "kind": "number"}, {"name": "区"}]
HOURS = [{"時": h, "曜日": d, "件数": h + 1} for h in (0, 23) for d in ("月", "日")]
HOURS_COLS = [
    {"name": "時", "kind": "integer", "grain": "hour"},
    {"name": "曜日", "grain": "weekday"},
    {"name": "件数", "kind": "integer"},
]
MONTHS = [{"月": dt.date(2024, m, 1), "件数": m * 10} for m in (3, 4, 5)]
MONTHS_COLS = [{"name": "月", "kind": "date", "grain": "month"}, {"name": "件数", "kind": "integer"}]

# A pivot's answer (件数 by 区 × 年度 with every grouping set), totals added by hand: 合計区分 bit 1 = 区
# totalled, bit 2 = 年度 totalled.
PIVOT_ROWS = [{**r, "合計区分": 0} for r in WARD_FY] + [
    {"区": w, "年度": None, "件数": n, "合計区分": 2} for w, n in [("中央区", 250), ("東区", 185), ("西区", 118)]
] + [{"区": None, "年度": fy, "件数": n, "合計区分": 1} for fy, n in [(2022, 270), (2023, 283)]] + [
    {"区": None, "年度": None, "件数": 553, "合計区分": 3}
]  # fmt: skip
PIVOT_COLS = [*WARD_FY_COLS, {"name": "合計区分", "kind": "integer"}]


def doc(kind: str, x: str | None, y: str | None, color: str | None = None, **options: Any) -> dict[str, Any]:
    return {
        "visual": {"type": kind, "x": x, "y": y, "color": color, "options": options},
        "meta": {"title": "救急出動件数", "source": "熊本市消防局（合成データ）"},
    }


CASES: dict[str, tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]] = {
    "bar_grouped": (doc("bar", "年度", "件数", "区", stack="grouped"), WARD_FY, WARD_FY_COLS),
    "bar_stacked": (doc("bar", "区", "件数", "年度", stack="stacked", sort="value_desc"), WARD_FY, WARD_FY_COLS),
    "bar_normalize_western": (doc("bar", "年度", "件数", "区", stack="normalize", era="western"), WARD_FY, WARD_FY_COLS),
    "bar_weekday_sunday": (doc("bar", "曜日", "件数", week_start="sunday"), WEEKDAY, WEEKDAY_COLS),
    "line_month": (doc("line", "月", "件数"), MONTHS, MONTHS_COLS),
    "area_stacked": (doc("area", "年度", "件数", "区"), WARD_FY, WARD_FY_COLS),
    "donut": (doc("pie", "区", "件数", donut=True, sort="value_desc"), WARD_FY[:2], WARD_FY_COLS),
    "scatter": (doc("scatter", "年齢", "所要時間", "区"), POINTS, POINT_COLS),
    "histogram": (doc("histogram", "所要時間", None, bins=10), POINTS, POINT_COLS),
    "heatmap": ({**doc("heatmap", "時", "曜日"), "visual": {"type": "heatmap", "x": "時", "y": "曜日", "value": "件数"}}, HOURS, HOURS_COLS),
    "number_previous": (doc("number", "年度", "件数", compare="previous"), [WARD_FY[0], WARD_FY[1]], WARD_FY_COLS),
    "number_target": (doc("number", None, "件数", compare="target", target=200), [WARD_FY[1]], WARD_FY_COLS),
    "table": (doc("table", "年度", "件数"), WARD_FY, WARD_FY_COLS),
    "pivot": ({**doc("pivot", None, "件数"), "visual": {"type": "pivot", "rows": ["区"], "columns": ["年度"], "y": "件数", "op": "count", "options": {}}}, PIVOT_ROWS, PIVOT_COLS),
    "bar_average_target": (doc("bar", "区", "件数", average=True, target=100), WARD_FY[::2], WARD_FY_COLS),
    "bar_horizontal_target": (doc("bar", "区", "件数", horizontal=True, target=80), WARD_FY[::2], WARD_FY_COLS),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_spec_matches_its_snapshot(name: str) -> None:
    document, rows, cols = CASES[name]
    spec = vegalite_spec(document, rows, cols)
    text = json.dumps(spec, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    path = SNAPSHOTS / f"{name}.json"
    if not path.exists() or os.environ.get("MACHIDATA_UPDATE_SNAPSHOTS") == "1":
        path.write_text(text, encoding="utf-8")
        pytest.fail(f"snapshot {path.name} written; review it and run again")
    assert text == path.read_text(encoding="utf-8"), (
        f"spec of {name} changed (MACHIDATA_UPDATE_SNAPSHOTS=1 to accept)"
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_snapshot_compiles_and_draws(name: str) -> None:
    spec = json.loads((SNAPSHOTS / f"{name}.json").read_text(encoding="utf-8"))
    svg = render(spec, "svg").decode()
    assert (svg.startswith("<svg") and "<path" in svg) or "<text" in svg
    assert "data" in spec
    assert "url" not in json.dumps(spec["data"])


def test_fiscal_year_labels_follow_time_not_text() -> None:
    rows = [{"年度": 2019, "件数": 1}, {"年度": 2018, "件数": 2}, {"年度": 2024, "件数": 3}]
    spec = vegalite_spec(doc("bar", "年度", "件数"), rows, WARD_FY_COLS)
    assert spec["encoding"]["x"]["sort"] == ["平成30年度", "令和元年度", "令和6年度"]
    assert [r["年度"] for r in spec["data"]["values"]] == ["令和元年度", "平成30年度", "令和6年度"]
    western = vegalite_spec(doc("bar", "年度", "件数", era="western"), rows, WARD_FY_COLS)
    assert western["encoding"]["x"]["sort"] == ["2018年度", "2019年度", "2024年度"]


def test_weekday_order_monday_or_sunday_first() -> None:
    monday = vegalite_spec(doc("bar", "曜日", "件数"), WEEKDAY, WEEKDAY_COLS)
    assert monday["encoding"]["x"]["sort"] == ["月", "火", "土", "日"]
    sunday = vegalite_spec(doc("bar", "曜日", "件数", week_start="sunday"), WEEKDAY, WEEKDAY_COLS)
    assert sunday["encoding"]["x"]["sort"] == ["日", "月", "火", "土"]


def test_grain_labels() -> None:
    assert grain_label(dt.date(2019, 5, 1), "month") == "令和元年5月"
    assert grain_label(dt.date(2019, 4, 1), "month") == "平成31年4月"
    assert grain_label(dt.date(2024, 4, 1), "quarter", wareki=False) == "2024年4〜6月"
    assert grain_label(23, "hour") == "23時"
    assert grain_label(None, "fiscal_year") == "（空欄）"


def test_palette_is_okabe_ito_and_applies_to_single_series() -> None:
    spec = vegalite_spec(doc("bar", "区", "件数"), WARD_FY, WARD_FY_COLS)
    assert spec["config"]["range"]["category"] == list(PALETTE)
    assert spec["config"]["mark"]["color"] == "#0072B2"


def test_text_alternative_names_largest_and_smallest() -> None:
    spec = vegalite_spec(doc("bar", "区", "件数", "年度"), WARD_FY, WARD_FY_COLS)
    assert "区ごとの件数を年度別に示す" in spec["description"]
    assert "最大は中央区・令和5年度の130" in spec["description"]
    assert "最小は西区・令和5年度の58" in spec["description"]
    alt = text_alternative(doc("number", None, "件数"), [{"件数": 1234}])
    assert "件数は1,234" in alt


def test_every_chart_type_has_a_description() -> None:
    for name, (document, rows, cols) in CASES.items():
        assert vegalite_spec(document, rows, cols)["description"].startswith("救急出動件数（"), name


def test_missing_or_wrong_columns_are_refused_in_japanese() -> None:
    with pytest.raises(SpecError, match="「値」の項目「人数」が集計結果にありません"):
        vegalite_spec(doc("bar", "区", "人数"), WARD_FY, WARD_FY_COLS)
    with pytest.raises(SpecError, match="数値ではない"):
        vegalite_spec(doc("bar", "年度", "区"), WARD_FY, WARD_FY_COLS)
    with pytest.raises(SpecError, match="種類"):
        vegalite_spec(doc("radar", "区", "件数"), WARD_FY, WARD_FY_COLS)


def test_table_view_labels_and_formats() -> None:
    headers, body = table_view(WARD_FY[:1], WARD_FY_COLS)
    assert headers == ["区", "年度", "件数"]
    assert body == [["中央区", "令和4年度", "120"]]


def test_reference_lines() -> None:
    spec = vegalite_spec(doc("bar", "区", "件数", average=True, target=100), WARD_FY[::2], WARD_FY_COLS)
    rules = [layer for layer in spec["layer"] if layer["mark"]["type"] == "rule"]
    assert rules[0]["encoding"]["y"] == {"aggregate": "mean", "field": "件数", "type": "quantitative"}
    assert rules[1]["encoding"]["y"] == {"datum": 100}
    assert "目標は100。" in spec["description"]
    # no average across stacked series (the mean of the rows would not be the mean of the stacks)
    stacked = vegalite_spec(doc("bar", "区", "件数", "年度", average=True), WARD_FY, WARD_FY_COLS)
    assert "layer" not in stacked
