"""The builder's form and how its choices become a chart document (query, visual, meta)."""

from __future__ import annotations

from typing import Any, Final

from django import forms

from machidata.charts.models import Sharing
from machidata.charts.names import GRAINS, OPS, key_name, measure_name
from machidata.charts.vegalite import CHART_TYPES, ROW_CHARTS, STACKS

FILTER_OPS: Final = {"eq": "等しい", "ne": "等しくない", "contains": "含む", "ge": "以上", "le": "以下"}
SORTS: Final = {"key": "項目の順（時間の順）", "value_desc": "値の大きい順", "value_asc": "値の小さい順"}
NO_CHOICE: Final = ("", "（なし）")


class ChartForm(forms.Form):
    """Every choice of the builder; the column lists are filled from the table's 項目定義."""

    table = forms.CharField(widget=forms.HiddenInput)
    version = forms.TypedChoiceField(label="版", required=False, coerce=int, empty_value=None)
    type = forms.ChoiceField(label="グラフの種類", choices=list(CHART_TYPES.items()), initial="bar")
    x = forms.ChoiceField(label="横軸（項目）", required=False)
    x_grain = forms.ChoiceField(label="時間のまとめ方", required=False, choices=[NO_CHOICE, *GRAINS.items()])
    y_op = forms.ChoiceField(label="値の集計", choices=list(OPS.items()), initial="count")
    y_column = forms.ChoiceField(label="集計する列", required=False)
    color = forms.ChoiceField(label="色分け", required=False)
    filter_column = forms.ChoiceField(label="絞り込む列", required=False)
    filter_op = forms.ChoiceField(label="条件", required=False, choices=list(FILTER_OPS.items()))
    filter_value = forms.CharField(label="値", required=False, max_length=200)
    sort = forms.ChoiceField(label="並び順", choices=list(SORTS.items()), initial="key")
    top_n = forms.IntegerField(label="上位だけ表示（件数）", required=False, min_value=1, max_value=1000)
    stack = forms.ChoiceField(label="色分けの並べ方", choices=list(STACKS.items()), initial="stacked")
    era = forms.ChoiceField(
        label="年の表し方", choices=[("wareki", "和暦（令和6年度）"), ("western", "西暦（2024年度）")]
    )
    week_start = forms.ChoiceField(label="曜日の並び", choices=[("monday", "月〜日"), ("sunday", "日〜土")])
    donut = forms.BooleanField(label="ドーナツ型にする（円グラフ）", required=False)
    average = forms.BooleanField(label="平均の線を引く（棒・折れ線・面、色分けなし）", required=False)
    compare = forms.ChoiceField(
        label="数値カードの比較",
        required=False,
        choices=[NO_CHOICE, ("previous", "前の期間と比べる"), ("target", "目標と比べる")],
    )
    target = forms.FloatField(label="目標値（数値カードの比較・棒や折れ線の目標線）", required=False)
    title = forms.CharField(label="題名", max_length=200, required=False)
    description = forms.CharField(
        label="説明", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    source = forms.CharField(label="出典", required=False, max_length=300)
    sharing = forms.ChoiceField(label="共有の範囲", choices=Sharing.choices, initial=Sharing.PRIVATE)
    lock_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self, *args: Any, columns: list[tuple[str, str]], versions: list[int], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        cols = [(name, label) for name, label in columns]
        self.fields["x"].choices = [NO_CHOICE, *cols]  # type: ignore[attr-defined]
        self.fields["y_column"].choices = [NO_CHOICE, *cols]  # type: ignore[attr-defined]
        self.fields["color"].choices = [NO_CHOICE, *cols]  # type: ignore[attr-defined]
        self.fields["filter_column"].choices = [NO_CHOICE, *cols]  # type: ignore[attr-defined]
        self.fields["version"].choices = [("", "最新の版"), *((str(n), f"第{n}版に固定") for n in versions)]  # type: ignore[attr-defined]


def default_choices(fields: list[Any]) -> dict[str, Any]:
    """Sensible first choices from the 項目定義: a date → by fiscal year, a 区 column → by ward, else the first text column."""
    dates = [f.name for f in fields if f.kind in {"date", "datetime"}]
    wards = [f.name for f in fields if f.kind == "string" and ("区" in f.name or "ward" in f.name.lower())]
    texts = [f.name for f in fields if f.kind == "string"]
    if dates:
        return {"type": "bar", "x": dates[0], "x_grain": "fiscal_year", "color": wards[0] if wards else ""}
    if wards:
        return {"type": "bar", "x": wards[0], "x_grain": ""}
    return {"type": "bar", "x": texts[0] if texts else "", "x_grain": ""}


def _coerce(value: str, kind: str) -> Any:
    if kind == "integer":
        try:
            return int(value)
        except ValueError:
            return value
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            return value
    return value


def document_from(data: dict[str, Any], kinds: dict[str, str]) -> dict[str, Any]:
    """The chart document for the builder's cleaned choices (the query in the TableQuery JSON shape)."""
    slug, _, name = str(data["table"]).partition("/")
    kind = data["type"]
    x, grain, color = data.get("x") or "", data.get("x_grain") or None, data.get("color") or ""
    op, column = data.get("y_op") or "count", data.get("y_column") or None
    filters = []
    if data.get("filter_column") and data.get("filter_op"):
        value = _coerce(data.get("filter_value") or "", kinds.get(data["filter_column"], "string"))
        filters.append({"column": data["filter_column"], "op": data["filter_op"], "value": value})
    options: dict[str, Any] = {
        "stack": data.get("stack") or "stacked", "era": data.get("era") or "wareki",
        "week_start": data.get("week_start") or "monday", "sort": data.get("sort") or "key",
        "donut": bool(data.get("donut")), "average": bool(data.get("average")),
    }  # fmt: skip
    if data.get("compare"):
        options["compare"] = data["compare"]
    if data.get("target") is not None:
        options["target"] = data["target"]
    query: dict[str, Any] = {
        "table": {"dataset": slug, "name": name, "version": data.get("version")},
        "filters": filters,
    }
    visual: dict[str, Any] = {"type": kind, "options": options}
    if kind in ROW_CHARTS:
        visual.update(
            {"x": x or None, "y": column if kind in {"scatter", "points"} else None, "color": color or None}
        )
    else:
        measure: dict[str, Any] = {"op": op}
        if column:
            measure["column"] = column
        group_by = []
        x_name = None
        if x:
            g: dict[str, Any] = {"column": x, "grain": grain}
            x_name = g["as"] = key_name(g)
            group_by.append(g)
        color_name = None
        if color and color != x:
            group_by.append({"column": color, "grain": None, "as": color})
            color_name = color
        query["group_by"] = group_by
        query["measures"] = [measure]
        value = measure["as"] = measure_name(measure)
        if data.get("top_n"):
            query["top_n"] = {"n": data["top_n"], "by": value}
        if kind == "heatmap":
            visual.update({"x": x_name, "y": color_name, "value": value})
        else:
            visual.update({"x": x_name, "y": value, "color": color_name})
    return {
        "query": query,
        "visual": visual,
        "meta": {"title": data.get("title") or "", "source": data.get("source") or ""},
    }


def choices_from(document: dict[str, Any]) -> dict[str, Any]:
    """The builder's choices for a saved chart document (the reverse of :func:`document_from`)."""
    query, visual = document.get("query") or {}, document.get("visual") or {}
    options = visual.get("options") or {}
    ref = query.get("table") or {}
    out: dict[str, Any] = {
        "table": f"{ref.get('dataset')}/{ref.get('name')}", "version": ref.get("version"), "type": visual.get("type"),
        "stack": options.get("stack") or "stacked", "era": options.get("era") or "wareki",
        "week_start": options.get("week_start") or "monday", "sort": options.get("sort") or "key",
        "donut": bool(options.get("donut")), "compare": options.get("compare") or "", "target": options.get("target"),
        "average": bool(options.get("average")),
    }  # fmt: skip
    meta = document.get("meta") or {}
    out.update(
        {
            "title": meta.get("title") or "",
            "description": meta.get("description") or "",
            "source": meta.get("source") or "",
        }
    )
    filters = query.get("filters") or []
    if filters:
        out.update({"filter_column": filters[0].get("column"), "filter_op": filters[0].get("op"),
                    "filter_value": "" if filters[0].get("value") is None else str(filters[0]["value"])})  # fmt: skip
    if visual.get("type") in ROW_CHARTS:
        out.update(
            {
                "x": visual.get("x") or "",
                "y_column": visual.get("y") or "",
                "color": visual.get("color") or "",
            }
        )
        return out
    group_by = query.get("group_by") or []
    if group_by:
        out.update({"x": group_by[0].get("column"), "x_grain": group_by[0].get("grain") or ""})
    if len(group_by) > 1:
        out["color"] = group_by[1].get("column")
    measures = query.get("measures") or [{"op": "count"}]
    out.update({"y_op": measures[0].get("op"), "y_column": measures[0].get("column") or ""})
    if query.get("top_n"):
        out["top_n"] = query["top_n"].get("n")
    return out


class DashboardForm(forms.Form):
    """A new dashboard: title, description, sharing and up to two filters (a value column, a date column)."""

    title = forms.CharField(label="題名", max_length=200)
    description = forms.CharField(
        label="説明", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    sharing = forms.ChoiceField(label="共有の範囲", choices=Sharing.choices, initial=Sharing.PRIVATE)
    value_filter = forms.CharField(
        label="値で絞り込む列（例: 区）", required=False, max_length=100,
        help_text="この列を持つ表のグラフすべてに、選んだ値の絞り込みをかけます。",
    )  # fmt: skip
    date_filter = forms.CharField(
        label="期間で絞り込む列（例: 覚知日時）", required=False, max_length=100,
        help_text="この日付の列を持つ表のグラフすべてに、期間の絞り込みをかけます。",
    )  # fmt: skip


class AddChartForm(forms.Form):
    """Put a chart on the dashboard."""

    chart = forms.ChoiceField(label="グラフ")
    width = forms.TypedChoiceField(
        label="幅", coerce=int, choices=[(12, "全幅"), (6, "半分"), (4, "3分の1")], initial=6
    )
    lock_version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, charts: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["chart"].choices = charts  # type: ignore[attr-defined]


class AddTextForm(forms.Form):
    """Put a text block on the dashboard."""

    text = forms.CharField(label="文章", max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    width = forms.TypedChoiceField(
        label="幅", coerce=int, choices=[(12, "全幅"), (6, "半分"), (4, "3分の1")], initial=12
    )
    lock_version = forms.IntegerField(widget=forms.HiddenInput)
