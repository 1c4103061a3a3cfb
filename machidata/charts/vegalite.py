"""The pure function from a chart document and its result rows to a Vega-Lite 5 spec (inline data only).

No Django, no I/O: ``vegalite_spec(document, rows, columns)`` gives the same dict for the same input,
so specs are snapshot-tested. The rows are the query's answer (one row per group for aggregated
charts, plain rows for scatter plots and histograms); ``columns`` describes each output column:
its kind (string, integer, number, date, datetime, ...) and, for a time bucket, its grain.

Japanese labels are made here, in Python, with :mod:`machidata.jp` — 令和N年度 (or 2024年度) for
fiscal years, 令和6年4月 for months, 月〜日 or 日〜土 for weekdays — so the browser, the PNG/SVG/PDF
exports and the data table all show the same words, and no label depends on a time zone.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from machidata.charts.maps import ATTRIBUTION, for_vega, ward_features, ward_name
from machidata.engine.mesh import MeshError, mesh_bounds
from machidata.jp.fiscal import format_fiscal_year
from machidata.jp.wareki import era_for, wareki_year

if TYPE_CHECKING:
    from machidata.charts.pivot import Pivot

SCHEMA_URL: Final = "https://vega.github.io/schema/vega-lite/v5.21.0.json"  # a name, never fetched
FONT: Final = "BIZ UDPGothic"
# d3-format: thousands separators, up to 12 significant digits, trailing zeros trimmed (10 → "10", not "1e+1").
NUMBER_FORMAT: Final = ",.12~r"

# Okabe & Ito (2008), the palette designed to stay distinguishable for the common colour-vision types;
# blue and orange first, so two-series charts contrast best.
PALETTE: Final = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000")
SEQUENTIAL_SCHEME: Final = "viridis"  # perceptually uniform and colour-blind safe

CHART_TYPES: Final[dict[str, str]] = {
    "bar": "棒グラフ",
    "line": "折れ線グラフ",
    "area": "面グラフ",
    "pie": "円グラフ",
    "scatter": "散布図",
    "histogram": "ヒストグラム",
    "heatmap": "ヒートマップ",
    "number": "数値カード",
    "table": "表",
    "pivot": "ピボット表（小計・合計つき）",
    "map": "区の塗り分け地図",
    "mesh": "地域メッシュの塗り分け地図（緯度・経度から）",
    "boundary": "町丁・校区の塗り分け地図（登録した境界データ）",
    "points": "点の地図（緯度・経度）",
}
# Charts drawn from plain rows (no grouping): the spec bins or plots each row itself.
ROW_CHARTS: Final = frozenset({"scatter", "histogram", "points"})
STACKS: Final[dict[str, str]] = {"grouped": "横に並べる", "stacked": "積み上げ", "normalize": "100%積み上げ"}
WEEKDAYS_MONDAY: Final = ("月", "火", "水", "木", "金", "土", "日")
WEEKDAYS_SUNDAY: Final = ("日", "月", "火", "水", "木", "金", "土")
# Grains whose values become ordered labels (the rest of the time grains stay dates on a time axis).
LABEL_GRAINS: Final = frozenset({"fiscal_year", "year", "month", "quarter", "weekday", "hour"})
NUMBER_KINDS: Final = frozenset({"integer", "number"})
TIME_KINDS: Final = frozenset({"date", "datetime"})


class SpecError(ValueError):
    """The chart document does not fit its data (a missing column, a type that cannot be drawn)."""


@dataclass(frozen=True)
class Column:
    """One output column of the chart's query: its name, kind and time grain (if it is a bucket)."""

    name: str
    kind: str = "string"
    grain: str | None = None

    @classmethod
    def of(cls, spec: Mapping[str, Any]) -> Column:
        """From ``{"name", "type"|"kind", "grain"}``."""
        return cls(
            str(spec["name"]), str(spec.get("kind") or spec.get("type") or "string"), spec.get("grain")
        )


# ---- labels ---------------------------------------------------------------------------------------


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _year_label(year: int, *, wareki: bool) -> str:
    if not wareki:
        return f"{year}年"
    era, n = wareki_year(year)
    return f"{era.name}{'元' if n == 1 else n}年"


def _month_year(day: dt.date, *, wareki: bool) -> str:
    """The year part of a month label: the era in force on the bucket's first day (平成31年4月, 令和元年5月)."""
    if not wareki:
        return f"{day.year}年"
    era = era_for(day)
    n = day.year - era.offset
    return f"{era.name}{'元' if n == 1 else n}年"


