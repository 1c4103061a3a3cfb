"""Formula indicators: an arithmetic expression over other indicators' actuals, e.g. ``i12 / i15 * 100``.

``iN`` names indicator N. Expressions are evaluated by ``simpleeval`` (no attribute access, no calls
except :data:`FUNCTIONS`, no imports); names are collected with the standard library's ``ast``.
"""

from __future__ import annotations

import ast
import math
import re
from typing import Final

from simpleeval import InvalidExpression, SimpleEval

FUNCTIONS: Final = {"round": round, "min": min, "max": max, "abs": abs}
NAME: Final = re.compile(r"^i([0-9]+)$")
MAX_LENGTH: Final = 300


class FormulaError(ValueError):
    """A formula that cannot be used or computed (message in Japanese)."""


def references(text: str) -> set[int]:
    """The indicator ids a formula names; Japanese error when it is not an expression or names something else."""
    text = (text or "").strip()
    if not text:
        raise FormulaError("計算式を入力してください（例: i12 / i15 * 100）。")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"計算式は{MAX_LENGTH}文字以内にしてください。")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise FormulaError(f"計算式「{text}」を読めません（例: i12 / i15 * 100）。") from None
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in FUNCTIONS:
            match = NAME.match(node.id)
            if match is None:
                raise FormulaError(
                    f"計算式の「{node.id}」は指標の番号ではありません（i と指標の番号で書きます。例: i12）。"
                )
            ids.add(int(match[1]))
    if not ids:
        raise FormulaError("計算式には、ほかの指標を一つ以上入れてください（例: i12 / i15 * 100）。")
    evaluate(
        text, dict.fromkeys(ids, 1.0)
    )  # refuses calls, attributes and the like now, not at the first computation
    return ids


def evaluate(text: str, values: dict[int, float]) -> float:
    """The formula's value for one year's inputs; Japanese error on 0 division, overflow or a refused feature."""
    evaluator = SimpleEval(names={f"i{k}": v for k, v in values.items()}, functions=FUNCTIONS)
    try:
        result = evaluator.eval(text)
    except ZeroDivisionError:
        raise FormulaError("0 で割っています。") from None
    except (OverflowError, ValueError):
        raise FormulaError("計算結果が大きすぎます。") from None
    except InvalidExpression as exc:
        raise FormulaError(f"計算式に使えないものがあります: {exc}") from None
    if isinstance(result, bool) or not isinstance(result, int | float) or not math.isfinite(result):
        raise FormulaError("計算結果が数値になりません。")
    return float(result)
