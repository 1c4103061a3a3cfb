"""A small expression language for calculated columns (計算列), checked against a schema and compiled to Ibis.

Why Python's :mod:`ast` under a whitelist rather than a grammar library (lark): the language staff
need is a subset of what Python already parses correctly (numbers, strings, arithmetic with the
usual precedence, comparisons, ``and``/``or``/``not``, function calls), ``ast`` is in the standard
library (no new dependency, maintained with Python itself), and walking a parsed tree under a strict
whitelist is the same safety argument as a grammar: every node type that is not listed below is
refused, nothing is ever evaluated by Python, and the tree is only translated into Ibis expressions
(so user text never becomes SQL text). A small scanner runs first and adds what spreadsheet users
type: ``[列名]`` for any column name (spaces, symbols), ``=`` and ``<>`` for equality, and
``if(...)`` (a Python keyword) as a function.

The language::

    [人口] * 1000 / [世帯数]            arithmetic (+ - * / %), "/" by 0 gives a blank cell and a warning
    if([年齢] >= 65, '高齢', 'その他')   conditions; case(c1, v1, c2, v2, ..., 既定値)
    year([日付]) month() day() fiscal_year() (年度, April start) wareki() (和暦の年, 例: 令和6年)
    month_index([日付]) (月番号: year × 12 + month − 1, so the previous month is month_index − 1)
    left(s, n) right(s, n) concat(a, b, ...) replace(s, 'a', 'b') trim(s) length(s) normalize(s) zero_pad(s, n)
    round(x, n) abs(x) coalesce(a, b) text(x) number(s) isblank(x)

Bare names work for columns whose name is a valid identifier (Python NFKC-normalises identifiers, so
a bare name is matched against the NFKC form of each column name; ``[...]`` is always exact).
"""

from __future__ import annotations

import ast
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir

from machidata.engine.compile import _nfkc_lower
from machidata.engine.errors import EngineQueryError
from machidata.engine.types import KIND_LABELS, Kind
from machidata.jp.wareki import ERAS

MAX_EXPRESSION_LENGTH = 2_000
MAX_NODES = 500

Builder = Callable[[ir.Table], ir.Value]

_IBIS_TYPE: dict[str, str] = {
    "string": "string",
    "integer": "int64",
    "number": "float64",
    "boolean": "boolean",
    "date": "date",
    "datetime": "timestamp",
    "time": "time",
}
_OP_WORDS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Mod: "%",
    ast.Eq: "=",
    ast.NotEq: "<>",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
}
_NUMERIC = frozenset({"integer", "number"})
_ORDERED = frozenset({"integer", "number", "string", "date", "datetime", "time"})


@dataclass(frozen=True, slots=True)
class Typed:
    """A checked sub-expression: its kind (``"null"`` for a bare blank) and how to build it over a table."""

    kind: str
    build: Builder


@dataclass
class Expression:
    """A parsed, schema-checked expression: its result kind, the columns it reads and its divisors."""

    text: str
    kind: Kind
    columns: list[str]
    root: Typed
    divisors: list[Builder] = field(default_factory=list)

    def build(self, table: ir.Table) -> ir.Value:
        """The Ibis value of this expression over ``table`` (which must have the checked columns)."""
        return self.root.build(table)

    def zero_divisions(self, table: ir.Table) -> ir.IntegerScalar:
        """How many rows divide by zero somewhere in the expression (their result is blank)."""
        if not self.divisors:
            return ibis.literal(0)
        hits = ibis.or_(*[(d(table) == 0).fill_null(False) for d in self.divisors])
        return hits.cast("int64").sum().fill_null(0)


def _scan(text: str) -> tuple[str, dict[str, str]]:
    """Rewrite spreadsheet habits into Python syntax; ``[name]`` becomes a placeholder identifier."""
    out: list[str] = []
    names: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"「":
            close = "」" if ch == "「" else ch
            end = text.find(close, i + 1)
            if end < 0:
                raise EngineQueryError("文字列の引用符（' または \"）が閉じていません。")
            out.append(repr(text[i + 1 : end]))
            i = end + 1
        elif ch == "[":
            end = text.find("]", i + 1)
            if end < 0:
                raise EngineQueryError("列名の「[」に対応する「]」がありません。")
            placeholder = f"__col{len(names)}__"
            names[placeholder] = text[i + 1 : end]
            out.append(placeholder)
            i = end + 1
        elif ch == "<" and text.startswith("<>", i):
            out.append("!=")
            i += 2
        elif ch in "<>!=" and text.startswith("=", i + 1):
            out.append(text[i : i + 2])
            i += 2
        elif ch == "=":
            out.append("==")
            i += 1
        else:
            out.append(unicodedata.normalize("NFKC", ch) if ch in "（），＋－＊／＝＜＞％　" else ch)
            i += 1
    scanned = "".join(out)
    # `if` is a Python keyword: as a function name it becomes `iif`.
    scanned = _replace_keyword_call(scanned, "if", "iif")
    return scanned, names


