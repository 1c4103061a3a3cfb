"""Logic model documents (pure functions, no Django): stage sets, validation, warnings, ids and diffs.

A logic model is one JSON document, saved whole as an immutable version::

    {"stage_set": "six",                       # or "four" (the RS system's 4 stages)
     "stage_labels": {"short": "初期アウトカム"},  # optional relabelling
     "nodes": [{"id": "n1", "stage": "activity", "number": "1", "statement": "…"}],
     "links": [{"id": "l1", "from": "n1", "to": "n2", "rationale": "…", "assumptions": "…",
                "evidence": [{"kind": "url", "ref": "https://…", "label": "…"}]}],
     "external_factors": ["…"]}

Validation errors are Japanese and refuse the save; warnings (from the national EBPM guidance) are
shown beside the diagram and never refuse anything. Cycles are found with the standard library's
``graphlib`` (a link graph need not be a tree; a cycle is reported, not refused).
"""

from __future__ import annotations

import difflib
import graphlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

# (key, label) in left-to-right order.
STAGE_SETS: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "six": (
        ("input", "インプット"),
        ("activity", "活動"),
        ("output", "アウトプット"),
        ("short", "短期アウトカム"),
        ("mid", "中期アウトカム"),
        ("long", "長期アウトカム・インパクト"),
    ),
    "four": (
        ("activity", "アクティビティ"),
        ("output", "アウトプット"),
        ("short", "短期アウトカム"),
        ("long", "長期アウトカム"),
    ),
}
STAGE_SET_LABELS: Final = {
    "six": "6段階（インプット〜インパクト）",
    "four": "4段階（行政事業レビューの様式）",
}
OUTCOME_STAGES: Final = frozenset({"short", "mid", "long"})
EVIDENCE_KINDS: Final = {
    "url": "URL", "dataset": "データセット", "chart": "グラフ", "analysis": "分析結果", "case": "事例",
    "document": "資料・文献",
}  # fmt: skip
NUMBERED_KINDS: Final = frozenset(
    {"analysis", "case"}
)  # referred to by their number (the saved analysis, the case)
STATEMENT_MAX, NUMBER_MAX, TEXT_MAX, LABEL_MAX = 300, 20, 1000, 40
MAX_NODES, MAX_LINKS, MAX_FACTORS = 80, 200, 30


class LogicModelError(ValueError):
    """A document that cannot be saved; ``errors`` lists every problem in Japanese."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def empty_document(stage_set: str = "six") -> dict[str, Any]:
    """A new, empty logic model."""
    return {"stage_set": stage_set, "stage_labels": {}, "nodes": [], "links": [], "external_factors": []}


def stages(document: dict[str, Any]) -> list[tuple[str, str]]:
    """The document's stages as (key, label), left to right, with its relabelling applied."""
    labels = document.get("stage_labels") or {}
    return [(k, str(labels.get(k) or v)) for k, v in STAGE_SETS.get(document.get("stage_set", "six"), ())]


def stage_label(document: dict[str, Any], key: str) -> str:
    """The label of one stage (the key itself when unknown)."""
    return dict(stages(document)).get(key, key)


def is_outcome(stage: str) -> bool:
    """Whether a node in ``stage`` is an outcome (成果)."""
    return stage in OUTCOME_STAGES


def _text(value: Any, *, what: str, limit: int, required: bool, errors: list[str]) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        errors.append(f"{what}を入力してください。")
    elif len(text) > limit:
        errors.append(f"{what}は{limit}文字以内にしてください（いま{len(text)}文字）。")
    return text


