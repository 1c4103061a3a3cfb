"""Recipes (加工の手順): a derived table defined as data, compiled by Ibis into one expression over Parquet files.

A :class:`Recipe` is JSON (``"version": 1``): named sources (the first is the starting table) and
ordered steps — select/rename, filter (the TableQuery :class:`~machidata.engine.query.Filter`,
compiled by :func:`machidata.engine.compile.predicate`), join, calculated column
(:mod:`machidata.engine.expressions`), recode through a code list, unpivot, stack, aggregate. Every
step is checked against the schema that the previous step produces, and an error names the step
(``手順3（結合）: …``) and the column, in Japanese. The engine knows files and code lists as plain
mappings; which files an actor may read is decided before they get here.

:func:`preview_recipe` returns each step's row count, warnings (unmatched join keys on both sides,
many-to-many joins with the row counts, divisions by zero, unmapped codes) and the final rows;
:func:`stream_recipe` streams the result as Arrow batches for the lake to write (the whole recipe as one
query), and refuses to start when a step has an error-level finding (a many-to-many join, unmapped
codes, a key type clash), so nothing is written; it skips the preview's counts and warnings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from machidata.engine.backends import engine_name
from machidata.engine.compile import _nfkc_lower, predicate
from machidata.engine.errors import EngineQueryError
from machidata.engine.expressions import Expression, month_index_of, parse_expression
from machidata.engine.query import Filter, TableQuery
from machidata.engine.sandbox import DEFAULT_MEMORY_LIMIT, DEFAULT_THREADS, QuerySession, open_sandbox
from machidata.engine.spark import open_spark
from machidata.engine.types import KIND_LABELS, NUMERIC_KINDS, Kind, kind_of

RECIPE_VERSION: Literal[1] = 1
_FORBIDDEN_IN_NAME = re.compile("[ ,;{}()\n\t=]")
MAX_STEPS = 50
SAMPLE_KEYS = 10  # unmatched keys / unmapped codes shown per side

STEP_LABELS: dict[str, str] = {
    "select": "列の選択・名前の変更",
    "filter": "行の絞り込み",
    "join": "結合",
    "calculate": "計算列",
    "recode": "コードの置き換え",
    "unpivot": "縦持ちへの変換",
    "stack": "積み重ね",
    "aggregate": "集計",
}


class _Step(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SelectStep(_Step):
    """Keep ``columns`` (in this order; all when empty) and rename some of them."""

    type: Literal["select"] = "select"
    columns: tuple[str, ...] = ()
    rename: dict[str, str] = Field(default_factory=dict)


class FilterStep(_Step):
    """Keep the rows matching every filter (the explorer's 絞り込み conditions)."""

    type: Literal["filter"] = "filter"
    filters: tuple[Filter, ...]


class JoinKey(_Step):
    """One key pair: a column of the current table and one of the other table."""

    left: str
    right: str


class KeyNormalise(_Step):
    """How both sides' keys are made comparable: as text, NFKC (全角→半角), trimmed, zero-padded; or by month.

    ``month_index`` (月で結ぶ): a key pair with a date or datetime on either side is compared by month —
    a date becomes its month index (year × 12 + month − 1, the expression function ``month_index``),
    an integer is taken as a month index already. So ``month_index([日付]) - 1`` on one side meets the
    previous month's date on the other (前月比). Other key pairs (区, …) are compared as usual.
    """

    as_text: bool = False
    nfkc: bool = False
    zero_pad: int | None = Field(default=None, ge=1, le=20)
    strip_leading_zeros: bool = False
    month_index: bool = False

    @property
    def textual(self) -> bool:
        """Keys are compared as text."""
        return self.as_text or self.nfkc or self.zero_pad is not None or self.strip_leading_zeros


class JoinStep(_Step):
    """Join another source on one or more key pairs (inner or left); the other table's columns are added."""

    type: Literal["join"] = "join"
    source: str
    keys: tuple[JoinKey, ...]
    how: Literal["inner", "left"] = "left"
    normalise: KeyNormalise = KeyNormalise()
    columns: tuple[str, ...] = ()  # columns of the other table to add; all non-key columns when empty
    suffix: str = "_2"
    allow_many_to_many: bool = False


class CalculateStep(_Step):
    """Add (or replace) the column ``name`` computed from ``expression``."""

    type: Literal["calculate"] = "calculate"
    name: str
    expression: str


class RecodeStep(_Step):
    """Map a code column through a code list into ``target`` (names); unmapped codes are an error unless allowed."""

    type: Literal["recode"] = "recode"
    column: str
    codelist: str
    target: str = ""
    unmapped: Literal["error", "keep", "blank"] = "error"


class UnpivotStep(_Step):
    """Turn ``columns`` (e.g. 2019年 … 2023年) into rows of (``names_to``, ``values_to``)."""

    type: Literal["unpivot"] = "unpivot"
    columns: tuple[str, ...]
    names_to: str = "項目"
    values_to: str = "値"
    names_as_integer: bool = False  # "2019年" → 2019 (the first run of digits)


class StackStep(_Step):
    """Append other sources of the same shape below the current rows, with a column naming each row's source."""

    type: Literal["stack"] = "stack"
    sources: tuple[str, ...]
    source_column: str = "出典"


class Measure(_Step):
    """One aggregate: count (no column), sum, avg, min, max, count_distinct."""

    op: Literal["count", "sum", "avg", "min", "max", "count_distinct"]
    column: str | None = None
    name: str = ""


class AggregateStep(_Step):
    """Group by ``by`` and compute ``measures``."""

    type: Literal["aggregate"] = "aggregate"
    by: tuple[str, ...] = ()
    measures: tuple[Measure, ...]


Step = Annotated[
    SelectStep | FilterStep | JoinStep | CalculateStep | RecodeStep | UnpivotStep | StackStep | AggregateStep,
    Field(discriminator="type"),
]


class SourceRef(_Step):
    """A source table: ``alias`` names it inside the recipe, ``table`` is the caller's key (e.g. ``dataset/table``)."""

    alias: str = Field(min_length=1, max_length=50)
    table: str = Field(min_length=1, max_length=300)
    label: str = ""


class Recipe(BaseModel):
    """A derived table as data: sources (the first is the start) and ordered steps."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = RECIPE_VERSION
    sources: tuple[SourceRef, ...] = Field(min_length=1)
    steps: tuple[Step, ...] = ()

    @classmethod
    def from_dict(cls, data: Any) -> Recipe:
        """Build a recipe from JSON-like data, turning shape errors into a Japanese :class:`EngineQueryError`."""
        try:
            recipe = cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise EngineQueryError(f"加工の手順の形式が正しくありません（{where}）。") from exc
        aliases = [s.alias for s in recipe.sources]
        if len(set(aliases)) != len(aliases):
            raise EngineQueryError("元の表の呼び名が重複しています。")
        if len(recipe.steps) > MAX_STEPS:
            raise EngineQueryError(f"手順が多すぎます（最大{MAX_STEPS}）。")
        return recipe

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return self.model_dump(mode="json")


class RecipeStepError(EngineQueryError):
    """A step that does not fit its input; the message starts with the step number and kind."""

    def __init__(self, index: int, step_type: str, message: str) -> None:
        super().__init__(f"手順{index}（{STEP_LABELS.get(step_type, step_type)}）: {message}")
        self.index = index
        self.detail = message


@dataclass
class StepReport:
    """What one step did: rows after it, its columns, and findings (``level`` warning or error)."""

    index: int
    type: str
    label: str
    rows: int | None = None
    columns: list[str] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Findings that stop a run."""
        return [f for f in self.findings if f["level"] == "error"]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "index": self.index,
            "type": self.type,
            "label": self.label,
            "rows": self.rows,
            "columns": self.columns,
            "findings": self.findings,
        }


