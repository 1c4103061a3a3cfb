"""Forms of the recipe pages: a new recipe, and one small form per step type turned into a step dict.

The step forms only shape what staff chose into the recipe's JSON; whether it fits the table (columns,
types, keys) is checked by the engine through the service, and its Japanese message is shown at the step.
"""

from __future__ import annotations

from typing import Any

from django import forms

from machidata.core.errors import InvalidInput

STEP_TYPES: dict[str, str] = {
    "select": "列を選ぶ・名前を変える",
    "filter": "行を絞り込む",
    "join": "別の表を結合する",
    "calculate": "計算した列を加える",
    "recode": "コードを名称に置き換える",
    "unpivot": "年・月の列を縦に並べ替える（縦持ち）",
    "stack": "同じ形の表を積み重ねる",
    "aggregate": "まとめて数える・合計する（集計）",
}
FILTER_OPS: dict[str, str] = {
    "eq": "等しい",
    "ne": "等しくない",
    "contains": "含む",
    "gt": "より大きい",
    "ge": "以上",
    "lt": "より小さい",
    "le": "以下",
    "is_null": "空欄",
    "not_null": "空欄でない",
}
MEASURES: dict[str, str] = {
    "count": "件数",
    "sum": "合計",
    "avg": "平均",
    "min": "最小",
    "max": "最大",
    "count_distinct": "種類の数",
}


class RecipeForm(forms.Form):
    """A new recipe: its name, the table it starts from and where the result goes."""

    title = forms.CharField(label="加工の手順の名前", max_length=200)
    source = forms.ChoiceField(label="元の表")
    dataset = forms.ChoiceField(label="作った表を入れるデータセット")
    table_name = forms.SlugField(
        label="作る表の名前（半角英数字）", max_length=100, help_text="URL に使います。例: dispatch-rate"
    )
    description = forms.CharField(label="説明", widget=forms.Textarea(attrs={"rows": 3}), required=False)


def _list(data: Any, name: str) -> list[str]:
    values = data.getlist(name) if hasattr(data, "getlist") else data.get(name, [])
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for v in values:
        out.extend(p.strip() for p in str(v).replace("、", ",").split(",") if p.strip())
    return out


def _text(data: Any, name: str) -> str:
    return str(data.get(name, "") or "").strip()


def _flag(data: Any, name: str) -> bool:
    return _text(data, name) in {"on", "1", "true"}


