"""TableQuery: the one declarative query (fields, filters, grouping, measures, sort, top N, paging).

A query without ``group_by`` and ``measures`` returns rows (the explorer). With either, it returns one
row per group (BI: charts, crosstabs, KPIs), compiled in :mod:`machidata.engine.compile`. The JSON
shape (the charts room and ``/api/v1/query`` rely on it)::

    {"filters": [...], "group_by": [{"column": "覚知日時", "grain": "fiscal_year", "as": "年度"}],
     "measures": [{"op": "count"}, {"op": "median", "column": "現場到着所要時間（分）"}],
     "sort": [{"column": "件数", "direction": "desc"}], "top_n": {"n": 10, "by": "件数"},
     "limit": 100, "offset": 0}

Time buckets (design guide §5: values are naive Asia/Tokyo wall-clock time, so buckets never depend
on a session or process time zone): ``day``/``week`` (ISO, Monday start)/``month``/``quarter`` give
the first day of the bucket as a date; ``year`` the calendar year and ``fiscal_year`` the year in
which the April–March fiscal year starts (2024-03-31 23:30 → 2023, 2024-04-01 00:30 → 2024), as
integers; ``weekday`` the labels 月 火 水 木 金 土 日, sorted in that order (not as text); ``hour`` 0–23.

Measures: ``count`` (rows, or non-blank cells of ``column``), ``sum``/``avg``/``median`` (numbers),
``min``/``max`` (anything orderable), ``count_distinct``. The derived measures work on a *base*
value per group — the row count, or the sum of ``column`` when one is named:
``share_of_total`` (base ÷ total of all groups), ``share_of_row`` (÷ total of the groups with the
same value of the first group key), ``share_of_column`` (÷ total of the groups with the same value
of the second group key), ``rate_per`` (base ÷ denominator × ``per``, default 1000; the denominator
of a group is the largest value of ``denominator`` in it — a per-group constant such as a ward's
population joined to each row — or its sum with ``"denominator_agg": "sum"`` when each row holds a
part of it), ``change_from_previous`` (base ÷ base of the previous period of the time key ``along``,
e.g. 1.05 = 5% more; blank when that period has no rows or a base of 0; other group keys are kept
apart), ``target_ratio`` (base ÷ ``target``). Shares and rates are fractions (0.25 = 25%).

``totals`` (a crosstab, ピボット表) adds subtotal and total rows: ``{"rows": r}`` says the first ``r``
group keys are the row keys (表側) and the rest the column keys (表頭); the answer then holds, besides
the detail groups, every combination of a leading part of the row keys with a leading part of the
column keys (the grouping sets of ROLLUP(rows) × ROLLUP(columns)), the keys left out blank, and an
integer column ``合計区分`` (``as`` renames it) with bit ``2**i`` set when the i-th group key is
totalled (0 = a detail cell; all bits = the grand total). Only plain measures (count, sum, avg,
median, min, max, count distinct) can be totalled, and not together with ``top_n``.

``top_n`` keeps the ``n`` groups with the largest ``by`` measure (ties by the group keys) and drops
the rest; no その他 row is produced. Shares are computed before the cut, so they stay shares of the
whole. Results are ordered by ``sort`` (which names output columns), else by ``by`` descending under
``top_n``, else by the group keys.

Output names (``as`` overrides them; they must differ from each other): a group key is its column
name, or ``列（粒度）`` with the grain's label (``覚知日時（年度）``); a measure is its label, with the
column in brackets: ``件数``, ``件数（列）``, ``合計（列）``, ``平均（列）``, ``中央値（列）``, ``最小（列）``,
``最大（列）``, ``種類数（列）``, ``構成比（件数）``/``構成比（合計（列））``, ``行内構成比（…）``,
``列内構成比（…）``, ``件数（母数1,000あたり）``/``合計（列）（母数1,000あたり）`` with the denominator
column's name as 母数, ``前期比（…）`` (``前年比`` along a year, ``前年度比`` along a fiscal year,
``前月比``, ``前四半期比``, ``前週比``, ``前日比``), ``目標比（…）``.

Nothing in this module knows users, models or files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from machidata.engine.errors import EngineQueryError
from machidata.engine.mesh import MESH_GRAINS, MESH_LABELS
from machidata.engine.types import (
    KIND_LABELS,
    NUMERIC_KINDS,
    ORDERABLE_KINDS,
    TEMPORAL_KINDS,
    Kind,
    SchemaLike,
    coerce_value,
    schema_kinds,
)

FilterOp = Literal[
    "eq",
    "ne",
    "in",
    "not_in",
    "contains",
    "starts_with",
    "range",
    "gt",
    "ge",
    "lt",
    "le",
    "is_null",
    "not_null",
]

MAX_LIMIT = 1_000_000  # one page; exports stream without a limit
MAX_OFFSET = 10_000_000_000
MAX_IN_VALUES = 1_000  # a longer list is a join, not a filter
MAX_FILTERS = 100
MAX_TEXT_LENGTH = 1_000

OP_LABELS: dict[str, str] = {
    "eq": "等しい",
    "ne": "等しくない",
    "in": "いずれかに等しい",
    "not_in": "いずれにも等しくない",
    "contains": "含む",
    "starts_with": "で始まる",
    "range": "範囲",
    "gt": "より大きい",
    "ge": "以上",
    "lt": "より小さい",
    "le": "以下",
    "is_null": "空欄",
    "not_null": "空欄でない",
}

Grain = Literal[
    "day", "week", "month", "quarter", "year", "fiscal_year", "weekday", "hour",
    "mesh1", "mesh2", "mesh3", "mesh_half", "mesh_quarter",
]  # fmt: skip
MeasureOp = Literal[
    "count",
    "sum",
    "avg",
    "median",
    "min",
    "max",
    "count_distinct",
    "share_of_total",
    "share_of_row",
    "share_of_column",
    "rate_per",
    "change_from_previous",
    "target_ratio",
]

MAX_GROUP_KEYS = 5  # a chart shows at most x, colour, facet; a crosstab rows × columns
MAX_MEASURES = 20
MAX_TOP_N = 10_000
MAX_NAME_LENGTH = 100

GRAIN_LABELS: dict[str, str] = {
    "day": "日",
    "week": "週",
    "month": "月",
    "quarter": "四半期",
    "year": "年",
    "fiscal_year": "年度",
    "weekday": "曜日",
    "hour": "時",
    **MESH_LABELS,
}
# Stable order of weekday labels (ISO: Monday first); the engine sorts by this index, not by the text.
WEEKDAY_LABELS: tuple[str, ...] = ("月", "火", "水", "木", "金", "土", "日")
MEASURE_LABELS: dict[str, str] = {
    "count": "件数",
    "sum": "合計",
    "avg": "平均",
    "median": "中央値",
    "min": "最小",
    "max": "最大",
    "count_distinct": "種類数",
    "share_of_total": "構成比",
    "share_of_row": "行内構成比",
    "share_of_column": "列内構成比",
    "rate_per": "率",
    "change_from_previous": "前期比",
    "target_ratio": "目標比",
}
# 前期比 named after the grain of the time key it runs along.
CHANGE_LABELS: dict[str | None, str] = {
    "year": "前年比",
    "fiscal_year": "前年度比",
    "quarter": "前四半期比",
    "month": "前月比",
    "week": "前週比",
    "day": "前日比",
}
# Ops computed from a per-group base value (the count, or the sum of ``column``).
DERIVED_OPS = frozenset(
    {"share_of_total", "share_of_row", "share_of_column", "rate_per", "change_from_previous", "target_ratio"}
)
_NUMERIC_OPS = frozenset({"sum", "avg", "median"})
_ORDERED_OPS = frozenset({"min", "max"})
# Grains that make sense for a time of day (a ``time`` column) and those that need a date.
_DATE_GRAINS = frozenset({"day", "week", "month", "quarter", "year", "fiscal_year", "weekday"})
# Grains along which "the previous period" is one step back (weekday and hour wrap, so they are not).
_STEP_GRAINS = frozenset({"day", "week", "month", "quarter", "year", "fiscal_year"})

_SCALAR_OPS = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
_LIST_OPS = frozenset({"in", "not_in"})
_TEXT_OPS = frozenset({"contains", "starts_with"})
_NULL_OPS = frozenset({"is_null", "not_null"})
_ORDER_OPS = frozenset({"gt", "ge", "lt", "le", "range"})


class Filter(BaseModel):
    """One condition on one column; ``value`` for scalar ops, ``values`` for in/not_in, ``min``/``max`` for range."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    column: str
    op: FilterOp
    value: Any = None
    values: tuple[Any, ...] | None = None
    min: Any = None
    max: Any = None