@dataclass
class RecipePreview:
    """Each step's report (step 0 is the starting table) and the first rows of the result."""

    steps: list[StepReport]
    table: pa.Table
    schema: pa.Schema

    @property
    def errors(self) -> list[str]:
        """Every error-level message, prefixed with its step."""
        return [f"手順{s.index}（{s.label}）: {f['message']}" for s in self.steps for f in s.errors]


@dataclass
class _Stage:
    table: ir.Table
    report: StepReport
    checks: list[tuple[str, Any]] = field(default_factory=list)  # deferred (kind, payload) counted at preview


# ---- compilation -----------------------------------------------------------------------------------


def _kinds(t: ir.Table) -> dict[str, Kind]:
    return {name: kind_of(str(dtype)) for name, dtype in t.schema().items()}


def _label_kind(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))  # type: ignore[call-overload]


def _need(t: ir.Table, column: str, fail: Any, role: str = "") -> None:
    if column not in t.columns:
        fail(f"{role}列「{column}」はありません（前の手順までの列: {'、'.join(t.columns)}）。")


def _check_name(name: str, fail: Any) -> str:
    name = name.strip()
    if not name:
        fail("列名を入力してください。")
    if len(name) > 100:
        fail(f"列名「{name[:20]}…」が長すぎます（最大100文字）。")
    # The lake (Delta without column mapping) refuses these characters; "_" starts system columns.
    if _FORBIDDEN_IN_NAME.search(name) or name.startswith("_"):
        fail(f"列名「{name}」には空白や記号（, ; {{ }} ( ) =）を使えず、「_」で始めることもできません。")
    return name


_TEMPORAL_KINDS = frozenset({"date", "datetime"})