def grain_label(value: Any, grain: str, *, wareki: bool = True) -> str:  # noqa: PLR0911 - one branch per grain
    """The words shown for one time-bucket value: 令和5年度, 令和6年4月, 2024年4〜6月, 月, 9時."""
    if value is None:
        return "（空欄）"
    if grain == "fiscal_year":
        return format_fiscal_year(int(value), wareki=wareki)
    if grain == "year":
        return _year_label(int(value), wareki=wareki)
    if grain == "hour":
        return f"{int(value)}時"
    if grain == "weekday":
        return str(value)
    day = _as_date(value)
    if day is None:
        return str(value)
    if grain == "month":
        return f"{_month_year(day, wareki=wareki)}{day.month}月"
    if grain == "quarter":
        return f"{_month_year(day, wareki=wareki)}{day.month}〜{day.month + 2}月"
    return day.isoformat()


def _order_key(value: Any, grain: str, week_start: str) -> Any:
    if grain == "weekday":
        days = WEEKDAYS_SUNDAY if week_start == "sunday" else WEEKDAYS_MONDAY
        return days.index(value) if value in days else len(days)
    if value is None:
        return (1, 0)
    day = _as_date(value)
    return (0, day.toordinal() if day is not None else value)


def _plain(value: Any) -> Any:
    """A JSON value for inline data (dates as ISO text, decimals as numbers, NaN as blank)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return value


# ---- encodings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Axis:
    """How one column is drawn: its Vega-Lite type, the label order, and a format."""

    field: str
    type: str
    sort: list[Any] | None = None
    format: str | None = None
    title: str = ""

    def encoding(self, **extra: Any) -> dict[str, Any]:
        enc: dict[str, Any] = {"field": self.field, "type": self.type, "title": self.title or self.field}
        if self.sort is not None:
            enc["sort"] = self.sort
        if self.format:
            enc["axis"] = {"format": self.format}
        enc.update(extra)
        return enc


def _column(columns: Mapping[str, Column], name: Any, role: str) -> Column:
    if not name:
        raise SpecError(f"グラフの「{role}」に使う項目が選ばれていません。")
    col = columns.get(str(name))
    if col is None:
        raise SpecError(f"グラフの「{role}」の項目「{name}」が集計結果にありません。")
    return col


def _prepare(
    rows: Sequence[Mapping[str, Any]], columns: Mapping[str, Column], *, wareki: bool, week_start: str
) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """Inline rows with labelled time buckets, and for each labelled column its labels in time order."""
    orders: dict[str, list[str]] = {}
    for col in columns.values():
        grain = col.grain
        if grain in LABEL_GRAINS:
            values = {r.get(col.name) for r in rows}
            ordered = sorted(values, key=lambda v: _order_key(v, grain, week_start))
            orders[col.name] = [grain_label(v, grain, wareki=wareki) for v in ordered]
    data = []
    for r in rows:
        out: dict[str, Any] = {}
        for name, value in r.items():
            found = columns.get(name)
            if found is not None and found.grain in LABEL_GRAINS:
                out[name] = grain_label(value, found.grain, wareki=wareki)
            else:
                out[name] = _plain(value)
        data.append(out)
    return data, orders


def _axis(col: Column, orders: Mapping[str, list[str]], *, sort: list[Any] | str | None = None) -> _Axis:
    if col.name in orders:
        return _Axis(col.name, "ordinal", sort=orders[col.name])
    if col.kind in TIME_KINDS or col.grain in {"day", "week"}:
        return _Axis(col.name, "temporal", format="%Y/%m/%d")
    if col.kind in NUMBER_KINDS:
        return _Axis(col.name, "quantitative")
    return _Axis(col.name, "nominal", sort=sort if isinstance(sort, list) else None)


def _category_sort(option: str, value_field: str | None) -> str | dict[str, Any] | None:
    if option == "value_desc" and value_field:
        return {"field": value_field, "order": "descending"}
    if option == "value_asc" and value_field:
        return {"field": value_field, "order": "ascending"}
    return None


def _quant(col: Column, *, title: str | None = None, **extra: Any) -> dict[str, Any]:
    if col.kind not in NUMBER_KINDS:
        raise SpecError(f"項目「{col.name}」は数値ではないため、量としては描けません。")
    enc: dict[str, Any] = {"field": col.name, "type": "quantitative", "title": title or col.name}
    enc.update(extra)
    return enc


def _category(
    col: Column, orders: Mapping[str, list[str]], sort_option: str, value_field: str | None
) -> dict[str, Any]:
    axis = _axis(col, orders)
    enc = axis.encoding()
    by_value = _category_sort(sort_option, value_field)
    if by_value is not None and axis.type in {"nominal", "ordinal"}:
        enc["sort"] = by_value
    if axis.type == "temporal":
        enc["axis"] = {"format": "%Y/%m/%d", "labelAngle": 0}
    elif axis.type in {"nominal", "ordinal"}:
        enc["axis"] = {"labelAngle": 0, "labelLimit": 160}
    return enc


def _color(col: Column | None, orders: Mapping[str, list[str]]) -> dict[str, Any] | None:
    if col is None:
        return None
    enc = _axis(col, orders).encoding()
    enc["type"] = "nominal"  # a series key is a category (Okabe-Ito colours), in time order when it is time
    enc.pop("axis", None)
    enc["legend"] = {"orient": "bottom", "title": col.name}
    return enc


def _tooltip(*encs: dict[str, Any] | None) -> list[dict[str, Any]]:
    tips = []
    for enc in encs:
        if enc and "field" in enc:
            tip = {"field": enc["field"], "type": enc["type"], "title": enc.get("title", enc["field"])}
            if enc["type"] == "quantitative":
                tip["format"] = NUMBER_FORMAT
            tips.append(tip)
    return tips


# ---- text alternative -----------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e15 else f"{value:.3e}"
    return "（空欄）" if value is None else str(value)


def text_alternative(
    document: Mapping[str, Any],
    data: Sequence[Mapping[str, Any]],
) -> str:
    """A plain Japanese description of the chart for screen readers: what is drawn, the largest and smallest."""
    visual = document.get("visual") or {}
    meta = document.get("meta") or {}
    kind = CHART_TYPES.get(str(visual.get("type")), "グラフ")
    title = str(meta.get("title") or "無題のグラフ")
    x, y, color = visual.get("x"), visual.get("y"), visual.get("color")
    parts = [f"{title}（{kind}）。"]
    if visual.get("type") == "number":
        value = data[-1].get(str(y)) if data else None
        parts.append(f"{y}は{_fmt(value)}。")
        return "".join(parts)
    if visual.get("type") == "points":
        parts.append(
            f"{len(data):,}地点を熊本市の区の地図の上に点で示す"
            + (f"（{color}で色分け）" if color else "")
            + "。"
        )
        return "".join(parts)
    if visual.get("type") in ROW_CHARTS:
        parts.append(f"{len(data):,}件のデータの{x}" + (f"と{y}" if y else "") + "の分布。")
        return "".join(parts)
    if visual.get("type") == "heatmap" and visual.get("value"):
        # x and y are both categories there; the colour is the value
        y, color = visual.get("value"), visual.get("y")
        parts.append(f"{x}と{color}の組み合わせごとの{y}を色の濃さで示す。{len(data):,}項目。")
    elif x and y:
        parts.append(f"{x}ごとの{y}を" + (f"{color}別に" if color else "") + f"示す。{len(data):,}項目。")
    if x and y:
        numeric = [
            r for r in data if isinstance(r.get(str(y)), int | float) and not isinstance(r.get(str(y)), bool)
        ]
        if numeric:
            top = max(numeric, key=lambda r: r[str(y)])
            low = min(numeric, key=lambda r: r[str(y)])

            def name(r: Mapping[str, Any]) -> str:
                return f"{r.get(str(x))}" + (f"・{r.get(str(color))}" if color else "")

            parts.append(f"最大は{name(top)}の{_fmt(top[str(y)])}、最小は{name(low)}の{_fmt(low[str(y)])}。")
    options = visual.get("options") or {}
    target = options.get("target")
    if (
        visual.get("type") in {"bar", "line", "area"}
        and isinstance(target, int | float)
        and not isinstance(target, bool)
    ):
        parts.append(f"目標は{_fmt(target)}。")
    source = meta.get("source")
    if source:
        parts.append(f"出典: {source}。")
    return "".join(parts)


# ---- the spec -------------------------------------------------------------------------------------


def base_config() -> dict[str, Any]:
    """The look shared by every chart: the shipped Japanese font, the colour-blind-safe palette."""
    return {
        "font": FONT,
        "range": {
            "category": list(PALETTE),
            "ordinal": {"scheme": SEQUENTIAL_SCHEME},
            "heatmap": {"scheme": SEQUENTIAL_SCHEME},
        },
        "axis": {"labelFontSize": 12, "titleFontSize": 12, "titleFontWeight": "normal"},
        "legend": {"labelFontSize": 12, "titleFontSize": 12, "titleFontWeight": "normal"},
        "title": {"fontSize": 16, "fontWeight": "normal", "anchor": "start", "subtitleFontSize": 11},
        "numberFormat": NUMBER_FORMAT,
        "mark": {"color": PALETTE[0]},
        "view": {"stroke": None},
        "bar": {"continuousBandSize": 20},
    }


def _layer_mark(  # noqa: PLR0912, PLR0915 - one branch per chart type reads as the catalogue it is
    visual: Mapping[str, Any], columns: Mapping[str, Column], orders: Mapping[str, list[str]]
) -> dict[str, Any]:
    kind = str(visual.get("type") or "bar")
    options = visual.get("options") or {}
    sort_option = str(options.get("sort") or "key")
    x_name, y_name, color_name = visual.get("x"), visual.get("y"), visual.get("color")
    color_col = columns.get(str(color_name)) if color_name else None
    if color_name and color_col is None:
        raise SpecError(f"グラフの「色分け」の項目「{color_name}」が集計結果にありません。")

    if kind == "bar":
        x, y = _column(columns, x_name, "横軸"), _column(columns, y_name, "値")
        stack = str(options.get("stack") or "stacked")
        value = _quant(y, format=NUMBER_FORMAT)
        value["axis"] = {"format": "%" if stack == "normalize" and color_col else NUMBER_FORMAT}
        if color_col is not None:
            value["stack"] = {"stacked": "zero", "normalize": "normalize", "grouped": None}.get(stack, "zero")
        cat = _category(x, orders, sort_option, y.name)
        enc: dict[str, Any] = {"x": cat, "y": value}
        if options.get("horizontal"):
            enc = {"y": cat, "x": value}
        color = _color(color_col, orders)
        if color is not None:
            enc["color"] = color
            if stack == "grouped":
                enc["yOffset" if options.get("horizontal") else "xOffset"] = {
                    "field": color["field"],
                    "sort": color.get("sort"),
                }
        enc["tooltip"] = _tooltip(cat, color, value)
        return {"mark": {"type": "bar", "tooltip": True}, "encoding": enc}

    if kind in {"line", "area"}:
        x, y = _column(columns, x_name, "横軸"), _column(columns, y_name, "値")
        cat = _category(x, orders, "key", None)
        value = _quant(y, axis={"format": NUMBER_FORMAT})
        enc = {"x": cat, "y": value}
        color = _color(color_col, orders)
        if color is not None:
            enc["color"] = color
        if kind == "area":
            stack = str(options.get("stack") or "stacked")
            value["stack"] = {"stacked": "zero", "normalize": "normalize", "grouped": None}.get(stack, "zero")
            if stack == "normalize":
                value["axis"] = {"format": "%"}
        enc["tooltip"] = _tooltip(cat, color, value)
        mark = {"type": kind, "point": kind == "line", "tooltip": True}
        if kind == "area":
            mark["opacity"] = 0.85
        return {"mark": mark, "encoding": enc}

    if kind == "pie":
        x, y = _column(columns, x_name, "項目"), _column(columns, y_name, "値")
        theta = _quant(y, stack=True)
        color = _color(x, orders) or {}
        if sort_option.startswith("value"):
            color["sort"] = _category_sort(sort_option, y.name)
        mark = {"type": "arc", "tooltip": True}
        if options.get("donut"):
            mark["innerRadius"] = 60
        enc = {
            "theta": theta,
            "color": color,
            "order": {"field": y.name, "type": "quantitative", "sort": "descending"}
            if sort_option.startswith("value")
            else None,
        }
        enc = {k: v for k, v in enc.items() if v is not None}
        enc["tooltip"] = _tooltip(color, theta)
        return {"mark": mark, "encoding": enc}

    if kind == "scatter":
        x, y = _column(columns, x_name, "横軸"), _column(columns, y_name, "縦軸")
        enc = {"x": _quant(x, scale={"zero": False}), "y": _quant(y, scale={"zero": False})}
        color = _color(color_col, orders)
        if color is not None:
            enc["color"] = color
        enc["tooltip"] = _tooltip(enc["x"], enc["y"], color)
        return {"mark": {"type": "point", "filled": True, "opacity": 0.7, "tooltip": True}, "encoding": enc}

    if kind == "histogram":
        x = _column(columns, x_name, "値")
        bins = int(options.get("bins") or 20)
        enc = {
            "x": _quant(x, bin={"maxbins": bins}),
            "y": {
                "aggregate": "count",
                "type": "quantitative",
                "title": "件数",
                "axis": {"format": NUMBER_FORMAT},
            },
        }
        color = _color(color_col, orders)
        if color is not None:
            enc["color"] = color
        return {"mark": {"type": "bar", "tooltip": True}, "encoding": enc}

    if kind == "heatmap":
        x, y = _column(columns, x_name, "横軸"), _column(columns, y_name, "縦軸")
        value_col = _column(columns, visual.get("value") or color_name, "色の濃さ")
        xe, ye = _category(x, orders, "key", None), _category(y, orders, "key", None)
        for e in (xe, ye):
            if e["type"] == "quantitative":
                e["type"] = "ordinal"
        value = _quant(
            value_col,
            scale={"scheme": SEQUENTIAL_SCHEME},
            legend={"orient": "right", "format": NUMBER_FORMAT},
        )
        return {
            "mark": {"type": "rect", "tooltip": True},
            "encoding": {"x": xe, "y": ye, "color": value, "tooltip": _tooltip(xe, ye, value)},
        }

    raise SpecError(f"グラフの種類「{kind}」は描けません。")


REFERENCE_COLOUR: Final = "#D55E00"  # Okabe-Ito vermillion: stands out from the blue/orange series


def _with_reference_lines(main: dict[str, Any], visual: Mapping[str, Any]) -> dict[str, Any]:
    """Add a 平均 line (mean of the drawn values, single-series charts) and a 目標 line to bar/line/area charts."""
    kind, options = str(visual.get("type")), visual.get("options") or {}
    if kind not in {"bar", "line", "area"}:
        return main
    axis = "x" if options.get("horizontal") else "y"
    value_field = main["encoding"][axis]["field"]
    rules: list[dict[str, Any]] = []
    # labels sit at the right end above the line on a vertical chart, at the top beside it on a horizontal one
    label: dict[str, Any] = {"type": "text", "align": "left", "color": REFERENCE_COLOUR, "fontSize": 11}
    label.update(
        {"x": {"expr": "width"}, "align": "right", "dy": -8}
        if axis == "y"
        else {"y": 4, "dx": 4, "baseline": "top"}
    )
    if options.get("average") and not visual.get("color"):
        rules.append({"mark": {"type": "rule", "color": REFERENCE_COLOUR, "strokeDash": [6, 4], "strokeWidth": 2},
                      "encoding": {axis: {"aggregate": "mean", "field": value_field, "type": "quantitative"}}})  # fmt: skip
        rules.append({
            "transform": [
                {"aggregate": [{"op": "mean", "field": value_field, "as": "平均"}]},
                {"calculate": f"'平均 ' + format(datum['平均'], '{NUMBER_FORMAT}')", "as": "平均の表示"},
            ],
            "mark": label,
            "encoding": {axis: {"field": "平均", "type": "quantitative"}, "text": {"field": "平均の表示"}},
        })  # fmt: skip
    target = options.get("target")
    if isinstance(target, int | float) and not isinstance(target, bool) and kind != "number":
        rules.append({"mark": {"type": "rule", "color": REFERENCE_COLOUR, "strokeWidth": 2},
                      "encoding": {axis: {"datum": target}}})  # fmt: skip
        rules.append(
            {"mark": label, "encoding": {axis: {"datum": target}, "text": {"value": f"目標 {_fmt(target)}"}}}
        )
    if not rules:
        return main
    return {"layer": [main, *rules]}


def _number_card(
    document: Mapping[str, Any], data: list[dict[str, Any]], columns: Mapping[str, Column]
) -> dict[str, Any]:
    """A big number with its comparison: to the previous row (前期比) or to a target (目標比)."""
    visual = document.get("visual") or {}
    options = visual.get("options") or {}
    y = _column(columns, visual.get("y"), "値")
    x_name = visual.get("x")
    current = data[-1] if data else {}
    value = current.get(y.name)
    shown = _fmt(value)
    if value is None and options.get("suppressed"):
        shown = "＊"  # hidden as a small count (秘匿), see charts.suppression
    compare = str(options.get("compare") or "")
    note = ""
    if isinstance(value, int | float):
        if compare == "previous" and len(data) >= 2:
            prev = data[-2].get(y.name)
            if isinstance(prev, int | float) and prev:
                label = f"{data[-2].get(str(x_name))}" if x_name else "前期"
                note = f"{label}比 {value / prev * 100:.1f}%（{value - prev:+,.4g}）"
        elif compare == "target" and options.get("target"):
            target = float(options["target"])
            note = f"目標 {_fmt(target)} に対して {value / target * 100:.1f}%"
    period = f"{current.get(str(x_name))}" if x_name and current else ""
    card = [{"value": shown, "label": f"{y.name}" + (f"（{period}）" if period else ""), "note": note}]
    return {
        "data": {"values": card},
        "width": 320,
        "height": 140,
        "layer": [
            {
                "mark": {"type": "text", "fontSize": 14, "align": "left", "x": 0, "y": 10},
                "encoding": {"text": {"field": "label"}},
            },
            {
                "mark": {"type": "text", "fontSize": 44, "align": "left", "x": 0, "y": 65},
                "encoding": {"text": {"field": "value"}},
            },
            {
                "mark": {
                    "type": "text",
                    "fontSize": 14,
                    "align": "left",
                    "x": 0,
                    "y": 115,
                    "color": "#444444",
                },
                "encoding": {"text": {"field": "note"}},
            },
        ],
    }


def _ward_map(
    document: Mapping[str, Any], data: list[dict[str, Any]], columns: Mapping[str, Column]
) -> dict[str, Any]:
    """A choropleth of the shipped ward boundaries, joined in Python by ward name or code (no lookup by URL)."""
    visual = document.get("visual") or {}
    ward_col, value_col = _column(columns, visual.get("x"), "区"), _column(columns, visual.get("y"), "値")
    if value_col.kind not in NUMBER_KINDS:
        raise SpecError(f"項目「{value_col.name}」は数値ではないため、地図の色にできません。")
    values: dict[str, Any] = {}
    for r in data:
        name = ward_name(r.get(ward_col.name))
        if name is not None:
            values[name] = r.get(value_col.name)
    if data and not values:
        raise SpecError(
            f"項目「{ward_col.name}」の値が熊本市の区（中央区・東区・西区・南区・北区）や区のコードと一致しません。"
        )
    features = [
        {**f, "properties": {**f["properties"], "value": values.get(f["properties"]["ward"])}}
        for f in ward_features()
    ]
    value_enc = {"field": "properties.value", "type": "quantitative", "title": value_col.name,
                 "scale": {"scheme": SEQUENTIAL_SCHEME}, "legend": {"format": NUMBER_FORMAT}}  # fmt: skip
    return {
        "data": {"values": features},
        "projection": {"type": "mercator"},
        "width": 420,
        "height": 420,
        "layer": [
            {
                "mark": {"type": "geoshape", "fill": "#dddddd", "stroke": "#ffffff", "strokeWidth": 1},
                "encoding": {"description": {"field": "properties.ward", "type": "nominal"}},
            },
            {
                "transform": [{"filter": "isValid(datum.properties.value)"}],
                "mark": {"type": "geoshape", "stroke": "#ffffff", "strokeWidth": 1, "tooltip": True},
                "encoding": {
                    "color": value_enc,
                    "tooltip": [
                        {"field": "properties.ward", "type": "nominal", "title": "区"},
                        {
                            "field": "properties.value",
                            "type": "quantitative",
                            "title": value_col.name,
                            "format": NUMBER_FORMAT,
                        },
                    ],
                },
            },
        ],
    }


MESH_NOTE: Final = "地域メッシュ: JIS X 0410（緯度・経度から計算。境界のファイルは使いません）"


def mesh_feature(code: Any, value: Any) -> dict[str, Any] | None:
    """The square of a 地域メッシュ code as a GeoJSON feature (ring clockwise for Vega), or None for a non-code."""
    try:
        south, west, north, east = mesh_bounds(int(code))
    except (MeshError, TypeError, ValueError):
        return None
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    geometry = for_vega({"type": "Polygon", "coordinates": [ring]})
    return {"type": "Feature", "properties": {"mesh": str(code), "value": value}, "geometry": geometry}


def _mesh_map(
    document: Mapping[str, Any], data: list[dict[str, Any]], columns: Mapping[str, Column]
) -> dict[str, Any]:
    """A grid choropleth of 地域メッシュ squares drawn from their codes, over the ward boundaries (no tiles)."""
    visual = document.get("visual") or {}
    code_col, value_col = (
        _column(columns, visual.get("x"), "メッシュ"),
        _column(columns, visual.get("y"), "値"),
    )
    if value_col.kind not in NUMBER_KINDS:
        raise SpecError(f"項目「{value_col.name}」は数値ではないため、地図の色にできません。")
    cells = [f for r in data if (f := mesh_feature(r.get(code_col.name), r.get(value_col.name))) is not None]
    if data and not cells:
        raise SpecError(
            f"項目「{code_col.name}」の値が地域メッシュのコード（4・6・8・9・10桁）ではありません。"
        )
    value_enc, tooltip = _area_value_encoding(value_col, "properties.mesh", "メッシュコード")
    return {
        "projection": {"type": "mercator"},
        "width": 420,
        "height": 420,
        "layer": [
            {"data": {"values": list(ward_features())},
             "mark": {"type": "geoshape", "fill": "#f4f4f4", "stroke": "#999999", "strokeWidth": 1, "aria": False}},
            {"data": {"values": cells}, "transform": [{"filter": "!isValid(datum.properties.value)"}],
             # hidden squares: ＊ in the table view; no ARIA (an empty layer would fail axe's svg-img-alt)
             "mark": {"type": "geoshape", "fill": "#dddddd", "stroke": "#ffffff", "strokeWidth": 0.3, "aria": False}},
            {"data": {"values": cells}, "transform": [{"filter": "isValid(datum.properties.value)"}],
             "mark": {"type": "geoshape", "stroke": "#ffffff", "strokeWidth": 0.3, "tooltip": True},
             "encoding": {"color": value_enc, "tooltip": tooltip}},
        ],
    }  # fmt: skip


def _area_value_encoding(
    value_col: Column, key_field: str, key_title: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The colour encoding and tooltip of an area map (mesh squares, boundary areas) coloured by a value."""
    value_enc = {"field": "properties.value", "type": "quantitative", "title": value_col.name,
                 "scale": {"scheme": SEQUENTIAL_SCHEME}, "legend": {"format": NUMBER_FORMAT}}  # fmt: skip
    tooltip = [
        {"field": key_field, "type": "nominal", "title": key_title},
        {
            "field": "properties.value",
            "type": "quantitative",
            "title": value_col.name,
            "format": NUMBER_FORMAT,
        },
    ]
    return value_enc, tooltip