class Sort(BaseModel):
    """One sort key: a column and a direction."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    column: str
    direction: Literal["asc", "desc"] = "asc"


class GroupBy(BaseModel):
    """One group key: a column, optionally bucketed by a time grain, with an optional output name (``as``)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    column: str
    grain: Grain | None = None
    as_: str | None = Field(default=None, alias="as")
    lon: str | None = None  # a 地域メッシュ grain: ``column`` is the latitude, ``lon`` the longitude


class Measure(BaseModel):
    """One measure: an operation, its column (optional for counts and derived measures) and op-specific parameters."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    op: MeasureOp
    column: str | None = None
    as_: str | None = Field(default=None, alias="as")
    per: int | None = None  # rate_per
    denominator: str | None = None  # rate_per
    denominator_agg: Literal["max", "sum"] | None = None  # rate_per
    target: float | None = None  # target_ratio
    along: str | None = None  # change_from_previous: the output name of a time group key


class TopN(BaseModel):
    """Keep the ``n`` groups with the largest value of the measure named ``by``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n: int
    by: str


class Totals(BaseModel):
    """Subtotals and totals of a crosstab: the first ``rows`` group keys are rows, the rest columns."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    rows: int
    as_: str | None = Field(default=None, alias="as")


class TableQuery(BaseModel):
    """A declarative query over one table: which columns, which rows, in what order, which page."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fields: tuple[str, ...] | None = None
    filters: tuple[Filter, ...] = ()
    sort: tuple[Sort, ...] = ()
    limit: int | None = None
    offset: int = 0
    group_by: tuple[GroupBy, ...] = ()
    measures: tuple[Measure, ...] = ()
    top_n: TopN | None = None
    totals: Totals | None = None
    # Free-text search: rows where every word appears (NFKC, case-insensitive) in some text column.
    search: str | None = None

    @field_validator("group_by", mode="before")
    @classmethod
    def _group_names(cls, v: Any) -> Any:
        """Accept a plain column name as a group key without a grain."""
        if isinstance(v, list | tuple):
            return [{"column": g} if isinstance(g, str) else g for g in v]
        return v

    @property
    def is_aggregate(self) -> bool:
        """True when the query returns one row per group rather than rows of the table."""
        return bool(self.group_by or self.measures)

    @field_validator("sort", mode="before")
    @classmethod
    def _sort_pairs(cls, v: Any) -> Any:
        """Accept ``("col", "desc")`` pairs as well as ``{"column": ..., "direction": ...}``."""
        if isinstance(v, list | tuple):
            return [
                {"column": s[0], "direction": s[1]} if isinstance(s, list | tuple) and len(s) == 2 else s
                for s in v
            ]
        return v

    @classmethod
    def from_dict(cls, data: Any) -> TableQuery:
        """Build a query from JSON-like data, turning shape errors into a Japanese :class:`EngineQueryError`."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            hint = ""
            if first["type"] == "literal_error":  # name what may be written there
                hint = "指定できる値: " + str(first.get("ctx", {}).get("expected", "")).replace(" or ", ", ")
            elif first["type"] == "extra_forbidden":
                hint = "この項目は使えません"
            elif first["type"] == "missing":
                hint = "必須の項目です"
            raise EngineQueryError(f"問い合わせの形式が正しくありません（{where}）。{hint}") from exc

    def validate_against(self, schema: SchemaLike) -> ValidatedQuery:
        """Check this query against a table schema and return it with every value coerced to its column's type."""
        kinds = schema_kinds(schema)
        if len(self.filters) > MAX_FILTERS:
            raise EngineQueryError(f"条件が多すぎます（最大{MAX_FILTERS}件）。")
        filters = tuple(_check_filter(f, kinds) for f in self.filters)
        search = _check_search(self.search, kinds)
        if self.limit is not None and not 1 <= self.limit <= MAX_LIMIT:
            raise EngineQueryError(f"表示件数は1から{MAX_LIMIT:,}までの数で指定してください。")
        if not 0 <= self.offset <= MAX_OFFSET:
            raise EngineQueryError("開始位置は0以上の数で指定してください。")
        if not self.is_aggregate:
            if self.totals is not None:
                raise EngineQueryError(
                    "小計・合計（totals）はグループ化（group_by）と一緒に指定してください。"
                )
            if self.top_n is not None:
                raise EngineQueryError(
                    "上位N件（top_n）は集計（group_by・measures）と一緒に指定してください。"
                )
            fields = _check_fields(self.fields, kinds)
            sort = tuple(_check_sort(s, kinds) for s in self.sort)
            return ValidatedQuery(
                fields=fields, filters=filters, sort=sort, limit=self.limit, offset=self.offset, search=search
            )
        groups, measures = _check_aggregation(self.group_by, self.measures, kinds)
        totals = _check_totals(self.totals, groups, measures, top_n=self.top_n is not None)
        outputs = [g.name for g in groups] + [m.name for m in measures]
        if totals is not None:
            outputs.append(totals.name)
        fields = _check_output_fields(self.fields, outputs)
        for s in self.sort:
            if s.column not in outputs:
                raise EngineQueryError(f"並べ替え（sort）の「{s.column}」は集計結果の列ではありません。")
        top_n = None
        if self.top_n is not None:
            if not 1 <= self.top_n.n <= MAX_TOP_N:
                raise EngineQueryError(f"上位N件（top_n.n）は1から{MAX_TOP_N:,}までの数で指定してください。")
            if self.top_n.by not in {m.name for m in measures}:
                raise EngineQueryError(
                    f"上位N件の基準（top_n.by）の「{self.top_n.by}」は集計値の名前ではありません。"
                )
            top_n = self.top_n
        return ValidatedQuery(
            fields=fields,
            filters=filters,
            sort=self.sort,
            limit=self.limit,
            offset=self.offset,
            groups=groups,
            measures=measures,
            top_n=top_n,
            search=search,
            totals=totals,
        )