def _replace_keyword_call(text: str, word: str, replacement: str) -> str:
    """Replace ``word(`` (case-insensitive, not inside an identifier or a string literal) with ``replacement(``."""
    result: list[str] = []
    i, n, quote = 0, len(text), ""
    while i < n:
        ch = text[i]
        if quote:
            result.append(ch)
            if ch == "\\" and i + 1 < n:
                result.append(text[i + 1])
                i += 2
                continue
            if ch == quote:
                quote = ""
            i += 1
            continue
        if ch in "'\"":
            quote = ch
            result.append(ch)
            i += 1
            continue
        if text[i : i + len(word)].lower() == word and (
            i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")
        ):
            j = i + len(word)
            while j < n and text[j] == " ":
                j += 1
            if j < n and text[j] == "(":
                result.append(replacement)
                i += len(word)
                continue
        result.append(ch)
        i += 1
    return "".join(result)


def parse_expression(text: str, kinds: Mapping[str, Kind]) -> Expression:
    """Parse ``text`` and check it against ``{column: kind}``; raise :class:`EngineQueryError` in Japanese."""
    if not text or not text.strip():
        raise EngineQueryError("式を入力してください。")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise EngineQueryError(f"式が長すぎます（最大{MAX_EXPRESSION_LENGTH:,}文字）。")
    scanned, placeholders = _scan(text.strip())
    try:
        tree = ast.parse(scanned, mode="eval")
    except SyntaxError as exc:
        raise EngineQueryError(
            "式の書き方が正しくありません（括弧・引用符・演算子を確認してください）。"
        ) from exc
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise EngineQueryError("式が複雑すぎます。いくつかの計算列に分けてください。")
    checker = _Checker(kinds, placeholders)
    root = checker.visit(tree.body)
    if root.kind == "null":
        raise EngineQueryError("式の結果が常に空欄になります。")
    return Expression(
        text=text,
        kind=root.kind,  # type: ignore[arg-type]  # every non-null kind here is a Kind
        columns=list(dict.fromkeys(checker.columns)),
        root=root,
        divisors=checker.divisors,
    )


def _label(kind: str) -> str:
    return "空欄" if kind == "null" else KIND_LABELS.get(kind, kind)  # type: ignore[call-overload]


def _null(kind: str) -> ir.Value:
    return ibis.null(_IBIS_TYPE.get(kind, "string"))


def _common(a: Typed, b: Typed, what: str) -> str:
    """The kind two branches or operands share (integer widens to number, blank takes the other)."""
    if a.kind == "null":
        return b.kind
    if b.kind in ("null", a.kind):
        return a.kind
    if {a.kind, b.kind} <= _NUMERIC:
        return "number"
    if {a.kind, b.kind} == {"date", "datetime"}:
        return "datetime"
    raise EngineQueryError(f"{what}の型がそろっていません（{_label(a.kind)}と{_label(b.kind)}）。")


def _cast(t: Typed, kind: str) -> Builder:
    if t.kind == "null":
        return lambda tb: _null(kind)
    if t.kind == kind:
        return t.build
    return lambda tb: t.build(tb).cast(_IBIS_TYPE[kind])


