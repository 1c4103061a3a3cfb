"""The builder's form and how its choices become a chart document (query, visual, meta)."""

from __future__ import annotations

from typing import Any, Final

from django import forms

from machidata.charts.models import Sharing
from machidata.charts.names import GRAINS, OPS, key_name, measure_name
from machidata.charts.pivot import N_NAME, TOTALS_AS
from machidata.charts.vegalite import CHART_TYPES, ROW_CHARTS, STACKS

FILTER_OPS: Final = {
    "eq": "と等しい", "ne": "と等しくない", "contains": "を含む", "starts_with": "で始まる",
    "ge": "以上", "le": "以下", "is_null": "空欄", "not_null": "空欄でない",
}  # fmt: skip
NULL_OPS: Final = frozenset({"is_null", "not_null"})  # conditions without a value
FILTER_ROWS: Final = 3  # conditions the builder shows (all of them must hold)
MESH_LEVELS: Final = {
    "mesh3": "3次メッシュ（約1km四方）",
    "mesh_half": "2分の1メッシュ（約500m四方）",
    "mesh_quarter": "4分の1メッシュ（約250m四方）",
    "mesh2": "2次メッシュ（約10km四方）",
    "mesh1": "1次メッシュ（約80km四方）",
}
MESH_KEY: Final = "メッシュコード"
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
    color = forms.ChoiceField(label="色分け（ピボット表では列）", required=False)
    color_grain = forms.ChoiceField(
        label="色分け・列の時間のまとめ方", required=False, choices=[NO_CHOICE, *GRAINS.items()]
    )
    row2 = forms.ChoiceField(label="行の2段目（小計を付ける）", required=False)
    row2_grain = forms.ChoiceField(
        label="行の2段目の時間のまとめ方", required=False, choices=[NO_CHOICE, *GRAINS.items()]
    )
    col2 = forms.ChoiceField(label="列の2段目（小計を付ける）", required=False)
    col2_grain = forms.ChoiceField(
        label="列の2段目の時間のまとめ方", required=False, choices=[NO_CHOICE, *GRAINS.items()]
    )
    boundary = forms.ChoiceField(
        label="境界データ（町丁・校区の地図。横軸には区域のコードか名前の列を選びます）", required=False
    )
    mesh_lon = forms.ChoiceField(
        label="経度の列（地域メッシュ地図。横軸には緯度の列を選びます）", required=False
    )
    mesh_level = forms.ChoiceField(
        label="メッシュの大きさ", required=False, choices=list(MESH_LEVELS.items())
    )
    suppress = forms.BooleanField(
        label="小さい数を秘匿して表示する（課の外の人には常に秘匿されます）", required=False
    )
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
        self, *args: Any, columns: list[tuple[str, str]], versions: list[int],
        boundaries: list[tuple[str, str]] | None = None, **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        self.fields["boundary"].choices = [NO_CHOICE, *(boundaries or [])]  # type: ignore[attr-defined]
        cols = [(name, label) for name, label in columns]
        self.fields["x"].choices = [NO_CHOICE, *cols]  # type: ignore[attr-defined]
        self.fields["y_column"].choices = [NO_CHOICE, *cols]  # type: ignore[attr-defined]
        self.fields["color"].choices = [NO_CHOICE, *cols]  # type: ignore[attr-defined]
        self.fields["row2"].choices = [NO_CHOICE, *cols]  # type: ignore[attr-defined]
        self.fields["col2"].choices = [NO_CHOICE, *cols]  # type: ignore[attr-defined]
        self.fields["mesh_lon"].choices = [NO_CHOICE, *cols]  # type: ignore[attr-defined]
        for i in range(FILTER_ROWS):
            n = i + 1
            self.fields[f"filter_column_{i}"] = forms.ChoiceField(
                label=f"条件{n}：列", required=False, choices=[NO_CHOICE, *cols]
            )
            self.fields[f"filter_op_{i}"] = forms.ChoiceField(
                label=f"条件{n}：比べ方", required=False, choices=list(FILTER_OPS.items())
            )
            self.fields[f"filter_value_{i}"] = forms.CharField(
                label=f"条件{n}：値", required=False, max_length=200
            )
        self.fields["version"].choices = [("", "最新の版"), *((str(n), f"第{n}版に固定") for n in versions)]  # type: ignore[attr-defined]

    def filter_rows(self) -> list[tuple[Any, Any, Any]]:
        """The bound fields of each condition row (列, 比べ方, 値), for the template."""
        return [
            (self[f"filter_column_{i}"], self[f"filter_op_{i}"], self[f"filter_value_{i}"])
            for i in range(FILTER_ROWS)
        ]


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