TOTALS_NAME = "合計区分"
# Measures whose subtotals are computed by grouping again (shares, rates and changes are not totalled).
TOTALLED_OPS = frozenset({"count", "sum", "avg", "median", "min", "max", "count_distinct"})


@dataclass(frozen=True, slots=True)
class CheckedTotals:
    """Checked subtotals: how many leading group keys are rows, and the output name of the 合計区分 column."""

    rows: int
    name: str

    def grouping_sets(self, keys: int) -> tuple[tuple[int, ...], ...]:
        """The group-key indexes of every grouping set, detail first and the grand total last.

        A leading part of the row keys with a leading part of the column keys: ROLLUP × ROLLUP.
        """
        rows, cols = list(range(self.rows)), list(range(self.rows, keys))
        sets = [
            tuple(rows[:i] + cols[:j]) for i in range(len(rows), -1, -1) for j in range(len(cols), -1, -1)
        ]
        return tuple(sets)


def _check_totals(
    totals: Totals | None,
    groups: tuple[CheckedGroup, ...],
    measures: tuple[CheckedMeasure, ...],
    *,
    top_n: bool,
) -> CheckedTotals | None:
    """Subtotals need group keys, plain measures and no top N; the row count must fit the keys."""
    if totals is None:
        return None
    if not groups:
        raise EngineQueryError("小計・合計（totals）にはグループ化（group_by）の列が必要です。")
    if not measures:
        raise EngineQueryError("小計・合計（totals）には集計値（measures）を1つ以上指定してください。")
    if not 0 <= totals.rows <= len(groups):
        raise EngineQueryError(
            f"小計・合計の行の列の数（totals.rows）は0から{len(groups)}までの数で指定してください。"
        )
    if top_n:
        raise EngineQueryError("小計・合計（totals）と上位N件（top_n）は一緒に使えません。")
    for i, m in enumerate(measures):
        if m.op not in TOTALLED_OPS:
            raise EngineQueryError(
                f"集計値（measures）の{i + 1}番目（{MEASURE_LABELS[m.op]}）は小計・合計を出せません"
                "（件数・合計・平均・中央値・最小・最大・種類数が使えます）。"
            )
    name = _check_name(totals.as_, "小計・合計の区分") if totals.as_ is not None else TOTALS_NAME
    if name in {g.name for g in groups} | {m.name for m in measures}:
        raise EngineQueryError(f"集計結果の列名「{name}」が重複しています。別の名前（as）を付けてください。")
    return CheckedTotals(rows=totals.rows, name=name)