def _by_month(norm: KeyNormalise, left_kind: str, right_kind: str) -> bool:
    """Whether this key pair is compared by month index."""
    return norm.month_index and bool({left_kind, right_kind} & _TEMPORAL_KINDS)


def _normalised_key(value: ir.Value, norm: KeyNormalise, kind: str, *, by_month: bool = False) -> ir.Value:
    if by_month:
        return month_index_of(value) if kind in _TEMPORAL_KINDS else value.cast("int64")
    if not norm.textual:
        return value
    v = value if kind == "string" else value.cast("string")
    if norm.nfkc:
        v = _nfkc_lower(v)
    v = v.strip()
    if norm.strip_leading_zeros:
        v = v.re_replace(r"^0+(?=.)", "")
    if norm.zero_pad is not None:
        v = ibis.ifelse(v.length() >= norm.zero_pad, v, v.lpad(norm.zero_pad, "0"))
    return v


def _check_keys(cur: ir.Table, other: ir.Table, step: JoinStep, fail: Any) -> None:
    """Each key pair exists on its side and the two kinds can be compared (as they are, as text, by month)."""
    lk, rk = _kinds(cur), _kinds(other)
    for k in step.keys:
        _need(cur, k.left, fail, "キーの")
        if k.right not in other.columns:
            fail(f"結合する表にキーの列「{k.right}」はありません（列: {'、'.join(other.columns)}）。")
        if _by_month(step.normalise, lk[k.left], rk[k.right]):
            for name, kind in ((k.left, lk[k.left]), (k.right, rk[k.right])):
                if kind not in ("date", "datetime", "integer"):
                    fail(
                        f"「月で結ぶ」には日付か整数（月番号）の列を選んでください（列「{name}」: {_label_kind(kind)}）。"
                    )
            continue
        if lk[k.left] != rk[k.right] and not step.normalise.textual:
            if {lk[k.left], rk[k.right]} <= NUMERIC_KINDS:
                continue
            fail(
                f"キーの型が違います（左「{k.left}」: {_label_kind(lk[k.left])}、右「{k.right}」: {_label_kind(rk[k.right])}）。"
                "「キーを文字として揃える」を選ぶと、先頭の0や全角・半角の違いも揃えられます。"
            )


def _compile_join(cur: ir.Table, step: JoinStep, tables: Mapping[str, ir.Table], fail: Any) -> _Stage:
    if step.source not in tables:
        fail(f"結合する表「{step.source}」が元の表にありません。")
    other = tables[step.source]
    if not step.keys:
        fail("結合のキーを1組以上選んでください。")
    lk, rk = _kinds(cur), _kinds(other)
    _check_keys(cur, other, step, fail)
    key_names = [f"__key{i}" for i in range(len(step.keys))]
    right_keys = {k.right for k in step.keys}
    wanted = list(step.columns) if step.columns else [c for c in other.columns if c not in right_keys]
    for c in wanted:
        if c not in other.columns:
            fail(f"結合する表に列「{c}」はありません。")
    renamed: dict[str, str] = {}
    for c in wanted:
        new = c if c not in cur.columns else f"{c}{step.suffix}"
        if new in cur.columns or new in renamed.values():
            fail(f"結合で加える列「{new}」が今の表の列と重なります。別の接尾辞を指定してください。")
        renamed[c] = new
    months = [_by_month(step.normalise, lk[k.left], rk[k.right]) for k in step.keys]
    left = cur.mutate(
        **{
            n: _normalised_key(cur[k.left], step.normalise, lk[k.left], by_month=m)
            for n, k, m in zip(key_names, step.keys, months, strict=True)
        }
    )
    right = other.select(
        *[
            _normalised_key(other[k.right], step.normalise, rk[k.right], by_month=m).name(n)
            for n, k, m in zip(key_names, step.keys, months, strict=True)
        ],
        *[other[c].name(new) for c, new in renamed.items()],
    )
    right_r = right.select(
        *[right[n].name(f"{n}r") for n in key_names], *[right[c] for c in renamed.values()]
    )
    joined = left.join(right_r, [left[n] == right_r[f"{n}r"] for n in key_names], how=step.how)
    result = joined.select(*cur.columns, *renamed.values())
    stage = _Stage(result, StepReport(0, "join", STEP_LABELS["join"]))
    stage.checks.append(("join", (left, right, key_names, step)))
    return stage