def _evidence(items: Any, *, where: str, errors: list[str]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    if items in (None, ""):
        return out
    if not isinstance(items, list):
        errors.append(f"{where}の根拠は一覧（list）で指定してください。")
        return out
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            errors.append(f"{where}の根拠{i}の形が正しくありません。")
            continue
        kind = str(item.get("kind") or "")
        if kind not in EVIDENCE_KINDS:
            errors.append(
                f"{where}の根拠{i}の種類「{kind}」は使えません（{'・'.join(EVIDENCE_KINDS)} のいずれか）。"
            )
            continue
        ref = _text(item.get("ref"), what=f"{where}の根拠{i}", limit=500, required=True, errors=errors)
        if kind == "url" and ref and not ref.startswith(("https://", "http://")):
            errors.append(f"{where}の根拠{i}のURLは http:// か https:// で始めてください。")
        if kind in NUMBERED_KINDS and ref and not (ref.isascii() and ref.isdigit() and int(ref) > 0):
            errors.append(
                f"{where}の根拠{i}（{EVIDENCE_KINDS[kind]}）は番号で指定してください（例: {EVIDENCE_KINDS[kind]}: 12）。"
            )
        label = _text(
            item.get("label"), what=f"{where}の根拠{i}の説明", limit=200, required=False, errors=errors
        )
        out.append({"kind": kind, "ref": ref, "label": label})
    return out


def validate(document: Any) -> dict[str, Any]:  # noqa: PLR0912, PLR0915 - one check per rule reads as the list of rules
    """The document cleaned and checked; raises :class:`LogicModelError` listing every problem."""
    errors: list[str] = []
    if not isinstance(document, dict):
        raise LogicModelError(
            ["ロジックモデルの形が正しくありません（JSONのオブジェクトで指定してください）。"]
        )
    stage_set = str(document.get("stage_set") or "six")
    if stage_set not in STAGE_SETS:
        raise LogicModelError([f"段階の組「{stage_set}」は使えません（six か four）。"])
    keys = [k for k, _ in STAGE_SETS[stage_set]]
    labels_in = document.get("stage_labels") or {}
    labels: dict[str, str] = {}
    if not isinstance(labels_in, dict):
        errors.append("段階の呼び名（stage_labels）は段階ごとの対応表で指定してください。")
    else:
        for k, v in labels_in.items():
            if k not in keys:
                errors.append(f"呼び名を変える段階「{k}」はこの段階の組にありません。")
            elif str(v or "").strip():
                labels[k] = _text(
                    v, what=f"段階「{k}」の呼び名", limit=LABEL_MAX, required=True, errors=errors
                )
    nodes_in = document.get("nodes") or []
    links_in = document.get("links") or []
    factors_in = document.get("external_factors") or []
    if not isinstance(nodes_in, list) or not isinstance(links_in, list) or not isinstance(factors_in, list):
        raise LogicModelError(["nodes・links・external_factors は一覧（list）で指定してください。"])
    if len(nodes_in) > MAX_NODES or len(links_in) > MAX_LINKS or len(factors_in) > MAX_FACTORS:
        errors.append(
            f"要素が多すぎます（要素{MAX_NODES}・つながり{MAX_LINKS}・外部要因{MAX_FACTORS}まで）。"
        )
    nodes: list[dict[str, str]] = []
    seen: set[str] = set()
    for i, node in enumerate(nodes_in, start=1):
        if not isinstance(node, dict):
            errors.append(f"{i}番目の要素の形が正しくありません。")
            continue
        node_id = str(node.get("id") or "").strip()
        where = f"要素「{node_id or i}」"
        if not node_id or len(node_id) > 20:
            errors.append(f"{i}番目の要素に id（20文字以内）がありません。")
        elif node_id in seen:
            errors.append(f"要素の id「{node_id}」が重複しています。")
        seen.add(node_id)
        stage = str(node.get("stage") or "")
        if stage not in keys:
            errors.append(
                f"{where}の段階「{stage}」はこのロジックモデルの段階にありません"
                f"（{'・'.join(f'{k}（{v}）' for k, v in STAGE_SETS[stage_set])}）。"
            )
        nodes.append(
            {
                "id": node_id,
                "stage": stage,
                "number": _text(
                    node.get("number"), what=f"{where}の番号", limit=NUMBER_MAX, required=False, errors=errors
                ),
                "statement": _text(
                    node.get("statement"),
                    what=f"{where}の内容",
                    limit=STATEMENT_MAX,
                    required=True,
                    errors=errors,
                ),
            }
        )
    links: list[dict[str, Any]] = []
    link_ids: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    for i, link in enumerate(links_in, start=1):
        if not isinstance(link, dict):
            errors.append(f"{i}番目のつながりの形が正しくありません。")
            continue
        link_id = str(link.get("id") or f"l{i}").strip()
        if link_id in link_ids:
            errors.append(f"つながりの id「{link_id}」が重複しています。")
        link_ids.add(link_id)
        src, dst = str(link.get("from") or ""), str(link.get("to") or "")
        where = f"つながり「{src}→{dst}」"
        for end in (src, dst):
            if end not in seen:
                errors.append(f"{where}の要素「{end}」はこのロジックモデルにありません。")
        if src and src == dst:
            errors.append(f"{where}は同じ要素どうしをつないでいます。")
        if (src, dst) in pairs:
            errors.append(f"{where}が重複しています。")
        pairs.add((src, dst))
        links.append(
            {
                "id": link_id,
                "from": src,
                "to": dst,
                "rationale": _text(
                    link.get("rationale"),
                    what=f"{where}の根拠となる考え方",
                    limit=TEXT_MAX,
                    required=False,
                    errors=errors,
                ),
                "assumptions": _text(
                    link.get("assumptions"),
                    what=f"{where}の前提条件",
                    limit=TEXT_MAX,
                    required=False,
                    errors=errors,
                ),
                "evidence": _evidence(link.get("evidence"), where=where, errors=errors),
            }
        )
    factors = [
        _text(f, what=f"外部要因{i}", limit=TEXT_MAX, required=True, errors=errors)
        for i, f in enumerate(factors_in, start=1)
    ]
    if errors:
        raise LogicModelError(errors)
    return {
        "stage_set": stage_set,
        "stage_labels": labels,
        "nodes": nodes,
        "links": links,
        "external_factors": factors,
    }


def find_cycle(document: dict[str, Any]) -> list[str] | None:
    """One cycle of the link graph as node ids (first = last), or None."""
    graph: dict[str, set[str]] = {n["id"]: set() for n in document.get("nodes", [])}
    for link in document.get("links", []):
        graph.setdefault(link["to"], set()).add(link["from"])
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        return [str(n) for n in exc.args[1]]
    return None


@dataclass(frozen=True)
class ModelWarning:
    """One warning on a logic model, with the element it is about."""

    code: str
    message: str
    target: str = ""


def warnings(document: dict[str, Any], indicators: Iterable[tuple[str, str]] = ()) -> list[ModelWarning]:
    """Warnings from the national guidance; ``indicators`` are (node id, kind) pairs ("activity"/"outcome")."""
    by_node: dict[str, list[str]] = {}
    for node_id, kind in indicators:
        by_node.setdefault(node_id, []).append(kind)
    names = {n["id"]: _name(n) for n in document.get("nodes", [])}
    out: list[ModelWarning] = []
    cycle = find_cycle(document)
    if cycle:
        path = " → ".join(names.get(n, n) for n in reversed(cycle))
        out.append(ModelWarning("cycle", f"つながりが循環しています: {path}", cycle[0]))
    for node in document.get("nodes", []):
        if not is_outcome(node["stage"]):
            continue
        kinds = by_node.get(node["id"], [])
        if not kinds:
            out.append(
                ModelWarning(
                    "outcome_without_indicator",
                    f"{names[node['id']]}（アウトカム）に検証指標がありません。",
                    node["id"],
                )
            )
        elif "activity" in kinds:
            out.append(
                ModelWarning(
                    "activity_indicator_on_outcome",
                    f"{names[node['id']]}（アウトカム）に活動指標が付いています。アウトカムには成果指標を設定してください。",
                    node["id"],
                )
            )
    for link in document.get("links", []):
        if not link.get("rationale"):
            out.append(
                ModelWarning(
                    "link_without_rationale",
                    f"つながり「{names.get(link['from'], link['from'])} → {names.get(link['to'], link['to'])}」に根拠となる考え方がありません。",
                    link["id"],
                )
            )
    return out


def _name(node: dict[str, Any]) -> str:
    label = f"{node.get('number')} " if node.get("number") else ""
    statement = str(node.get("statement", ""))
    return f"「{label}{statement[:20]}{'…' if len(statement) > 20 else ''}」"


def next_id(items: Iterable[dict[str, Any]], prefix: str) -> str:
    """The next free id like ``n7`` (one more than the largest number used with ``prefix``)."""
    used = [
        int(i["id"][len(prefix) :])
        for i in items
        if str(i.get("id", "")).startswith(prefix) and i["id"][len(prefix) :].isdigit()
    ]
    return f"{prefix}{max(used, default=0) + 1}"


def canonical(document: dict[str, Any]) -> str:
    """The document as stable, readable JSON (for storing comparisons and diffs)."""
    return json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True)


def diff(old: dict[str, Any], new: dict[str, Any], *, old_label: str, new_label: str) -> list[str]:
    """A unified diff of two versions' JSON (lines, without trailing newlines)."""
    return list(
        difflib.unified_diff(
            canonical(old).splitlines(), canonical(new).splitlines(), old_label, new_label, lineterm="", n=2
        )
    )