@dataclass(frozen=True, slots=True)
class CheckedSearch:
    """A free-text search: its words and the text columns each word is looked for in."""

    words: tuple[str, ...]
    columns: tuple[str, ...]


def _check_search(text: str | None, kinds: dict[str, Kind]) -> CheckedSearch | None:
    """Split the search text into words (at most :data:`MAX_FILTERS`, each of bounded length)."""
    words = tuple(dict.fromkeys((text or "").split()))
    if not words:
        return None
    if len(words) > MAX_FILTERS:
        raise EngineQueryError(f"検索語が多すぎます（最大{MAX_FILTERS}語）。")
    if any(len(w) > MAX_TEXT_LENGTH for w in words):
        raise EngineQueryError(f"検索語が長すぎます（最大{MAX_TEXT_LENGTH:,}文字）。")
    return CheckedSearch(words=words, columns=tuple(c for c, k in kinds.items() if k == "string"))


@dataclass(frozen=True, slots=True)
class CheckedFilter:
    """A filter whose values have been coerced to the column's Python type."""

    column: str
    op: FilterOp
    kind: Kind
    value: Any = None
    values: tuple[Any, ...] = ()
    min: Any = None
    max: Any = None


@dataclass(frozen=True, slots=True)
class ValidatedQuery:
    """A :class:`TableQuery` that passed validation; the only input the compiler accepts."""

    fields: tuple[str, ...] | None
    filters: tuple[CheckedFilter, ...]
    sort: tuple[Sort, ...]
    limit: int | None
    offset: int
    groups: tuple[CheckedGroup, ...] = ()
    measures: tuple[CheckedMeasure, ...] = ()
    top_n: TopN | None = None
    search: CheckedSearch | None = None
    totals: CheckedTotals | None = None

    @property
    def is_aggregate(self) -> bool:
        """True when the query returns one row per group."""
        return bool(self.groups or self.measures)