def _compile_stack(
    cur: ir.Table,
    step: StackStep,
    *,
    tables: Mapping[str, ir.Table],
    labels: Mapping[str, str],
    start: str,
    fail: Any,
) -> ir.Table:
    if not step.sources:
        fail("積み重ねる表を1つ以上選んでください。")
    col = _check_name(step.source_column, fail)
    if col in cur.columns:
        fail(f"出典の列名「{col}」は既にあります。別の名前にしてください。")
    parts = [cur.mutate(**{col: ibis.literal(labels.get(start, start), type="string")})]
    base = dict(cur.schema().items())
    for alias in step.sources:
        if alias not in tables:
            fail(f"積み重ねる表「{alias}」が元の表にありません。")
        other = tables[alias]
        theirs = dict(other.schema().items())
        missing = [c for c in base if c not in theirs]
        extra = [c for c in theirs if c not in base]
        if missing or extra:
            parts_msg = []
            if missing:
                parts_msg.append("ない列: " + "、".join(missing))
            if extra:
                parts_msg.append("余分な列: " + "、".join(extra))
            fail(
                f"表「{labels.get(alias, alias)}」の列が違うため積み重ねられません（{'／'.join(parts_msg)}）。"
            )
        differ = [c for c in base if kind_of(str(base[c])) != kind_of(str(theirs[c]))]
        if differ:
            fail(f"表「{labels.get(alias, alias)}」の列の型が違います: {'、'.join(differ)}。")
        aligned = other.select(*[other[c].cast(base[c]) for c in base])
        parts.append(aligned.mutate(**{col: ibis.literal(labels.get(alias, alias), type="string")}))
    return ibis.union(*parts, distinct=False)


def _compile_unpivot(cur: ir.Table, step: UnpivotStep, fail: Any) -> ir.Table:
    if not step.columns:
        fail("縦持ちにする列を1つ以上選んでください。")
    for c in step.columns:
        _need(cur, c, fail)
    names_to, values_to = _check_name(step.names_to, fail), _check_name(step.values_to, fail)
    for n in (names_to, values_to):
        if n in cur.columns and n not in step.columns:
            fail(f"列名「{n}」は既にあります。別の名前にしてください。")
    kinds = {_kinds(cur)[c] for c in step.columns}
    if len(kinds) > 1 and not kinds <= NUMERIC_KINDS:
        fail(
            "縦持ちにする列の型がそろっていません（"
            + "、".join(f"{c}: {_label_kind(_kinds(cur)[c])}" for c in step.columns)
            + "）。"
        )
    target = "float64" if len(kinds) > 1 else None
    src = cur.mutate(**{c: cur[c].cast(target) for c in step.columns}) if target else cur
    keep = [c for c in cur.columns if c not in step.columns]
    longer = src.pivot_longer(list(step.columns), names_to=names_to, values_to=values_to)
    if step.names_as_integer:
        longer = longer.mutate(
            **{names_to: _nfkc_lower(longer[names_to]).re_extract(r"(\d+)", 1).try_cast("int64")}
        )
    return longer.select(*keep, names_to, values_to)


_AGG_LABELS = {
    "count": "件数",
    "sum": "合計",
    "avg": "平均",
    "min": "最小",
    "max": "最大",
    "count_distinct": "種類数",
}


def _compile_aggregate(cur: ir.Table, step: AggregateStep, fail: Any) -> ir.Table:
    kinds = _kinds(cur)
    for c in step.by:
        _need(cur, c, fail, "集計の単位の")
    if not step.measures:
        fail("集計する値を1つ以上選んでください。")
    metrics: dict[str, ir.Value] = {}
    for m in step.measures:
        if m.op == "count" and m.column is None:
            name = m.name or "件数"
            metrics[_check_name(name, fail)] = cur.count()
            continue
        if m.column is None:
            fail(f"「{_AGG_LABELS[m.op]}」には列を選んでください。")
        assert m.column is not None
        _need(cur, m.column, fail)
        if m.op in ("sum", "avg") and kinds[m.column] not in NUMERIC_KINDS:
            fail(
                f"列「{m.column}」は{_label_kind(kinds[m.column])}なので「{_AGG_LABELS[m.op]}」は計算できません。"
            )
        col = cur[m.column]
        method = {"avg": "mean", "count_distinct": "nunique"}.get(m.op, m.op)
        value = getattr(col, method)()
        name = _check_name(m.name or f"{m.column}_{_AGG_LABELS[m.op]}", fail)
        if name in metrics or name in step.by:
            fail(f"集計の列名「{name}」が重複しています。")
        metrics[name] = value
    if step.by:
        return cur.group_by(list(step.by)).aggregate(**metrics)
    return cur.aggregate(**metrics)


def _compile_recode(
    cur: ir.Table, step: RecodeStep, codelists: Mapping[str, Mapping[str, str]], fail: Any
) -> _Stage:
    _need(cur, step.column, fail)
    if step.codelist not in codelists:
        fail(f"コード表「{step.codelist}」が見つかりません。")
    mapping = {str(k): str(v) for k, v in codelists[step.codelist].items()}
    if not mapping:
        fail(f"コード表「{step.codelist}」にコードがありません。")
    target = _check_name(step.target or f"{step.column}_名称", fail)
    if target in cur.columns and target != step.column:
        fail(f"列名「{target}」は既にあります。")
    code = cur[step.column].cast("string").strip()
    name = code.substitute(mapping, else_=ibis.null("string"))
    if step.unmapped == "keep":
        name = ibis.coalesce(name, code)
    result = cur.mutate(**{target: name})
    stage = _Stage(result, StepReport(0, "recode", STEP_LABELS["recode"]))
    stage.checks.append(("recode", (cur, code, list(mapping), step)))
    return stage