class _Checker:
    """Walk the tree under a whitelist, infer kinds, and collect the Ibis builders."""

    def __init__(self, kinds: Mapping[str, Kind], placeholders: dict[str, str]) -> None:
        self.kinds = dict(kinds)
        self.placeholders = placeholders
        self.by_nfkc = {unicodedata.normalize("NFKC", c): c for c in kinds}
        self.columns: list[str] = []
        self.divisors: list[Builder] = []

    def visit(self, node: ast.AST) -> Typed:  # noqa: PLR0911 — one branch per node type
        if isinstance(node, ast.Constant):
            return self._constant(node.value)
        if isinstance(node, ast.Name):
            return self._column(node.id)
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        if isinstance(node, ast.UnaryOp):
            return self._unary(node)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.BoolOp):
            parts = [self._boolean(v, "and" if isinstance(node.op, ast.And) else "or") for v in node.values]
            join = ibis.and_ if isinstance(node.op, ast.And) else ibis.or_
            return Typed("boolean", lambda tb: join(*[p.build(tb) for p in parts]))
        if isinstance(node, ast.Call):
            return self._call(node)
        raise EngineQueryError(
            "式に使えない書き方が含まれています（使えるのは列・数・文字列・演算子・関数です）。"
        )

    # ---- leaves -----------------------------------------------------------------------------

    def _constant(self, value: Any) -> Typed:
        if value is None:
            return Typed("null", lambda tb: ibis.null())
        if isinstance(value, bool):
            return Typed("boolean", lambda tb: ibis.literal(value))
        if isinstance(value, int):
            return Typed("integer", lambda tb: ibis.literal(value, type="int64"))
        if isinstance(value, float):
            return Typed("number", lambda tb: ibis.literal(value, type="float64"))
        if isinstance(value, str):
            return Typed("string", lambda tb: ibis.literal(value, type="string"))
        raise EngineQueryError("式に使えない値が含まれています。")

    def _column(self, ident: str) -> Typed:
        if ident in self.placeholders:
            name = self.placeholders[ident]
            if name not in self.kinds:
                raise EngineQueryError(f"列「{name}」はこの表にありません。")
        elif ident in self.kinds:
            name = ident
        elif ident in self.by_nfkc:
            name = self.by_nfkc[ident]
        else:
            lowered = ident.lower()
            if lowered in ("true", "false"):
                return self._constant(lowered == "true")
            if lowered in ("null", "none", "blank"):
                return self._constant(None)
            raise EngineQueryError(
                f"列「{ident}」はこの表にありません（列名に記号や空白があるときは [列名] と書きます）。"
            )
        kind = self.kinds[name]
        if kind == "other":
            raise EngineQueryError(f"列「{name}」は式で使えない型です。")
        self.columns.append(name)
        return Typed(kind, lambda tb: tb[name])

    # ---- operators --------------------------------------------------------------------------

    def _binop(self, node: ast.BinOp) -> Typed:
        op = type(node.op)
        if op not in (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Mod):
            raise EngineQueryError("式に使えない演算子が含まれています（使えるのは + - * / % です）。")
        left, right = self.visit(node.left), self.visit(node.right)
        word = _OP_WORDS[op]
        if op is ast.Add and "string" in (left.kind, right.kind):
            if {left.kind, right.kind} - {"string", "null"}:
                raise EngineQueryError(
                    f"「+」で文字列と{_label(right.kind if left.kind == 'string' else left.kind)}はつなげません。concat(…) と text(…) を使ってください。"
                )
            return Typed("string", lambda tb: left.build(tb).concat(right.build(tb)))
        for side in (left, right):
            if side.kind not in _NUMERIC | {"null"}:
                raise EngineQueryError(
                    f"「{word}」は数どうしの計算に使います（{_label(side.kind)}には使えません）。"
                )
        if op in (ast.Div, ast.Mod):
            divisor = _cast(right, "number")
            self.divisors.append(divisor)
            dividend = _cast(left, "number")
            kind = "number" if op is ast.Div or "number" in (left.kind, right.kind) else "integer"

            def divide(tb: ir.Table) -> ir.Value:
                d = divisor(tb)
                safe = ibis.ifelse(d == 0, ibis.null("float64"), d)
                value = dividend(tb) / safe if op is ast.Div else dividend(tb) % safe
                return value.cast(_IBIS_TYPE[kind])

            return Typed(kind, divide)
        kind = _common(left, right, f"「{word}」の両側")
        lb, rb = _cast(left, kind), _cast(right, kind)
        fn: dict[type, Callable[[Any, Any], Any]] = {
            ast.Add: lambda a, b: a + b,
            ast.Sub: lambda a, b: a - b,
            ast.Mult: lambda a, b: a * b,
        }
        return Typed(kind, lambda tb: fn[op](lb(tb), rb(tb)))

    def _unary(self, node: ast.UnaryOp) -> Typed:
        inner = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            checked = self._boolean(node.operand, "not", typed=inner)
            return Typed("boolean", lambda tb: ~checked.build(tb))
        if inner.kind not in _NUMERIC:
            raise EngineQueryError(
                f"符号（+ -）は数にだけ付けられます（{_label(inner.kind)}には使えません）。"
            )
        if isinstance(node.op, ast.USub):
            return Typed(inner.kind, lambda tb: -inner.build(tb))
        return inner

    def _boolean(self, node: ast.AST, word: str, typed: Typed | None = None) -> Typed:
        t = typed or self.visit(node)
        if t.kind != "boolean":
            raise EngineQueryError(
                f"「{word}」には条件（比較など）を書いてください（{_label(t.kind)}が書かれています）。"
            )
        return t

    def _compare(self, node: ast.Compare) -> Typed:
        operands = [self.visit(node.left)] + [self.visit(c) for c in node.comparators]
        parts: list[Builder] = []
        for op, a, b in zip(node.ops, operands, operands[1:], strict=False):
            kind = type(op)
            if kind not in _OP_WORDS:
                raise EngineQueryError("式に使えない比較が含まれています（使えるのは = <> < <= > >= です）。")
            word = _OP_WORDS[kind]
            common = _common(a, b, f"「{word}」の両側")
            if kind not in (ast.Eq, ast.NotEq) and common not in _ORDERED:
                raise EngineQueryError(f"「{word}」は{_label(common)}どうしでは使えません。")
            ab, bb = _cast(a, common), _cast(b, common)
            ops: dict[type, Callable[[Any, Any], Any]] = {
                ast.Eq: lambda x, y: x == y,
                ast.NotEq: lambda x, y: x != y,
                ast.Lt: lambda x, y: x < y,
                ast.LtE: lambda x, y: x <= y,
                ast.Gt: lambda x, y: x > y,
                ast.GtE: lambda x, y: x >= y,
            }
            f = ops[kind]
            parts.append(lambda tb, f=f, ab=ab, bb=bb: f(ab(tb), bb(tb)))  # type: ignore[misc]
        return Typed("boolean", lambda tb: ibis.and_(*[p(tb) for p in parts]))

    # ---- functions ----------------------------------------------------------------------------

    def _call(self, node: ast.Call) -> Typed:
        if not isinstance(node.func, ast.Name) or node.keywords:
            raise EngineQueryError("関数は 名前(値, 値, …) の形で書いてください。")
        name = node.func.id.lower()
        spec = _FUNCTIONS.get(name) or _FUNCTIONS.get(_ALIASES.get(node.func.id, ""))
        if spec is None:
            raise EngineQueryError(
                f"関数「{node.func.id}」は使えません（使える関数は利用の手引きを参照してください）。"
            )
        args = [self.visit(a) for a in node.args]
        return spec(self, node.func.id, args)