@dataclass(frozen=True, slots=True)
class CheckedGroup:
    """A group key that passed validation, with its output name and the kind of its source column."""

    column: str
    grain: Grain | None
    name: str
    kind: Kind
    lon: str | None = None  # the longitude column of a 地域メッシュ key (``column`` is the latitude)


@dataclass(frozen=True, slots=True)
class CheckedMeasure:
    """A measure that passed validation, with its output name; ``along`` is resolved to a group."""

    op: MeasureOp
    column: str | None
    name: str
    per: int = 1000
    denominator: str | None = None
    denominator_agg: Literal["max", "sum"] = "max"
    target: float | None = None
    along: CheckedGroup | None = None


def _unknown(column: str) -> EngineQueryError:
    """The error for a column the table does not have."""
    return EngineQueryError(f"列「{column}」はこの表にありません。")


def _check_fields(fields: tuple[str, ...] | None, kinds: dict[str, Kind]) -> tuple[str, ...] | None:
    """Check the selected columns exist and are not repeated."""
    if fields is None:
        return None
    if not fields:
        raise EngineQueryError("表示する列を1つ以上選んでください。")
    seen: set[str] = set()
    for name in fields:
        if name not in kinds:
            raise _unknown(name)
        if name in seen:
            raise EngineQueryError(f"列「{name}」が2回選ばれています。")
        seen.add(name)
    return fields


def _check_output_fields(fields: tuple[str, ...] | None, outputs: list[str]) -> tuple[str, ...] | None:
    """In an aggregate query, ``fields`` picks (and orders) output columns by name."""
    if fields is None:
        return None
    if not fields:
        raise EngineQueryError("表示する列を1つ以上選んでください。")
    for name in fields:
        if name not in outputs:
            raise EngineQueryError(f"表示する列（fields）の「{name}」は集計結果の列ではありません。")
    if len(set(fields)) != len(fields):
        raise EngineQueryError("表示する列（fields）に同じ列が2回選ばれています。")
    return fields