def _compile_step(  # noqa: PLR0912 — one branch per step type
    cur: ir.Table,
    step: Any,
    *,
    index: int,
    tables: Mapping[str, ir.Table],
    codelists: Mapping[str, Mapping[str, str]],
    labels: Mapping[str, str],
    start: str,
) -> _Stage:
    def fail(message: str) -> None:
        raise RecipeStepError(index, step.type, message)

    checks: list[tuple[str, Any]] = []
    if isinstance(step, SelectStep):
        cols = list(step.columns) or list(cur.columns)
        for c in cols:
            _need(cur, c, fail)
        for old in step.rename:
            if old not in cols:
                fail(f"名前を変える列「{old}」は選ばれていません。")
        names = [_check_name(step.rename.get(c, c), fail) for c in cols]
        if len(set(names)) != len(names):
            fail("同じ列名が2つになります。")
        result = cur.select(*[cur[c].name(n) for c, n in zip(cols, names, strict=True)])
    elif isinstance(step, FilterStep):
        try:
            checked = TableQuery(filters=step.filters).validate_against(cur.schema().to_pyarrow())
        except EngineQueryError as exc:
            fail(exc.message)
        result = cur.filter([predicate(cur, f) for f in checked.filters]) if checked.filters else cur
    elif isinstance(step, JoinStep):
        stage = _compile_join(cur, step, tables, fail)
        result, checks = stage.table, stage.checks
    elif isinstance(step, CalculateStep):
        name = _check_name(step.name, fail)
        try:
            expr: Expression = parse_expression(step.expression, _kinds(cur))
        except EngineQueryError as exc:
            fail(f"計算列「{name}」の式: {exc.message}")
        result = cur.mutate(**{name: expr.build(cur)})
        if expr.divisors:
            checks.append(("divide", (cur, expr, name)))
    elif isinstance(step, RecodeStep):
        stage = _compile_recode(cur, step, codelists, fail)
        result, checks = stage.table, stage.checks
    elif isinstance(step, UnpivotStep):
        result = _compile_unpivot(cur, step, fail)
    elif isinstance(step, StackStep):
        result = _compile_stack(cur, step, tables=tables, labels=labels, start=start, fail=fail)
    elif isinstance(step, AggregateStep):
        result = _compile_aggregate(cur, step, fail)
    else:  # pragma: no cover — the discriminated union covers every type
        fail("この手順には対応していません。")
    report = StepReport(index, step.type, STEP_LABELS[step.type], columns=list(result.columns))
    return _Stage(result, report, checks)


def compile_recipe(
    recipe: Recipe,
    tables: Mapping[str, ir.Table],
    *,
    codelists: Mapping[str, Mapping[str, str]] | None = None,
    upto: int | None = None,
    materialise: Callable[[ir.Table], ir.Table] | None = None,
) -> list[_Stage]:
    """Compile the steps (through step ``upto``, default all) over ``{alias: Ibis table}``; stage 0 is the starting table.

    ``materialise`` (given when the steps are counted and checked before a run) stores each aggregate's
    small result, so the checks and the result after it do not recompute the whole pipeline again.
    """
    codelists = codelists or {}
    labels = {s.alias: s.label or s.alias for s in recipe.sources}
    start = recipe.sources[0].alias
    if start not in tables:
        raise EngineQueryError(f"元の表「{start}」が読み込めません。")
    cur = tables[start]
    stages = [_Stage(cur, StepReport(0, "source", "元の表", columns=list(cur.columns)))]
    for index, step in enumerate(recipe.steps[:upto] if upto is not None else recipe.steps, start=1):
        stage = _compile_step(
            cur, step, index=index, tables=tables, codelists=codelists, labels=labels, start=start
        )
        if materialise is not None and step.type == "aggregate":
            stage.table = materialise(stage.table)
        stages.append(stage)
        cur = stage.table
    return stages


# ---- running -------------------------------------------------------------------------------------