def _arity(fname: str, args: list[Typed], lo: int, hi: int | None = None) -> None:
    hi = lo if hi is None else hi
    if not lo <= len(args) <= hi:
        want = f"{lo}個" if lo == hi else f"{lo}〜{hi}個" if hi < 99 else f"{lo}個以上"
        raise EngineQueryError(f"関数「{fname}」の引数は{want}です（{len(args)}個書かれています）。")


def _want(fname: str, arg: Typed, kinds: frozenset[str], what: str) -> None:
    if arg.kind not in kinds | {"null"}:
        raise EngineQueryError(
            f"関数「{fname}」には{what}を渡してください（{_label(arg.kind)}が渡されています）。"
        )


_TEMPORAL = frozenset({"date", "datetime"})
_STRING = frozenset({"string"})
_INT_ONLY = frozenset({"integer"})


def _f_if(c: _Checker, fname: str, args: list[Typed]) -> Typed:
    _arity(fname, args, 3)
    cond, a, b = args
    if cond.kind != "boolean":
        raise EngineQueryError(
            f"関数「{fname}」の1つ目には条件を書いてください（{_label(cond.kind)}が書かれています）。"
        )
    kind = _common(a, b, f"関数「{fname}」の2つ目と3つ目")
    if kind == "null":
        raise EngineQueryError(f"関数「{fname}」の結果が常に空欄になります。")
    ab, bb = _cast(a, kind), _cast(b, kind)
    return Typed(kind, lambda tb: ibis.ifelse(cond.build(tb).fill_null(False), ab(tb), bb(tb)))