def _check_name(name: str, where: str) -> str:
    """An output name given by ``as``: not blank, not too long."""
    if not name.strip():
        raise EngineQueryError(f"{where}の名前（as）が空です。")
    if len(name) > MAX_NAME_LENGTH:
        raise EngineQueryError(f"{where}の名前（as）が長すぎます（最大{MAX_NAME_LENGTH}文字）。")
    return name


def group_default_name(column: str, grain: str | None) -> str:
    """The output name of a group key without ``as``: the column, or ``列（粒度）``."""
    return column if grain is None else f"{column}（{GRAIN_LABELS[grain]}）"


def _base_label(column: str | None) -> str:
    """The label of a derived measure's base value: 件数 or 合計（列）."""
    return "件数" if column is None else f"合計（{column}）"


def measure_default_name(m: Measure, along_grain: str | None = None) -> str:
    """The output name of a measure without ``as`` (rules in the module docstring)."""
    if m.op == "count":
        return "件数" if m.column is None else f"件数（{m.column}）"
    if m.op not in DERIVED_OPS:
        return f"{MEASURE_LABELS[m.op]}（{m.column}）"
    base = _base_label(m.column)
    if m.op == "rate_per":
        return f"{base}（{m.denominator}{m.per or 1000:,}あたり）"
    if m.op == "change_from_previous":
        return f"{CHANGE_LABELS.get(along_grain, '前期比')}（{base}）"
    return f"{MEASURE_LABELS[m.op]}（{base}）"


def _check_group(g: GroupBy, i: int, kinds: dict[str, Kind]) -> CheckedGroup:
    """Check one group key: the column exists and the grain fits its type."""
    where = f"グループ化（group_by）の{i + 1}番目"
    if g.column not in kinds:
        raise EngineQueryError(f"{where}の列「{g.column}」はこの表にありません。")
    kind = kinds[g.column]
    if g.grain in MESH_GRAINS or g.lon is not None:
        return _check_mesh_group(g, where, kinds)
    if g.grain is not None:
        label = GRAIN_LABELS[g.grain]
        fits = kind in TEMPORAL_KINDS if g.grain in _DATE_GRAINS else kind in {"datetime", "time"}
        if not fits:
            raise EngineQueryError(
                f"{where}：列「{g.column}」は{KIND_LABELS[kind]}の列なので「{label}」ごとにはまとめられません。"
            )
    elif kind == "other":
        raise EngineQueryError(f"{where}：列「{g.column}」はこの種類の列なのでグループにできません。")
    name = g.as_ if g.as_ is not None else group_default_name(g.column, g.grain)
    return CheckedGroup(column=g.column, grain=g.grain, name=_check_name(name, where), kind=kind)


def _check_mesh_group(g: GroupBy, where: str, kinds: dict[str, Kind]) -> CheckedGroup:
    """A 地域メッシュ key: ``column`` (latitude) and ``lon`` (longitude) are number columns."""
    if g.grain not in MESH_GRAINS:
        raise EngineQueryError(
            f"{where}：経度の列（lon）は地域メッシュ（mesh1〜mesh_quarter）のときだけ指定できます。"
        )
    label = GRAIN_LABELS[g.grain]
    if g.lon is None:
        raise EngineQueryError(
            f"{where}：「{label}」には経度の列（lon）を指定してください（column は緯度の列）。"
        )
    if g.lon not in kinds:
        raise EngineQueryError(f"{where}の経度の列「{g.lon}」はこの表にありません。")
    for column, role in ((g.column, "緯度"), (g.lon, "経度")):
        if kinds[column] not in NUMERIC_KINDS:
            raise EngineQueryError(
                f"{where}：{role}の列「{column}」は{KIND_LABELS[kinds[column]]}の列なので「{label}」にできません（数値の列が必要です）。"
            )
    name = g.as_ if g.as_ is not None else f"{label}（{g.column}・{g.lon}）"
    return CheckedGroup(
        column=g.column, grain=g.grain, name=_check_name(name, where), kind="integer", lon=g.lon
    )