@contextmanager
def _open(
    files: Mapping[str, Sequence[str]],
    schemas: Mapping[str, pa.Schema] | None,
    *,
    exclude: Sequence[str],
    timeout_s: float,
    threads: int,
    memory_limit: str,
) -> Iterator[tuple[QuerySession, dict[str, ir.Table]]]:
    all_files = [f for fs in files.values() for f in fs]
    opened: AbstractContextManager[QuerySession]
    if engine_name() == "spark":
        opened = open_spark([], timeout_s=timeout_s)
    else:
        opened = open_sandbox(
            [], read_paths=all_files, timeout_s=timeout_s, threads=threads, memory_limit=memory_limit
        )
    with opened as sb:
        tables: dict[str, ir.Table] = {}
        for alias, fs in files.items():
            t = sb.read(list(fs), (schemas or {}).get(alias))
            if t is None:
                raise EngineQueryError(f"元の表「{alias}」にはデータがありません。")
            keep = [c for c in t.columns if not _excluded(c, exclude)]
            tables[alias] = t.select(*keep)
        yield sb, tables


def _excluded(column: str, exclude: Sequence[str]) -> bool:
    return any(column == e or (e.startswith("*") and column.endswith(e[1:])) for e in exclude)


def _scalar(sb: QuerySession, expr: ir.Scalar) -> Any:
    return sb.scalar(expr)


def _run_checks(sb: QuerySession, stage: _Stage) -> None:
    for kind, payload in stage.checks:
        if kind == "join":
            _join_findings(sb, stage.report, payload)
        elif kind == "divide":
            cur, expr, name = payload
            zeros = int(_scalar(sb, expr.zero_divisions(cur)) or 0)
            if zeros:
                stage.report.findings.append(
                    {
                        "level": "warning",
                        "code": "division_by_zero",
                        "message": f"計算列「{name}」: {zeros:,}行で0による割り算があり、その行は空欄にしました。",
                        "rows": zeros,
                    }
                )
        elif kind == "recode":
            cur, code, codes, step = payload
            coded = cur.mutate(__code=code)
            unmapped = coded.filter(coded["__code"].notnull() & ~coded["__code"].isin(codes))
            counts = (
                unmapped.group_by("__code")
                .aggregate(n=unmapped.count())
                .order_by(
                    [ibis.desc("n"), ibis.asc("__code")]
                )  # ties by code: the same examples on every engine
            )
            top = sb.to_arrow(counts.limit(SAMPLE_KEYS)).to_pylist()
            total = int(_scalar(sb, unmapped.count()) or 0)
            distinct = int(_scalar(sb, unmapped["__code"].nunique()) or 0)
            if total:
                examples = "、".join(f"{r['__code']}（{r['n']:,}行）" for r in top)
                level = "error" if step.unmapped == "error" else "warning"
                after = {
                    "error": "コード表に追加するか、「対応のないコードはそのまま残す／空欄にする」を選んでください。",
                    "keep": "元のコードのまま残しました。",
                    "blank": "名称を空欄にしました。",
                }[step.unmapped]
                stage.report.findings.append(
                    {
                        "level": level,
                        "code": "unmapped_codes",
                        "message": f"列「{step.column}」にコード表「{step.codelist}」にないコードが{distinct:,}種類（{total:,}行）あります: {examples}。{after}",
                        "rows": total,
                        "codes": [{"code": r["__code"], "rows": r["n"]} for r in top],
                    }
                )


def _temp(sb: QuerySession, expr: ir.Table) -> ir.Table:
    """Materialise a small intermediate result (a temporary table on DuckDB, a local checkpoint on Spark)."""
    return sb.temp(expr)