def _f_case(c: _Checker, fname: str, args: list[Typed]) -> Typed:
    if len(args) < 2:
        raise EngineQueryError(
            f"関数「{fname}」は case(条件1, 値1, 条件2, 値2, …, 既定値) の形で書いてください。"
        )
    pairs = list(zip(args[0::2], args[1::2], strict=False))
    default = args[-1] if len(args) % 2 else None
    if default is not None:
        pairs = pairs[:-1] if len(pairs) * 2 > len(args) - 1 else pairs
    kind = "null"
    for i, (cond, value) in enumerate(pairs, start=1):
        if cond.kind != "boolean":
            raise EngineQueryError(f"関数「{fname}」の{i}つ目の条件が条件（比較など）になっていません。")
        kind = _common(Typed(kind, value.build), value, f"関数「{fname}」の値")
    if default is not None:
        kind = _common(Typed(kind, default.build), default, f"関数「{fname}」の値")
    if kind == "null":
        raise EngineQueryError(f"関数「{fname}」の結果が常に空欄になります。")
    built = [(cond, _cast(value, kind)) for cond, value in pairs]
    dflt = _cast(default, kind) if default is not None else (lambda tb: _null(kind))
    return Typed(
        kind,
        lambda tb: ibis.cases(
            *[(cond.build(tb).fill_null(False), v(tb)) for cond, v in built], else_=dflt(tb)
        ),
    )


def _date_part(part: str) -> Callable[[_Checker, str, list[Typed]], Typed]:
    def fn(c: _Checker, fname: str, args: list[Typed]) -> Typed:
        _arity(fname, args, 1)
        _want(fname, args[0], _TEMPORAL, "日付か日時")
        a = args[0]
        return Typed("integer", lambda tb: getattr(a.build(tb), part)().cast("int64"))

    return fn


def fiscal_year_of(value: ir.Value) -> ir.Value:
    """The fiscal year (年度, April–March) of a date or timestamp value."""
    return (value.year() - ibis.ifelse(value.month() < 4, 1, 0)).cast("int64")


def month_index_of(value: ir.Value) -> ir.Value:
    """The month as one integer (year × 12 + month − 1), so the previous month is ``index − 1`` across years."""
    return (value.year() * 12 + value.month() - 1).cast("int64")


def _f_month_index(c: _Checker, fname: str, args: list[Typed]) -> Typed:
    _arity(fname, args, 1)
    _want(fname, args[0], _TEMPORAL, "日付か日時")
    a = args[0]
    return Typed("integer", lambda tb: month_index_of(a.build(tb)))


def _f_fiscal_year(c: _Checker, fname: str, args: list[Typed]) -> Typed:
    _arity(fname, args, 1)
    _want(fname, args[0], _TEMPORAL, "日付か日時")
    a = args[0]
    return Typed("integer", lambda tb: fiscal_year_of(a.build(tb)))


def wareki_year_label(value: ir.Value) -> ir.Value:
    """The 和暦 year label of a date (令和6年, 令和元年, 平成31年); blank before 明治6年."""
    d = value.cast("date") if value.type().is_timestamp() else value
    cases = []
    for era in reversed(ERAS):
        year = d.year() - era.offset
        label = ibis.ifelse(
            year == 1,
            ibis.literal(f"{era.name}元年"),
            ibis.literal(era.name).concat(year.cast("string"), ibis.literal("年")),
        )
        cases.append((d >= ibis.literal(era.start, type="date"), label))
    return ibis.cases(*cases, else_=ibis.null("string"))


def _f_wareki(c: _Checker, fname: str, args: list[Typed]) -> Typed:
    _arity(fname, args, 1)
    _want(fname, args[0], _TEMPORAL, "日付か日時")
    a = args[0]
    return Typed("string", lambda tb: wareki_year_label(a.build(tb)))


def _string_fn(
    n_extra: int, kinds: tuple[frozenset[str], ...], build: Callable[..., ir.Value], result: str = "string"
) -> Callable[[_Checker, str, list[Typed]], Typed]:
    def fn(c: _Checker, fname: str, args: list[Typed]) -> Typed:
        _arity(fname, args, 1 + n_extra)
        _want(fname, args[0], _STRING, "文字列")
        for arg, k in zip(args[1:], kinds, strict=True):
            _want(fname, arg, k, "整数" if k == _INT_ONLY else "文字列")
        return Typed(result, lambda tb: build(*[a.build(tb) for a in args]))

    return fn


def _f_concat(c: _Checker, fname: str, args: list[Typed]) -> Typed:
    _arity(fname, args, 1, 99)
    casted = [a.build if a.kind == "string" else _as_text(a) for a in args]
    return Typed("string", lambda tb: ibis.literal("").concat(*[b(tb).fill_null("") for b in casted]))