def _check_measure(  # noqa: PLR0912 — one rule per op family reads best in one place
    m: Measure, i: int, kinds: dict[str, Kind], groups: tuple[CheckedGroup, ...]
) -> CheckedMeasure:
    """Check one measure: its column's type fits the op, and its op-specific parameters are present and sane."""
    where = f"集計値（measures）の{i + 1}番目（{MEASURE_LABELS[m.op]}）"
    if m.column is not None and m.column not in kinds:
        raise EngineQueryError(f"{where}の列「{m.column}」はこの表にありません。")
    kind = kinds.get(m.column) if m.column is not None else None
    needs_column = m.op in _NUMERIC_OPS | _ORDERED_OPS | {"count_distinct"}
    if needs_column and m.column is None:
        raise EngineQueryError(f"{where}には列（column）を指定してください。")
    numeric = m.op in _NUMERIC_OPS or (m.op in DERIVED_OPS and m.column is not None)
    if numeric and kind not in NUMERIC_KINDS:
        raise EngineQueryError(
            f"{where}：列「{m.column}」は{KIND_LABELS[kind or 'other']}の列なので計算できません（数値の列を選んでください）。"
        )
    if m.op in _ORDERED_OPS and kind not in ORDERABLE_KINDS:
        raise EngineQueryError(
            f"{where}：列「{m.column}」は{KIND_LABELS[kind or 'other']}の列なので大小を比べられません。"
        )
    extra = [
        key
        for key, allowed in (
            ("per", {"rate_per"}),
            ("denominator", {"rate_per"}),
            ("denominator_agg", {"rate_per"}),
            ("target", {"target_ratio"}),
            ("along", {"change_from_previous"}),
        )
        if getattr(m, key) is not None and m.op not in allowed
    ]
    if extra:
        raise EngineQueryError(f"{where}に不要な指定（{'・'.join(extra)}）があります。")
    along: CheckedGroup | None = None
    if m.op == "rate_per":
        if m.denominator is None:
            raise EngineQueryError(f"{where}には母数の列（denominator）を指定してください。")
        if m.denominator not in kinds:
            raise EngineQueryError(f"{where}の母数の列「{m.denominator}」はこの表にありません。")
        if kinds[m.denominator] not in NUMERIC_KINDS:
            raise EngineQueryError(f"{where}：母数の列「{m.denominator}」は数値の列ではありません。")
        if m.per is not None and not 1 <= m.per <= 1_000_000_000:
            raise EngineQueryError(f"{where}の「あたり」の数（per）は1以上の整数で指定してください。")
    if m.op == "target_ratio" and (m.target is None or m.target == 0 or m.target != m.target):
        raise EngineQueryError(f"{where}には0でない目標値（target）を指定してください。")
    if m.op in {"share_of_row", "share_of_column"} and len(groups) < 2:
        raise EngineQueryError(
            f"{where}にはグループ化（group_by）の列が2つ以上必要です（1つ目が行、2つ目が列）。"
        )
    if m.op == "change_from_previous":
        along = _resolve_along(m, where, groups)
    name = m.as_ if m.as_ is not None else measure_default_name(m, along.grain if along else None)
    return CheckedMeasure(
        op=m.op,
        column=m.column,
        name=_check_name(name, where),
        per=m.per if m.per is not None else 1000,
        denominator=m.denominator,
        denominator_agg=m.denominator_agg or "max",
        target=m.target,
        along=along,
    )


def _resolve_along(m: Measure, where: str, groups: tuple[CheckedGroup, ...]) -> CheckedGroup:
    """The group key a change_from_previous runs along: named by ``along``, or the only time key."""
    if m.along is not None:
        found = [g for g in groups if m.along in {g.name, g.column}]
        if not found:
            raise EngineQueryError(
                f"{where}：比べる時間の列（along）の「{m.along}」はグループ化の列ではありません。"
            )
        along = found[0]
    else:
        steps = [g for g in groups if g.grain in _STEP_GRAINS]
        if len(steps) != 1:
            raise EngineQueryError(
                f"{where}には比べる時間の列（along）をグループ化の列から指定してください。"
            )
        along = steps[0]
    if along.grain is None and along.kind not in ORDERABLE_KINDS:
        raise EngineQueryError(f"{where}：列「{along.column}」は順序のない列なので前の期間と比べられません。")
    if along.grain in {"weekday", "hour"}:
        raise EngineQueryError(
            f"{where}：「{GRAIN_LABELS[along.grain]}」は一巡するので前の期間と比べられません。"
        )
    return along