def _boundary_map(
    document: Mapping[str, Any], data: list[dict[str, Any]], columns: Mapping[str, Column],
    areas: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:  # fmt: skip
    """A choropleth of an uploaded boundary set, joined on code or normalised name (町丁目の数字も揃えて)."""
    from machidata.charts.boundaries import join

    visual = document.get("visual") or {}
    key_col, value_col = _column(columns, visual.get("x"), "区域"), _column(columns, visual.get("y"), "値")
    if value_col.kind not in NUMBER_KINDS:
        raise SpecError(f"項目「{value_col.name}」は数値ではないため、地図の色にできません。")
    features, missed = join(areas, data, key_col.name, value_col.name)
    if data and missed == len(data):
        raise SpecError(f"項目「{key_col.name}」の値が、境界データの区域のコードや名前と1つも一致しません。")
    value_enc, tooltip = _area_value_encoding(value_col, "properties.label", "区域")
    return {
        "data": {"values": features},
        "projection": {"type": "mercator"},
        "width": 420,
        "height": 420,
        "layer": [
            {"mark": {"type": "geoshape", "fill": "#dddddd", "stroke": "#ffffff", "strokeWidth": 0.5},
             "encoding": {"description": {"field": "properties.label", "type": "nominal"}}},
            {"transform": [{"filter": "isValid(datum.properties.value)"}],
             "mark": {"type": "geoshape", "stroke": "#ffffff", "strokeWidth": 0.5, "tooltip": True},
             "encoding": {"color": value_enc, "tooltip": tooltip}},
        ],
    }  # fmt: skip


def _point_map(
    document: Mapping[str, Any],
    data: list[dict[str, Any]],
    columns: Mapping[str, Column],
    orders: Mapping[str, list[str]],
) -> dict[str, Any]:
    """Points from longitude (x) and latitude (y) over the shipped ward boundaries (no tiles)."""
    visual = document.get("visual") or {}
    lon, lat = _column(columns, visual.get("x"), "経度"), _column(columns, visual.get("y"), "緯度")
    for col in (lon, lat):
        if col.kind not in NUMBER_KINDS:
            raise SpecError(f"項目「{col.name}」は数値ではないため、緯度・経度として使えません。")
    color_col = columns.get(str(visual.get("color"))) if visual.get("color") else None
    points: dict[str, Any] = {
        "data": {"values": [r for r in data if isinstance(r.get(lon.name), int | float) and isinstance(r.get(lat.name), int | float)]},
        "mark": {"type": "circle", "size": 40, "opacity": 0.8, "tooltip": True},
        "encoding": {
            "longitude": {"field": lon.name, "type": "quantitative"},
            "latitude": {"field": lat.name, "type": "quantitative"},
        },
    }  # fmt: skip
    color = _color(color_col, orders)
    if color is not None:
        points["encoding"]["color"] = color
    return {
        "projection": {"type": "mercator"},
        "width": 420,
        "height": 420,
        "layer": [
            {"data": {"values": list(ward_features())},
             "mark": {"type": "geoshape", "fill": "#eeeeee", "stroke": "#999999", "strokeWidth": 1, "aria": False}},
            points,
        ],
    }  # fmt: skip


def _table_view(data: list[dict[str, Any]], names: Sequence[str]) -> dict[str, Any]:
    """The rows as a grid of text marks (the page shows a real HTML table; this is for exports)."""
    return {
        "data": {"values": data},
        "transform": [
            {"window": [{"op": "row_number", "as": "行"}]},
            {"fold": list(names), "as": ["項目", "値"]},
        ],
        "mark": {"type": "text", "align": "left", "limit": 160},
        "encoding": {
            "y": {"field": "行", "type": "ordinal", "axis": None},
            "x": {
                "field": "項目",
                "type": "ordinal",
                "sort": list(names),
                "axis": {"orient": "top", "labelAngle": 0, "title": None, "domain": False, "ticks": False},
            },
            "text": {"field": "値"},
        },
        "width": {"step": 160},
    }


def vegalite_spec(
    document: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[Mapping[str, Any] | Column],
    *,
    pivot: Pivot | None = None,
    areas: Sequence[Mapping[str, Any]] | None = None,
    area_attribution: str = "",
) -> dict[str, Any]:
    """The Vega-Lite 5 spec of a chart document over its result rows (inline data, no URLs).

    ``areas`` are the features of the boundary set a ``boundary`` map draws (read by the caller),
    with their ``area_attribution``.

    A pivot table is laid out (and suppressed when ``visual.options.suppress_below`` says so) from
    the rows, unless the caller passes the ``pivot`` it already laid out.
    """
    cols = {c.name: c for c in (c if isinstance(c, Column) else Column.of(c) for c in columns)}
    visual = document.get("visual") or {}
    meta = document.get("meta") or {}
    options = visual.get("options") or {}
    kind = str(visual.get("type") or "bar")
    if kind not in CHART_TYPES:
        raise SpecError(f"グラフの種類「{kind}」は描けません。")
    wareki = str(options.get("era") or "wareki") != "western"
    week_start = "sunday" if options.get("week_start") == "sunday" else "monday"
    data, orders = _prepare(rows, cols, wareki=wareki, week_start=week_start)
    spec: dict[str, Any] = {"$schema": SCHEMA_URL}
    title = str(meta.get("title") or "")
    if title:
        spec["title"] = {"text": title}
        if meta.get("source"):
            spec["title"]["subtitle"] = f"出典: {meta['source']}"
    spec["description"] = text_alternative(document, data)
    if kind == "number":
        spec.update(_number_card(document, data, cols))
    elif kind in {"points", "map", "mesh"}:
        spec.setdefault("title", {"text": ""})
        lines = [
            spec["title"].get("subtitle") or "",
            f"地図: {ATTRIBUTION}",
            MESH_NOTE if kind == "mesh" else "",
        ]
        spec["title"]["subtitle"] = [line for line in lines if line]
        drawn = {"points": lambda: _point_map(document, data, cols, orders),
                 "map": lambda: _ward_map(document, data, cols), "mesh": lambda: _mesh_map(document, data, cols)}  # fmt: skip
        spec.update(drawn[kind]())
    elif kind == "boundary":
        spec.setdefault("title", {"text": ""})
        lines = [spec["title"].get("subtitle") or "", f"地図: {area_attribution}" if area_attribution else ""]
        spec["title"]["subtitle"] = [line for line in lines if line]
        spec.update(_boundary_map(document, data, cols, areas or []))
    elif kind == "table":
        spec.update(_table_view(data, list(cols)))
    elif kind == "pivot":
        from machidata.charts import pivot as pivots

        laid = (
            pivot
            if pivot is not None
            else pivots.pivot_of(rows, cols, visual, totals_name=pivots.totals_name(document))
        )
        spec["description"] = pivots.pivot_description(title, laid, str(meta.get("source") or ""))
        spec.update({k: v for k, v in pivots.pivot_spec(laid).items() if k != "$schema"})
    else:
        spec["data"] = {"values": data}
        spec.update(_with_reference_lines(_layer_mark(visual, cols, orders), visual))
        spec["width"] = "container" if options.get("responsive") else int(options.get("width") or 560)
        spec["height"] = 320 if kind != "pie" else 300
    # a map in a dashboard panel: the projection fits the panel's width (no scrolling)
    spec.update(
        {"width": "container"}
        if kind in {"map", "points", "mesh", "boundary"} and options.get("responsive")
        else {}
    )
    spec["config"] = base_config()
    spec["usermeta"] = {"machidata": {"chart_type": kind}}
    if kind in {"map", "points", "mesh"}:
        spec["usermeta"]["machidata"]["attribution"] = f"地図: {ATTRIBUTION}"
    elif kind == "boundary" and area_attribution:
        spec["usermeta"]["machidata"]["attribution"] = f"地図: {area_attribution}"
    return spec


def table_view(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[Mapping[str, Any] | Column],
    *,
    options: Mapping[str, Any] | None = None,
) -> tuple[list[str], list[list[str]]]:
    """The chart's data as the page's "データを表で見る" table: headers and labelled, formatted cells."""
    options = options or {}
    cols = [c if isinstance(c, Column) else Column.of(c) for c in columns]
    wareki = str(options.get("era") or "wareki") != "western"
    body = []
    for r in rows:
        line = []
        for c in cols:
            v = r.get(c.name)
            line.append(
                grain_label(v, c.grain, wareki=wareki) if c.grain in LABEL_GRAINS else _fmt(_plain(v))
            )
        body.append(line)
    return [c.name for c in cols], body