def _as_text(a: Typed) -> Builder:
    if a.kind == "null":
        return lambda tb: ibis.null("string")
    return lambda tb: a.build(tb).cast("string")


def _f_text(c: _Checker, fname: str, args: list[Typed]) -> Typed:
    _arity(fname, args, 1)
    return Typed("string", _as_text(args[0]))


def _f_number(c: _Checker, fname: str, args: list[Typed]) -> Typed:
    _arity(fname, args, 1)
    a = args[0]
    if a.kind in _NUMERIC:
        return Typed("number", _cast(a, "number"))
    _want(fname, a, _STRING, "文字列か数")
    return Typed("number", lambda tb: a.build(tb).strip().try_cast("float64"))


def _f_round(c: _Checker, fname: str, args: list[Typed]) -> Typed:
    _arity(fname, args, 1, 2)
    _want(fname, args[0], _NUMERIC, "数")
    if len(args) == 2:
        _want(fname, args[1], _INT_ONLY, "整数（桁数）")
    digits = args[1] if len(args) == 2 else None
    a = args[0]
    if digits is None:
        return Typed("integer", lambda tb: a.build(tb).round().cast("int64"))
    return Typed("number", lambda tb: a.build(tb).cast("float64").round(digits.build(tb)))


def _f_abs(c: _Checker, fname: str, args: list[Typed]) -> Typed:
    _arity(fname, args, 1)
    _want(fname, args[0], _NUMERIC, "数")
    a = args[0]
    return Typed(a.kind, lambda tb: a.build(tb).abs())


def _f_coalesce(c: _Checker, fname: str, args: list[Typed]) -> Typed:
    _arity(fname, args, 2, 99)
    kind = args[0].kind
    for a in args[1:]:
        kind = _common(Typed(kind, a.build), a, f"関数「{fname}」の値")
    built = [_cast(a, kind) for a in args]
    return Typed(kind, lambda tb: ibis.coalesce(*[b(tb) for b in built]))


def _f_isblank(c: _Checker, fname: str, args: list[Typed]) -> Typed:
    _arity(fname, args, 1)
    a = args[0]
    if a.kind == "string":
        return Typed("boolean", lambda tb: a.build(tb).isnull() | (a.build(tb).strip() == ""))
    return Typed("boolean", lambda tb: a.build(tb).isnull())


def _zero_pad(s: ir.StringValue, n: ir.IntegerValue) -> ir.Value:
    return ibis.ifelse(s.length() >= n, s, s.lpad(n, "0"))


_FUNCTIONS: dict[str, Callable[[_Checker, str, list[Typed]], Typed]] = {
    "iif": _f_if,
    "case": _f_case,
    "year": _date_part("year"),
    "month": _date_part("month"),
    "day": _date_part("day"),
    "fiscal_year": _f_fiscal_year,
    "month_index": _f_month_index,
    "wareki": _f_wareki,
    "left": _string_fn(1, (_INT_ONLY,), lambda s, n: s.left(n)),
    "right": _string_fn(1, (_INT_ONLY,), lambda s, n: s.right(n)),
    "replace": _string_fn(2, (_STRING, _STRING), lambda s, a, b: s.replace(a, b)),
    "trim": _string_fn(0, (), lambda s: s.strip()),
    "length": _string_fn(0, (), lambda s: s.length().cast("int64"), result="integer"),
    "normalize": _string_fn(0, (), _nfkc_lower),
    "zero_pad": _string_fn(1, (_INT_ONLY,), _zero_pad),
    "concat": _f_concat,
    "text": _f_text,
    "number": _f_number,
    "round": _f_round,
    "abs": _f_abs,
    "coalesce": _f_coalesce,
    "isblank": _f_isblank,
}
# Japanese names staff may type (NFKC'd by Python's parser, so full-width letters work too).
_ALIASES: dict[str, str] = {
    "もし": "iif",
    "年": "year",
    "月": "month",
    "日": "day",
    "年度": "fiscal_year",
    "月番号": "month_index",
    "和暦": "wareki",
    "左": "left",
    "右": "right",
    "置換": "replace",
    "連結": "concat",
    "四捨五入": "round",
}
FUNCTION_NAMES: tuple[str, ...] = tuple(sorted({"if", *(_FUNCTIONS.keys() - {"iif"})}))