def _join_findings(
    sb: QuerySession, report: StepReport, payload: tuple[ir.Table, ir.Table, list[str], JoinStep]
) -> None:
    left, right, keys, step = payload
    lkeys = left.select(*keys)
    rkeys = right.select(*keys)
    # Each side's distinct keys with their row counts are used five times: computed once.
    lgroups = _temp(sb, lkeys.group_by(keys).aggregate(n=lkeys.count()))
    rgroups = _temp(sb, rkeys.group_by(keys).aggregate(n=rkeys.count()))
    sides: dict[str, dict[str, Any]] = {}
    for side, mine, theirs in (("left", lgroups, rgroups), ("right", rgroups, lgroups)):
        unmatched = mine.anti_join(theirs, keys)
        # Ties by key, so that every engine names the same examples in the same order.
        ranked = unmatched.order_by([ibis.desc("n"), *(ibis.asc(k) for k in keys)])
        top = sb.to_arrow(ranked.limit(SAMPLE_KEYS)).to_pylist()
        distinct = int(_scalar(sb, unmatched.count()) or 0)
        rows = int(_scalar(sb, unmatched.n.sum().fill_null(0)) or 0)
        sides[side] = {
            "keys": distinct,
            "rows": rows,
            "examples": [
                {"key": " / ".join("" if r[k] is None else str(r[k]) for k in keys), "rows": r["n"]}
                for r in top
            ],
        }
    report.findings.append(
        {"level": "info", "code": "join_unmatched", "message": _unmatched_message(sides), **sides}
    )
    # Row counts come from the key groups, not from the (much larger) joined rows: the left side's
    # rows are the sum of its groups; the joined rows are matched pairs (+ unmatched left rows).
    left_rows = int(_scalar(sb, lgroups.n.sum().fill_null(0)) or 0)
    matched_left = left_rows - sides["left"]["rows"]
    pairs = lgroups.join(rgroups, keys).select(n=lambda t: t.n * t.n_right)
    joined_rows = int(_scalar(sb, pairs.n.sum().fill_null(0)) or 0) + (
        sides["left"]["rows"] if step.how == "left" else 0
    )
    report.rows = joined_rows
    if left_rows and matched_left == 0:
        report.findings.append(
            {
                "level": "warning",
                "code": "join_no_match",
                "message": "キーが1件も一致しません。全角・半角、先頭の0、型（数と文字）の違いがないか確かめ、「キーを揃える」を使ってください。",
            }
        )
    if matched_left < left_rows:
        _width_finding(sb, report, (lgroups, rgroups), keys, step)
    rdup_groups = rgroups.filter(rgroups.n > 1)
    rdup = int(_scalar(sb, rdup_groups.count()) or 0)
    # Many-to-many: the same key repeated on both sides (rows multiply); one-to-many: only on the other side.
    both = int(_scalar(sb, lgroups.filter(lgroups.n > 1).join(rdup_groups, keys).count()) or 0) if rdup else 0
    if rdup:
        many = both > 0
        level = "error" if many and not step.allow_many_to_many else "warning"
        kind = "多対多" if many else "1対多"
        report.findings.append(
            {
                "level": level,
                "code": "many_to_many" if many else "one_to_many",
                "message": (
                    f"{kind}の結合です: 結合する表でキーが重複しています（{rdup:,}種類のキー）。"
                    f"行数が{left_rows:,}行から{joined_rows:,}行に変わります。"
                    + ("キーを追加するか、先に結合する表を集計してください。" if level == "error" else "")
                ),
                "left_rows": left_rows,
                "joined_rows": joined_rows,
                "duplicated_keys": rdup,
            }
        )


def _width_finding(
    sb: QuerySession,
    report: StepReport,
    groups_by_side: tuple[ir.Table, ir.Table],
    keys: list[str],
    step: JoinStep,
) -> None:
    """Warn when a key's text widths differ between the sides (5- and 6-digit codes, zeros lost by Excel)."""
    for key, pair in zip(keys, step.keys, strict=True):
        name = pair.left if pair.left == pair.right else f"{pair.left}／{pair.right}"
        widths = []
        for groups in groups_by_side:
            length = groups[key].cast("string").length()
            found = sb.to_arrow(groups.select(w=length).distinct().order_by("w").limit(5)).column("w")
            widths.append([w for w in found.to_pylist() if w is not None])
        mine, theirs = widths
        if mine and theirs and not set(mine) & set(theirs):
            report.findings.append(
                {
                    "level": "warning",
                    "code": "key_widths",
                    "message": (
                        f"キー「{name}」の桁数が違います（今の表: {'・'.join(map(str, mine))}桁、"
                        f"結合する表: {'・'.join(map(str, theirs))}桁）。全国地方公共団体コードの5桁と6桁、"
                        "Excelで消えた先頭の0などを確かめ、「先頭を0で埋めて桁数を揃える」などで揃えてください。"
                    ),
                }
            )


def _unmatched_message(sides: dict[str, dict[str, Any]]) -> str:
    parts = []
    for side, word in (("left", "今の表"), ("right", "結合する表")):
        s = sides[side]
        if s["keys"]:
            ex = "、".join(e["key"] for e in s["examples"][:5])
            parts.append(f"{word}の{s['keys']:,}種類のキー（{s['rows']:,}行）が相手にありません（例: {ex}）")
    return "。".join(parts) + "。" if parts else "すべてのキーが一致しました。"


# Steps that never change the number of rows: their count is the previous step's (no query).
_ROW_PRESERVING = frozenset({"select", "calculate", "recode"})


def _count_and_check(sb: QuerySession, stages: list[_Stage]) -> None:
    """Count rows after each step and collect its findings (the preview's work)."""
    previous: int | None = None
    for stage in stages:
        _run_checks(sb, stage)  # a join's checks also give its row count, from the key groups
        if stage.report.rows is not None:
            pass
        elif stage.report.type in _ROW_PRESERVING and previous is not None:
            stage.report.rows = previous
        else:
            stage.report.rows = int(_scalar(sb, stage.table.count()) or 0)
        previous = stage.report.rows