def _check_aggregation(
    group_by: tuple[GroupBy, ...], measures: tuple[Measure, ...], kinds: dict[str, Kind]
) -> tuple[tuple[CheckedGroup, ...], tuple[CheckedMeasure, ...]]:
    """Check group keys and measures, and that every output name is used once."""
    if len(group_by) > MAX_GROUP_KEYS:
        raise EngineQueryError(f"グループ化（group_by）の列が多すぎます（最大{MAX_GROUP_KEYS}列）。")
    if len(measures) > MAX_MEASURES:
        raise EngineQueryError(f"集計値（measures）が多すぎます（最大{MAX_MEASURES}件）。")
    groups = tuple(_check_group(g, i, kinds) for i, g in enumerate(group_by))
    checked = tuple(_check_measure(m, i, kinds, groups) for i, m in enumerate(measures))
    seen: set[str] = set()
    for name in [g.name for g in groups] + [m.name for m in checked]:
        if name in seen:
            raise EngineQueryError(
                f"集計結果の列名「{name}」が重複しています。別の名前（as）を付けてください。"
            )
        seen.add(name)
    return groups, checked


def _check_sort(sort: Sort, kinds: dict[str, Kind]) -> Sort:
    """Check a sort key names an orderable column."""
    if sort.column not in kinds:
        raise _unknown(sort.column)
    return sort


def _check_filter(f: Filter, kinds: dict[str, Kind]) -> CheckedFilter:  # noqa: PLR0912 — one shape per op family
    """Check one filter's shape and coerce its values to the column's type."""
    if f.column not in kinds:
        raise _unknown(f.column)
    kind = kinds[f.column]
    col, label = f.column, OP_LABELS[f.op]
    given = {
        "value": f.value is not None,
        "values": f.values is not None,
        "min": f.min is not None,
        "max": f.max is not None,
    }
    if f.op in _ORDER_OPS and kind not in ORDERABLE_KINDS:
        raise EngineQueryError(f"列「{col}」は{KIND_LABELS[kind]}の列なので「{label}」の条件は使えません。")
    if f.op in _TEXT_OPS and kind != "string":
        raise EngineQueryError(f"列「{col}」は文字列の列ではないので「{label}」の条件は使えません。")

    def only(*allowed: str) -> None:
        extra = [k for k, v in given.items() if v and k not in allowed]
        if extra:
            raise EngineQueryError(
                f"列「{col}」の「{label}」の条件に不要な指定（{'・'.join(extra)}）があります。"
            )

    if f.op in _NULL_OPS:
        only()
        return CheckedFilter(column=col, op=f.op, kind=kind)
    if f.op in _LIST_OPS:
        only("values")
        if not f.values:
            raise EngineQueryError(f"列「{col}」の「{label}」の条件に値を1つ以上指定してください。")
        if len(f.values) > MAX_IN_VALUES:
            raise EngineQueryError(f"列「{col}」の「{label}」の値が多すぎます（最大{MAX_IN_VALUES:,}件）。")
        values = tuple(coerce_value(v, kind, column=col) for v in f.values)
        return CheckedFilter(column=col, op=f.op, kind=kind, values=values)
    if f.op == "range":
        only("min", "max")
        if f.min is None and f.max is None:
            raise EngineQueryError(f"列「{col}」の範囲には下限か上限の少なくとも一方を指定してください。")
        lo = None if f.min is None else coerce_value(f.min, kind, column=col)
        hi = None if f.max is None else coerce_value(f.max, kind, column=col)
        if lo is not None and hi is not None and lo > hi:
            raise EngineQueryError(f"列「{col}」の範囲の下限が上限より大きくなっています。")
        return CheckedFilter(column=col, op=f.op, kind=kind, min=lo, max=hi)
    only("value")
    value = coerce_value(f.value, kind, column=col)
    if f.op in _TEXT_OPS:
        if value == "":
            raise EngineQueryError(f"列「{col}」の「{label}」の条件に文字を入力してください。")
        if len(value) > MAX_TEXT_LENGTH:
            raise EngineQueryError(f"列「{col}」の検索語が長すぎます（最大{MAX_TEXT_LENGTH:,}文字）。")
    return CheckedFilter(column=col, op=f.op, kind=kind, value=value)