def step_from_post(data: Any) -> dict[str, Any]:  # noqa: PLR0911, PLR0912 — one shape per step type
    """The step dict a step form's POST describes (shape only; the engine checks the rest)."""
    kind = _text(data, "type")
    if kind not in STEP_TYPES:
        raise InvalidInput("手順の種類を選んでください。")
    if kind == "select":
        rename = {}
        for line in _text(data, "rename").splitlines():
            old, sep, new = line.partition("→") if "→" in line else line.partition("=")
            if sep and old.strip() and new.strip():
                rename[old.strip()] = new.strip()
        return {"type": "select", "columns": _list(data, "columns"), "rename": rename}
    if kind == "filter":
        op = _text(data, "op")
        if op not in FILTER_OPS:
            raise InvalidInput("条件を選んでください。")
        flt: dict[str, Any] = {"column": _text(data, "column"), "op": op}
        if op not in {"is_null", "not_null"}:
            flt["value"] = _text(data, "value")
        return {"type": "filter", "filters": [flt]}
    if kind == "join":
        pad = _text(data, "zero_pad")
        if pad and not pad.isdigit():
            raise InvalidInput("桁数は半角の数字で入力してください。")
        lefts, rights = _list(data, "left"), _list(data, "right")
        if not lefts or len(lefts) != len(rights):
            raise InvalidInput("結合のキーを、今の表と結合する表で同じ数だけ選んでください。")
        return {
            "type": "join",
            "source": _text(data, "source"),
            "keys": [{"left": a, "right": b} for a, b in zip(lefts, rights, strict=True)],
            "how": "inner" if _text(data, "how") == "inner" else "left",
            "normalise": {
                "as_text": _flag(data, "as_text"),
                "nfkc": _flag(data, "nfkc"),
                "zero_pad": int(pad) if pad else None,
                "strip_leading_zeros": _flag(data, "strip_leading_zeros"),
                "month_index": _flag(data, "month_index"),
            },
            "columns": _list(data, "columns"),
            "allow_many_to_many": _flag(data, "allow_many_to_many"),
        }
    if kind == "calculate":
        return {"type": "calculate", "name": _text(data, "name"), "expression": _text(data, "expression")}
    if kind == "recode":
        unmapped = _text(data, "unmapped") or "error"
        return {
            "type": "recode",
            "column": _text(data, "column"),
            "codelist": _text(data, "codelist"),
            "target": _text(data, "target"),
            "unmapped": unmapped if unmapped in {"error", "keep", "blank"} else "error",
        }
    if kind == "unpivot":
        return {
            "type": "unpivot",
            "columns": _list(data, "columns"),
            "names_to": _text(data, "names_to") or "項目",
            "values_to": _text(data, "values_to") or "値",
            "names_as_integer": _flag(data, "names_as_integer"),
        }
    if kind == "stack":
        return {
            "type": "stack",
            "sources": _list(data, "sources"),
            "source_column": _text(data, "source_column") or "出典",
        }
    measures = []
    for i in (1, 2, 3):
        op = _text(data, f"op{i}")
        if not op:
            continue
        if op not in MEASURES:
            raise InvalidInput("集計の方法を選んでください。")
        col = _text(data, f"column{i}") or None
        measures.append({"op": op, "column": col, "name": _text(data, f"name{i}")})
    return {"type": "aggregate", "by": _list(data, "by"), "measures": measures}


def describe_step(step: dict[str, Any], labels: dict[str, str]) -> str:  # noqa: PLR0911 — one sentence per step type
    """One Japanese sentence saying what a step does (``labels``: source alias → table title)."""
    kind = step.get("type")
    if kind == "select":
        cols = "、".join(step.get("columns") or []) or "すべての列"
        renames = "、".join(f"{a}→{b}" for a, b in (step.get("rename") or {}).items())
        return f"{cols}を残す" + (f"（名前の変更: {renames}）" if renames else "")
    if kind == "filter":
        parts = []
        for f in step.get("filters") or []:
            value = f.get("value")
            parts.append(
                f"「{f.get('column')}」が{'' if value is None else f'「{value}」'}{FILTER_OPS.get(f.get('op', ''), f.get('op'))}"
            )
        return "、".join(parts) + "行だけ残す"
    if kind == "join":
        keys = "、".join(f"{k.get('left')}＝{k.get('right')}" for k in step.get("keys") or [])
        how = "相手のない行も残す" if step.get("how", "left") == "left" else "相手のない行は除く"
        return f"表「{labels.get(step.get('source', ''), step.get('source'))}」をキー {keys} で結合（{how}）"
    if kind == "calculate":
        return f"列「{step.get('name')}」= {step.get('expression')}"
    if kind == "recode":
        return f"列「{step.get('column')}」をコード表「{step.get('codelist')}」で名称に置き換える"
    if kind == "unpivot":
        return f"{'、'.join(step.get('columns') or [])}を縦に並べる（列名→「{step.get('names_to')}」、値→「{step.get('values_to')}」）"
    if kind == "stack":
        names = "、".join(labels.get(a, a) for a in step.get("sources") or [])
        return f"{names}を下に積み重ねる（出典の列「{step.get('source_column')}」）"
    if kind == "aggregate":
        by = "、".join(step.get("by") or []) or "全体"
        ms = "、".join(
            f"{MEASURES.get(m.get('op', ''), m.get('op'))}{'（' + m['column'] + '）' if m.get('column') else ''}"
            for m in step.get("measures") or []
        )
        return f"{by}ごとに {ms}"
    return str(kind)