def filters_from(data: dict[str, Any], kinds: dict[str, str]) -> list[dict[str, Any]]:
    """The builder's condition rows as TableQuery filters (all must hold); a row without a column or value is left out."""
    filters: list[dict[str, Any]] = []
    for i in range(FILTER_ROWS):
        column, op = data.get(f"filter_column_{i}") or "", data.get(f"filter_op_{i}") or ""
        if not column or op not in FILTER_OPS:
            continue
        if op in NULL_OPS:
            filters.append({"column": column, "op": op})
            continue
        raw = str(data.get(f"filter_value_{i}") or "")
        if raw == "":
            continue
        filters.append({"column": column, "op": op, "value": _coerce(raw, kinds.get(column, "string"))})
    return filters


def _key(column: str, grain: str | None) -> dict[str, Any]:
    g: dict[str, Any] = {"column": column, "grain": grain or None}
    g["as"] = key_name(g)
    return g


def _pivot_query(data: dict[str, Any], measure: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The query part and visual of a pivot: rows (横軸, 行の2段目) × columns (色分け, 列の2段目) with totals."""
    rows = [_key(data[c], data.get(g)) for c, g in (("x", "x_grain"), ("row2", "row2_grain")) if data.get(c)]
    cols = [
        _key(data[c], data.get(g))
        for c, g in (("color", "color_grain"), ("col2", "col2_grain"))
        if data.get(c)
    ]
    measures = [measure]
    counted = measure["op"] == "count"
    if not counted:  # the row count behind each cell decides which cells are small (秘匿)
        measures.append({"op": "count", "as": N_NAME})
    query = {"group_by": [*rows, *cols], "measures": measures, "totals": {"rows": len(rows), "as": TOTALS_AS}}
    visual = {"rows": [g["as"] for g in rows], "columns": [g["as"] for g in cols], "y": measure["as"],
              "op": measure["op"], "n": None if counted else N_NAME}  # fmt: skip
    return query, visual


def document_from(data: dict[str, Any], kinds: dict[str, str]) -> dict[str, Any]:  # noqa: PLR0912, PLR0915 — one branch per chart family
    """The chart document for the builder's cleaned choices (the query in the TableQuery JSON shape)."""
    slug, _, name = str(data["table"]).partition("/")
    kind = data["type"]
    x, grain, color = data.get("x") or "", data.get("x_grain") or None, data.get("color") or ""
    color_grain = data.get("color_grain") or None
    op, column = data.get("y_op") or "count", data.get("y_column") or None
    filters = filters_from(data, kinds)
    options: dict[str, Any] = {
        "stack": data.get("stack") or "stacked", "era": data.get("era") or "wareki",
        "week_start": data.get("week_start") or "monday", "sort": data.get("sort") or "key",
        "donut": bool(data.get("donut")), "average": bool(data.get("average")),
    }  # fmt: skip
    if data.get("compare"):
        options["compare"] = data["compare"]
    if data.get("target") is not None:
        options["target"] = data["target"]
    if data.get("suppress"):
        options["suppress"] = True
    if kind == "boundary" and data.get("boundary"):
        options["boundary"] = str(data["boundary"])
    query: dict[str, Any] = {
        "table": {"dataset": slug, "name": name, "version": data.get("version")},
        "filters": filters,
    }
    visual: dict[str, Any] = {"type": kind, "options": options}
    if kind in ROW_CHARTS:
        visual.update(
            {"x": x or None, "y": column if kind in {"scatter", "points"} else None, "color": color or None}
        )
    elif kind == "pivot":
        counted: dict[str, Any] = {"op": op, **({"column": column} if column else {})}
        counted["as"] = measure_name(counted)
        pivot_query, pivot_visual = _pivot_query(data, counted)
        query.update(pivot_query)
        visual.update(pivot_visual)
    else:
        measure: dict[str, Any] = {"op": op}
        if column:
            measure["column"] = column
        group_by = []
        x_name = None
        if kind == "mesh":  # x is the latitude column; the key is the mesh code of (x, 経度の列)
            level = data.get("mesh_level") or "mesh3"
            group_by.append(
                {"column": x, "lon": data.get("mesh_lon") or None, "grain": level, "as": MESH_KEY}
            )
            x_name, x, color = MESH_KEY, "", ""
        if x:
            g: dict[str, Any] = {"column": x, "grain": grain}
            x_name = g["as"] = key_name(g)
            group_by.append(g)
        color_name = None
        if color and (color, color_grain) != (x, grain):
            c = _key(color, color_grain)
            group_by.append(c)
            color_name = c["as"]
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
    out["suppress"] = bool(options.get("suppress"))
    out["boundary"] = options.get("boundary") or ""
    shown = [f for f in query.get("filters") or [] if isinstance(f, dict) and f.get("op") in FILTER_OPS]
    for i, f in enumerate(shown[:FILTER_ROWS]):
        out.update({f"filter_column_{i}": f.get("column"), f"filter_op_{i}": f.get("op"),
                    f"filter_value_{i}": "" if f.get("value") is None else str(f["value"])})  # fmt: skip
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
    if visual.get("type") == "pivot":
        r = int((query.get("totals") or {}).get("rows") or 0)
        rows = [("x", "x_grain"), ("row2", "row2_grain")][:r]
        for (c, g), key in zip(
            [*rows, ("color", "color_grain"), ("col2", "col2_grain")], group_by, strict=False
        ):
            out.update({c: key.get("column"), g: key.get("grain") or ""})
    else:
        if group_by and visual.get("type") == "mesh":
            first = group_by[0]
            out.update(
                {
                    "x": first.get("column"),
                    "mesh_lon": first.get("lon") or "",
                    "mesh_level": first.get("grain"),
                }
            )
        elif group_by:
            out.update({"x": group_by[0].get("column"), "x_grain": group_by[0].get("grain") or ""})
        if len(group_by) > 1:
            out.update({"color": group_by[1].get("column"), "color_grain": group_by[1].get("grain") or ""})
    measures = query.get("measures") or [{"op": "count"}]
    out.update({"y_op": measures[0].get("op"), "y_column": measures[0].get("column") or ""})
    if query.get("top_n"):
        out["top_n"] = query["top_n"].get("n")
    return out


class BoundaryForm(forms.Form):
    """A boundary file (GeoJSON or a zipped Shapefile) for a new or existing boundary set, and how its areas are named."""

    name = forms.CharField(
        label="境界データの名前",
        max_length=100,
        help_text="同じ名前で登録すると新しい版になります（例: 町丁・字、小学校区）。",
    )
    description = forms.CharField(
        label="説明", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    file = forms.FileField(
        label="境界のファイル（GeoJSON か Shapefile の zip、20MBまで）",
        help_text="Shapefile は .shp・.shx・.dbf・.prj（あれば .cpg も）を1つの zip にまとめてください。",
        widget=forms.ClearableFileInput(
            attrs={"accept": ".geojson,.json,.zip,application/geo+json,application/zip"}
        ),
    )
    code_property = forms.CharField(label="コードの属性（例: KEY_CODE）", required=False, max_length=100)
    name_property = forms.CharField(label="名前の属性（例: S_NAME）", required=False, max_length=100)
    attribution = forms.CharField(label="出典・著作権表示（地図の下に表示します）", max_length=500)


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
    fy_filter = forms.CharField(
        label="年度で絞り込む列（例: 覚知日時）", required=False, max_length=100,
        help_text="この列を持つ表のグラフすべてに、年度（4月〜翌3月）の絞り込みをかけます。日付の列か、年度の数（2024など）の列を書いてください。",
    )  # fmt: skip

    FILTER_FIELDS: Final = (
        ("value_filter", "value"),
        ("date_filter", "date_range"),
        ("fy_filter", "fiscal_year"),
    )

    def filters(self) -> list[dict[str, Any]]:
        """The dashboard filters the cleaned form asks for (blank fields left out)."""
        data = self.cleaned_data
        return [{"column": data[f], "kind": k} for f, k in self.FILTER_FIELDS if data.get(f)]

    @classmethod
    def initial_for(cls, dashboard: Any) -> dict[str, Any]:
        """The form's first values for a saved dashboard (the first filter of each kind)."""
        out: dict[str, Any] = {"title": dashboard.title, "description": dashboard.description,
                               "sharing": dashboard.sharing, "lock_version": dashboard.lock_version}  # fmt: skip
        for name, kind in cls.FILTER_FIELDS:
            out[name] = next((f["column"] for f in dashboard.filters if f.get("kind") == kind), "")
        return out


class DashboardEditForm(DashboardForm):
    """A dashboard's title, description, sharing and filters, changed after it was made."""

    lock_version = forms.IntegerField(widget=forms.HiddenInput)


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
