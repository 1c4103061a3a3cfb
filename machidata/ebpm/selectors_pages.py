"""Public pages of a 事業 (issue 9 point 7): the snapshot a request would publish, the public reads, request lists.

**The snapshot** (:func:`page_snapshot`) is plain JSON holding only what the public may see:

* the 事業 (name, number, description, 所管課, 総合計画 reference, its 政策・施策 names);
* the pinned logic model version's document with the evidence items reduced to datasets the public
  can already see on the portal (``publish.selectors.public_datasets``); URLs, charts and documents
  are internal references and are left out;
* the indicators with their current targets (a changed target is not shown), baselines, and the
  actuals **safe to show**: hand-entered figures are shown; a figure computed from a catalog table
  only when that table is public through ``publish.selectors`` *and* the figure was computed from
  the very version the public can download (``public_versions()``); a formula's figure only when each
  input's figure of that 年度 is itself safe. Others are withheld with :data:`PUBLIC_WITHHELD`, and
  so are their rate and, when the latest figure is withheld, the status;
* the chosen evaluations: 年度, self-assessment, direction, evidence level. Nothing else (notes,
  amounts requested, analyses, staff names) is copied.

**The public reads** (:func:`public_pages`, :func:`public_page`) answer the newest page of each 事業
that is neither superseded nor withdrawn. They take no actor: public pages are the same for everyone.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from decimal import Decimal
from typing import Any, Final

from django.db.models import QuerySet

from machidata.access import route_requests
from machidata.access.policy import Actor, restrict_staff
from machidata.core.errors import NotFound
from machidata.ebpm import kpi, logic
from machidata.ebpm.formula import FormulaError
from machidata.ebpm.formula import references as formula_refs
from machidata.ebpm.models import (
    Evaluation,
    EvidenceLevel,
    Indicator,
    IndicatorActual,
    IndicatorStatus,
    IndicatorTarget,
    PageRequest,
    PageRequestStatus,
    PlanItem,
    PublicPage,
    SourceKind,
)
from machidata.ebpm.selectors import ancestors, logic_model_of

# Said on the public page in place of a figure that may not be published.
PUBLIC_WITHHELD: Final = "集計元のデータが公開されていないため、この実績は掲載していません。"
# Plain words for the public (要確認 is an internal state: its reason is never shown).
PUBLIC_STATUS: Final = {
    IndicatorStatus.ACHIEVED: "達成",
    IndicatorStatus.ON_TRACK: "順調",
    IndicatorStatus.BEHIND: "遅れ",
    IndicatorStatus.UNMEASURED: "未測定",
    IndicatorStatus.CHECK: "確認中",
}
SNAPSHOT_FORMAT: Final = 1


def _num(value: Decimal | None) -> str | None:
    return None if value is None else format(Decimal(value).normalize(), "f")


def public_document(document: dict[str, Any], public_slugs: set[str]) -> dict[str, Any]:
    """The logic model document for the public: evidence kept only when it names a public dataset."""
    out = json.loads(json.dumps(document))
    for link in out.get("links", []):
        link["evidence"] = [
            {"kind": "dataset", "ref": e["ref"], "label": e.get("label", "")}
            for e in link.get("evidence") or []
            if e.get("kind") == "dataset" and e.get("ref") in public_slugs
        ]
    return out


def _safe_actuals(indicators: list[Indicator]) -> dict[tuple[int, int], bool]:
    """(indicator id, 年度) → whether that actual may be published (the rule in the module docstring)."""
    from machidata.publish.selectors import public_versions

    published = {tid: v.pk for tid, v in public_versions().items()}
    by_id = {i.pk: i for i in indicators}
    refs: dict[int, set[int]] = {}
    for ind in indicators:
        if ind.source_kind == SourceKind.FORMULA:
            with contextlib.suppress(FormulaError):
                refs[ind.pk] = formula_refs(str((ind.query or {}).get("formula") or ""))
    # formula inputs may belong to another 事業: read them too
    missing = set().union(*refs.values()) - set(by_id) if refs else set()
    by_id |= {i.pk: i for i in Indicator.objects.filter(pk__in=missing)}
    actuals = IndicatorActual.objects.filter(indicator_id__in=by_id)
    rows = {(a.indicator_id, a.fiscal_year): a for a in actuals}

    def direct(a: IndicatorActual | None) -> bool:
        if a is None:
            return False
        if a.source == SourceKind.MANUAL:
            return True
        if a.source == SourceKind.QUERY:
            table_id = by_id[a.indicator_id].table_id
            return (
                table_id is not None
                and a.table_version_id is not None
                and published.get(table_id) == a.table_version_id
            )
        return False

    out: dict[tuple[int, int], bool] = {}
    for (ind_id, year), a in rows.items():
        if ind_id not in {i.pk for i in indicators}:
            continue
        if a.source == SourceKind.FORMULA:
            inputs = refs.get(ind_id)
            out[ind_id, year] = bool(inputs) and all(direct(rows.get((r, year))) for r in inputs or ())
        else:
            out[ind_id, year] = direct(a)
    return out


def _indicator_part(
    ind: Indicator, document: dict[str, Any], safe: dict[tuple[int, int], bool]
) -> dict[str, Any]:
    nodes = {n["id"]: n for n in document.get("nodes", [])}
    node = nodes.get(ind.node_id)
    targets = {
        t.fiscal_year: t for t in IndicatorTarget.objects.filter(indicator=ind, superseded_at__isnull=True)
    }
    actuals = {a.fiscal_year: a for a in ind.actuals.all()}
    years = []
    for year in sorted(set(targets) | set(actuals)):
        t, a = targets.get(year), actuals.get(year)
        shown = a is not None and safe.get((ind.pk, year), False)
        rate = None
        if shown and t is not None and a is not None:
            rate = kpi.achievement_rate(
                rule=ind.rate_rule, direction=ind.direction, actual=a.value, target=t.value,
                baseline=ind.baseline_value,
            )  # fmt: skip
        years.append({
            "fiscal_year": year,
            "target": _num(t.value) if t is not None else None,
            "target_set": t is not None and t.value is not None,
            "target_kind": t.get_kind_display() if t is not None else "",
            "actual": _num(a.value) if shown and a is not None else None,
            "actual_status": a.get_status_display() if shown and a is not None else "",
            "withheld": a is not None and not shown,
            "rate": _num(rate),
        })  # fmt: skip
    measured = [y for y in years if y["actual"] is not None or y["withheld"]]
    latest_withheld = bool(measured) and measured[-1]["withheld"]
    return {
        "name": ind.name,
        "kind": ind.get_kind_display(),
        "unit": ind.unit_label,
        "direction": ind.get_direction_display(),
        "definition": ind.definition,
        "data_source": ind.data_source,
        "node_id": ind.node_id if node else "",
        "node": (f"{node.get('number') or ''} {node['statement']}".strip() if node else ""),
        "node_stage": logic.stage_label(document, node["stage"]) if node else "",
        "baseline": _num(ind.baseline_value),
        "baseline_year": ind.baseline_year,
        "rate_rule": ind.get_rate_rule_display(),
        "status": "" if latest_withheld else PUBLIC_STATUS.get(IndicatorStatus(ind.status), ""),
        "years": years,
        "withheld_note": PUBLIC_WITHHELD if any(y["withheld"] for y in years) else "",
    }


def _evaluation_part(e: Evaluation) -> dict[str, Any]:
    return {
        "fiscal_year": e.fiscal_year,
        "self_assessment": e.self_assessment,
        "direction": e.get_direction_display(),
        "evidence_level": e.evidence_level,
        "evidence": EvidenceLevel(e.evidence_level).label if e.evidence_level else "効果の検証なし",
    }


def page_snapshot(item: PlanItem, *, model_number: int, evaluation_ids: list[int]) -> dict[str, Any]:
    """The page as it would be published now: the pinned logic model version, indicators, chosen evaluations."""
    from machidata.publish.selectors import public_datasets

    model = logic_model_of(item)
    if model is None:
        raise NotFound("ロジックモデルがありません。")
    version = model.versions.filter(number=model_number).first()
    if version is None:
        raise NotFound(f"ロジックモデルの第{model_number}版はありません。")
    slugs = set(public_datasets().values_list("slug", flat=True))
    document = public_document(version.document, slugs)
    indicators = list(model.indicators.select_related("table").order_by("id"))
    safe = _safe_actuals(indicators)
    evaluations = Evaluation.objects.filter(item=item, pk__in=evaluation_ids).order_by("-fiscal_year")
    return {
        "format": SNAPSHOT_FORMAT,
        "item": {
            "name": item.name, "code": item.code, "description": item.description,
            "unit": item.unit.name, "plan_reference": item.plan_reference,
            "stage": item.get_stage_display(), "path": [a.name for a in ancestors(item)],
        },
        "logic_model": {"number": model_number, "document": document},
        "indicators": [_indicator_part(i, version.document, safe) for i in indicators],
        "evaluations": [_evaluation_part(e) for e in evaluations],
    }  # fmt: skip


def fingerprint(snapshot: dict[str, Any]) -> str:
    """SHA-256 of the snapshot's canonical JSON (what an approval compares)."""
    text = json.dumps(snapshot, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# ---- the public reads ------------------------------------------------------------------------------


def public_pages() -> QuerySet[PublicPage]:
    """Every page the public may see now (one per 事業), newest first."""
    return (
        PublicPage.objects.filter(superseded_at__isnull=True, withdrawn_at__isnull=True)
        .select_related("item")
        .order_by("-published_at", "-id")
    )


def public_page(item_id: int) -> PublicPage:
    """The page of one 事業 the public may see, or NotFound (never published, pending, withdrawn alike)."""
    page = public_pages().filter(item_id=item_id).first()
    if page is None:
        raise NotFound("公開されている事業のページが見つかりません。")
    return page


def public_svg(snap: dict[str, Any]) -> str:
    """The logic model diagram of a page snapshot (the room's SVG renderer over the frozen document)."""
    from machidata.ebpm.svg import render

    names: dict[str, list[str]] = {}
    for ind in snap.get("indicators", []):
        if ind.get("node_id"):
            names.setdefault(ind["node_id"], []).append(ind["name"])
    return render(
        snap["logic_model"]["document"], indicators=names, title=f"ロジックモデル: {snap['item']['name']}"
    )


def public_trend_spec(indicator: dict[str, Any]) -> dict[str, Any] | None:
    """The target-vs-actual line chart of a published indicator (only the figures the snapshot shows)."""
    from machidata.charts.vegalite import Column, SpecError, vegalite_spec

    rows: list[dict[str, Any]] = []
    for y in indicator["years"]:
        if y["target"] is not None:
            rows.append({"年度": y["fiscal_year"], "区分": "目標", "値": float(y["target"])})
        if y["actual"] is not None:
            rows.append({"年度": y["fiscal_year"], "区分": "実績", "値": float(y["actual"])})
    if not any(r["区分"] == "実績" for r in rows):
        return None
    document = {
        "visual": {"type": "line", "x": "年度", "y": "値", "color": "区分", "options": {}},
        "meta": {"title": f"{indicator['name']}（目標と実績）"},
    }
    columns = [Column("年度", "integer", "fiscal_year"), Column("区分", "string"), Column("値", "number")]
    try:
        return vegalite_spec(document, rows, columns)
    except SpecError:  # pragma: no cover - a fixed, valid document
        return None


def model_outline(snap: dict[str, Any]) -> list[dict[str, Any]]:
    """The diagram as text (its alternative): each stage with its boxes, and each box's links onward."""
    document = snap["logic_model"]["document"]
    nodes = {n["id"]: n for n in document.get("nodes", [])}

    def name(node_id: str) -> str:
        n = nodes.get(node_id)
        return f"{n.get('number') or ''} {n['statement']}".strip() if n else ""

    out = []
    for key, label in logic.stages(document):
        boxes = []
        for n in (n for n in document.get("nodes", []) if n.get("stage") == key):
            links = [
                {"to": name(link["to"]), "rationale": link.get("rationale", ""),
                 "assumptions": link.get("assumptions", ""), "evidence": link.get("evidence", [])}
                for link in document.get("links", []) if link.get("from") == n["id"] and link.get("to") in nodes
            ]  # fmt: skip
            boxes.append({"name": name(n["id"]), "links": links})
        out.append({"stage": label, "boxes": boxes})
    return out


def page_state(item: PlanItem) -> str:
    """未公開 / 決裁中 / 公開中 / 非公開化 of one 事業's public page (for staff)."""
    if PageRequest.objects.filter(item=item, status=PageRequestStatus.PENDING).exists():
        return "決裁中"
    if public_pages().filter(item=item).exists():
        return "公開中"
    if PublicPage.objects.filter(item=item, withdrawn_at__isnull=False).exists():
        return "非公開化"
    return "未公開"


# ---- requests (staff) ------------------------------------------------------------------------------


def page_requests(*, actor: Actor, item_id: int | None = None, scope: str = "all") -> QuerySet[PageRequest]:
    """Page requests every member of staff may read (EBPM is shared); ``scope``: all, mine, awaiting."""
    qs = restrict_staff(PageRequest.objects.select_related("item__unit", "requested_by"), actor)
    if item_id:
        qs = qs.filter(item_id=item_id)
    if scope == "mine":
        qs = qs.filter(requested_by_id=actor.user_id)
    elif scope == "awaiting":
        pending = qs.filter(status=PageRequestStatus.PENDING)
        qs = qs.filter(pk__in=[r.pk for r in pending if is_my_turn(actor, r)])
    return qs.order_by("-created_at", "-id")


def page_request_get(*, actor: Actor, pk: int) -> PageRequest:
    """One page request, or NotFound."""
    found = page_requests(actor=actor).filter(pk=pk).first()
    if found is None:
        raise NotFound("事業ページの申請が見つかりません。")
    return found


def is_my_turn(actor: Actor, req: PageRequest) -> bool:
    """Whether ``actor`` may decide the request's current step now."""
    return route_requests.is_my_turn(actor, req)


def request_steps(req: PageRequest) -> list[dict[str, Any]]:
    """Each step with its state (済み・現在・未着手), who approved it (代決 shown) and who may act now."""
    return route_requests.step_rows(req)