def _guard(sb: QuerySession, stages: list[_Stage]) -> None:
    """Before a run: only the checks that can stop it, all probed in one small query; raise at the first error.

    Warnings and counts (unmatched keys, divisions by zero, each step's rows) belong to the preview, which
    the recipe page shows before anyone runs it; a run must only refuse what would write a wrong table:

    * a join whose other side repeats a key (a many-to-many join, unless allowed, is an error): the
      probe groups the other side's keys (a lookup table is small);
    * a recode whose unmapped codes are an error: the probe looks for one unmapped code.

    Each probe yields at most one row naming its step; all of them run as one query. Only for a step
    that a probe named are the full findings computed (both sides' key groups and the row counts for
    the message, or the unmapped codes with examples), exactly as the preview words them.
    """
    probes: list[ir.Table] = []
    for number, stage in enumerate(stages):
        for kind, payload in stage.checks:
            hit: ir.Table | None = None
            if kind == "join" and not payload[3].allow_many_to_many:
                rkeys = payload[1].select(*payload[2])
                groups = rkeys.group_by(payload[2]).aggregate(n=rkeys.count())
                hit = groups.filter(groups.n > 1)
            elif kind == "recode" and payload[3].unmapped == "error":
                cur, code, codes, _step = payload
                hit = cur.filter(code.notnull() & ~code.isin(codes))
            if hit is not None:
                probes.append(hit.select(__stage=ibis.literal(number, type="int64")).limit(1))
    if not probes:
        return
    # Streamed rather than to_arrow: the same rows without Ibis's result conversion (~10 ms a query).
    union = ibis.union(*probes, distinct=False)
    found = set(sb.stream(union, batch_rows=1024).read_all().column("__stage").to_pylist())
    for number, stage in enumerate(stages):
        if number not in found:
            continue
        for kind, payload in stage.checks:
            if kind == "join":
                _join_findings(sb, stage.report, payload)
            elif kind == "recode":
                _run_checks(sb, _Stage(stage.table, stage.report, [(kind, payload)]))
        if stage.report.errors:
            raise RecipeStepError(stage.report.index, stage.report.type, stage.report.errors[0]["message"])


def preview_recipe(
    files: Mapping[str, Sequence[str]],
    recipe: Recipe,
    *,
    codelists: Mapping[str, Mapping[str, str]] | None = None,
    schemas: Mapping[str, pa.Schema] | None = None,
    exclude: Sequence[str] = (),
    limit: int = 20,
    upto: int | None = None,
    timeout_s: float = 30,
    threads: int = DEFAULT_THREADS,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
) -> RecipePreview:
    """Compile the recipe over ``{alias: files}``, count rows after each step, collect findings, and return the first rows.

    ``upto`` stops after that step (the UI previews one step); ``exclude`` drops columns
    (``"_id"``, ``"*__raw"``) from every source before the steps.
    """
    with _open(
        files, schemas, exclude=exclude, timeout_s=timeout_s, threads=threads, memory_limit=memory_limit
    ) as (sb, tables):
        stages = compile_recipe(
            recipe, tables, codelists=codelists, upto=upto, materialise=lambda e: _temp(sb, e)
        )
        _count_and_check(sb, stages)
        final = stages[-1].table
        rows = sb.to_arrow(final.limit(limit))
        return RecipePreview(steps=[s.report for s in stages], table=rows, schema=final.schema().to_pyarrow())


@dataclass
class RecipeStream:
    """An open result: the Arrow schema, a batch reader, and each step's report (counts and findings)."""

    schema: pa.Schema
    reader: pa.RecordBatchReader
    steps: list[StepReport]


@contextmanager
def stream_recipe(
    files: Mapping[str, Sequence[str]],
    recipe: Recipe,
    *,
    codelists: Mapping[str, Mapping[str, str]] | None = None,
    schemas: Mapping[str, pa.Schema] | None = None,
    exclude: Sequence[str] = (),
    check: bool = True,
    batch_rows: int = 65_536,
    timeout_s: float = 3600,
    threads: int = DEFAULT_THREADS,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
) -> Iterator[RecipeStream]:
    """Open the recipe's result as one query streamed as Arrow batches, after the checks that can stop a run.

    The whole recipe is compiled into one query (no intermediate step is materialised). With ``check``
    the error-level checks run first (:func:`_guard`: many-to-many joins, unmapped codes that are an
    error) and raise :class:`RecipeStepError` before a single row is produced (so the caller writes
    nothing). Rows after each step and the warnings are the preview's (:func:`preview_recipe`); here
    the step reports carry only their columns (and the findings of a check that ran).
    """
    with _open(
        files, schemas, exclude=exclude, timeout_s=timeout_s, threads=threads, memory_limit=memory_limit
    ) as (sb, tables):
        stages = compile_recipe(recipe, tables, codelists=codelists)
        if check:
            _guard(sb, stages)
        final = stages[-1].table
        schema = final.schema().to_pyarrow()
        reader = sb.stream(final, batch_rows=batch_rows)
        yield RecipeStream(schema=schema, reader=reader, steps=[s.report for s in stages])
