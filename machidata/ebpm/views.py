"""EBPM pages (staff): 事業 list, 事業 page (lifecycle, budget, logic model, indicators), logic model editor and history, indicator page.

Thin: each POST calls one service; a Japanese error from it is shown on the page it came from, nothing saved.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from machidata.access.policy import Actor
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from machidata.ebpm import logic, selectors, services, services_indicators
from machidata.ebpm.examples import EXAMPLES
from machidata.ebpm.models import (
    ActualStatus,
    BudgetKind,
    Direction,
    IndicatorKind,
    Level,
    RateRule,
    SourceKind,
    Stage,
    TargetKind,
)
from machidata.ebpm.selectors_pages import page_state
from machidata.ebpm.views_evaluations import item_context
from machidata.jp.fiscal import format_fiscal_year

_SHOWN = (InvalidInput, Conflict, NotFound)


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _expected(request: HttpRequest) -> int | None:
    raw = request.POST.get("expected_number", "")
    return int(raw) if raw.isdigit() else None


def _without_page(request: HttpRequest) -> str:
    """The query string without ``page``, ready for the pagination links (filters kept across pages)."""
    query = request.GET.copy()
    query.pop("page", None)
    return (query.urlencode() + "&") if query else ""


@login_required
@require_GET
def item_list(request: HttpRequest) -> HttpResponse:
    """事業 (and 政策・施策) of the whole city, filtered by 課, 段階 and 区分; paginated."""
    actor = _actor(request)
    level = request.GET.get("level", Level.PROJECT)
    unit = request.GET.get("unit", "")
    stage = request.GET.get("stage", "")
    items = selectors.plan_items(
        actor=actor,
        level=level if level in Level.values else None,
        unit_id=int(unit) if unit.isdigit() else None,
        stage=stage if stage in Stage.values else None,
    )
    page = Paginator(selectors.with_indicator_counts(items), settings.MACHIDATA_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "ebpm/item_list.html",
        {
            "page": page,
            "levels": Level.choices,
            "stages": Stage.choices,
            "units": selectors.all_divisions(),
            "level": level,
            "unit": unit,
            "stage": stage,
            "can_create": selectors.owner_units(actor=actor).exists(),
            "query_without_page": _without_page(request),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def item_create(request: HttpRequest) -> HttpResponse:
    """Register a 政策, 施策 or 事業 for a 課 the actor edits for."""
    actor = _actor(request)
    units = selectors.owner_units(actor=actor)
    if not units.exists():
        raise PermissionDenied("政策・施策・事業を登録できるのは、課の編集担当とデータ戦略課（管理）です。")
    error = ""
    if request.method == "POST":
        try:
            item = services.plan_item_create(
                actor=actor,
                level=request.POST.get("level", ""),
                name=request.POST.get("name", ""),
                unit_id=request.POST.get("unit_id"),
                parent_id=request.POST.get("parent_id") or None,
                code=request.POST.get("code", ""),
                description=request.POST.get("description", ""),
                plan_reference=request.POST.get("plan_reference", ""),
            )
        except _SHOWN as exc:
            error = exc.message
        else:
            messages.success(request, f"「{item.name}」を登録しました。")
            return redirect("ebpm:detail", item.pk)
    return render(
        request,
        "ebpm/item_new.html",
        {
            "error": error,
            "levels": Level.choices,
            "units": units,
            "parents": selectors.plan_items(actor=actor).exclude(level=Level.PROJECT),
            "post": request.POST,
        },
        status=400 if error else 200,
    )


def _indicator_rows(model: Any, actor: Actor) -> list[dict[str, Any]]:
    rows = []
    for ind in selectors.indicators_of(model):
        actuals = getattr(ind, "actual_rows", [])  # prefetched by the selector
        visible = selectors.figures_visible(actor, ind)
        latest = actuals[-1] if actuals and visible else None
        rows.append({"indicator": ind, "latest": latest, "withheld": bool(actuals) and not visible})
    return rows


@login_required
@require_GET
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One item: where it sits, lifecycle, budget table, the logic model diagram with warnings, indicators."""
    actor = _actor(request)
    item = selectors.plan_item_get(actor=actor, pk=pk)
    model = selectors.logic_model_of(item)
    here = list(Stage.values).index(item.stage)
    steps = [(v, label, i < here, i == here) for i, (v, label) in enumerate(Stage.choices)]
    return render(
        request,
        "ebpm/item_detail.html",
        {
            "item": item,
            "ancestors": selectors.ancestors(item),
            "children": item.children.select_related("unit").order_by("code", "name"),
            "can_edit": selectors.may_edit(actor, item),
            "steps": steps,
            "next_stage": Stage.values[here + 1] if here + 1 < len(Stage.values) else None,
            "previous_stage": Stage.values[here - 1] if here > 0 else None,
            "next_label": Stage(Stage.values[here + 1]).label if here + 1 < len(Stage.values) else "",
            "previous_label": Stage(Stage.values[here - 1]).label if here > 0 else "",
            "history": item.stage_changes.all(),
            "budget": _budget_table(item),
            "budget_kinds": BudgetKind.choices,
            "model": model,
            "svg": mark_safe(selectors.model_svg(model)) if model and model.number else "",  # noqa: S308 - built by ElementTree, every text escaped
            "warnings": selectors.model_warnings(model) if model else [],
            "indicators": _indicator_rows(model, actor) if model else [],
            "page_state": page_state(item),
            **item_context(actor, item),
        },
    )


def _budget_table(item: Any) -> list[dict[str, Any]]:
    by_year: dict[int, dict[str, Any]] = {}
    for line in item.budget_lines.all():
        row = by_year.setdefault(
            line.fiscal_year, {"year": line.fiscal_year, "label": format_fiscal_year(line.fiscal_year)}
        )
        row[line.kind] = line.amount_yen
    for row in by_year.values():
        # 予算現額 = 当初 + 補正; 執行率 = 決算 ÷ 予算現額 (shown only when both are known)
        budget = row.get("initial", 0) + row.get("supplementary", 0)
        row["current"] = budget if ("initial" in row or "supplementary" in row) else None
        settled = row.get("settlement")
        row["rate"] = Decimal(settled) / Decimal(budget) if settled is not None and budget else None
    return [by_year[y] for y in sorted(by_year)]


@login_required
@require_POST
def item_stage(request: HttpRequest, pk: int) -> HttpResponse:
    """Move the 事業 one step along its lifecycle."""
    actor = _actor(request)
    item = selectors.plan_item_get(actor=actor, pk=pk)
    try:
        item = services.plan_item_move(
            actor=actor, item=item, stage=request.POST.get("stage", ""), note=request.POST.get("note", "")
        )
    except _SHOWN as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"段階を「{item.get_stage_display()}」にしました。")
    return redirect("ebpm:detail", pk)


@login_required
@require_POST
def item_budget(request: HttpRequest, pk: int) -> HttpResponse:
    """Set one budget figure."""
    actor = _actor(request)
    item = selectors.plan_item_get(actor=actor, pk=pk)
    try:
        services.budget_line_set(
            actor=actor, item=item, fiscal_year=request.POST.get("fiscal_year"), kind=request.POST.get("kind", ""),
            amount_yen=request.POST.get("amount_yen"), note=request.POST.get("note", ""),
        )  # fmt: skip
    except _SHOWN as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "予算・決算を記録しました。")
    return redirect(reverse("ebpm:detail", args=[pk]) + "#budget")


_EVIDENCE_PREFIXES = {
    "データセット": "dataset", "dataset": "dataset", "グラフ": "chart", "chart": "chart",
    "分析": "analysis", "分析結果": "analysis", "analysis": "analysis", "事例": "case", "case": "case",
}  # fmt: skip


def _evidence(text: str) -> list[dict[str, str]]:
    """Evidence lines: a URL, ``データセット: slug``, ``グラフ: uuid``, ``分析: 番号``, ``事例: 番号``, or any
    other reference (a document)."""
    out = []
    for line in (raw.strip() for raw in text.splitlines()):
        if not line:
            continue
        head, sep, rest = line.replace("：", ":").partition(":")
        kind = (
            _EVIDENCE_PREFIXES.get(head.strip())
            if sep and not line.startswith(("http://", "https://"))
            else None
        )
        if kind:
            out.append({"kind": kind, "ref": rest.strip()})
        else:
            out.append(
                {"kind": "url" if line.startswith(("http://", "https://")) else "document", "ref": line}
            )
    return out


def _evidence_href(e: dict[str, Any]) -> str:
    """Where an evidence item links to (the target page checks access again)."""
    try:
        if e.get("kind") == "dataset":
            return reverse("catalog:detail", args=[e["ref"]])
        if e.get("kind") == "chart":
            return reverse("charts:detail", args=[e["ref"]])
        if e.get("kind") == "analysis":
            return reverse("analysis:detail", args=[int(e["ref"])])
        if e.get("kind") == "case":
            return reverse("support:case", args=[int(e["ref"])])
    except (NoReverseMatch, ValueError):
        return ""
    return str(e["ref"]) if e.get("kind") == "url" else ""


def _model_op(op: str, post: Any, kwargs: dict[str, Any]) -> None:
    """Run one editor form's service (every one saves a new version)."""
    if op == "node":
        services.node_save(**kwargs, node_id=post.get("node_id", ""), stage=post.get("stage", ""),
                           statement=post.get("statement", ""), number=post.get("number", ""))  # fmt: skip
    elif op == "node_remove":
        services.node_remove(**kwargs, node_id=post.get("node_id", ""))
    elif op == "link":
        services.link_add(**kwargs, source=post.get("source", ""), target=post.get("target", ""),
                          rationale=post.get("rationale", ""), assumptions=post.get("assumptions", ""),
                          evidence=_evidence(post.get("evidence", "")))  # fmt: skip
    elif op == "link_edit":
        services.link_update(**kwargs, link_id=post.get("link_id", ""), rationale=post.get("rationale", ""),
                             assumptions=post.get("assumptions", ""))  # fmt: skip
    elif op == "link_remove":
        services.link_remove(**kwargs, link_id=post.get("link_id", ""))
    elif op == "settings":
        factors = [f.strip() for f in post.get("external_factors", "").splitlines() if f.strip()]
        labels = {k.removeprefix("label_"): str(v) for k, v in post.items() if k.startswith("label_")}
        services.settings_save(
            **kwargs, stage_set=post.get("stage_set", ""), external_factors=factors, stage_labels=labels
        )
    elif op == "example":
        services.logic_model_from_example(
            actor=kwargs["actor"], item=kwargs["item"], key=post.get("example", "")
        )
    else:
        raise InvalidInput("操作が分かりません。")


@login_required
@require_http_methods(["GET", "POST"])
def model_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The logic model editor: plain forms to add, change and remove nodes and links, and the settings."""
    actor = _actor(request)
    item = selectors.plan_item_get(actor=actor, pk=pk)
    error = ""
    if request.method == "POST":
        post, op = request.POST, request.POST.get("op", "")
        kwargs: dict[str, Any] = {"actor": actor, "item": item, "expected_number": _expected(request)}
        try:
            if op == "copy":
                target = selectors.plan_item_get(actor=actor, pk=int(post.get("target", "0") or 0))
                services.logic_model_copy(actor=actor, source=item, target=target)
                messages.success(request, f"ロジックモデルを「{target.name}」にコピーしました。")
                return redirect("ebpm:model_edit", target.pk)
            _model_op(op, post, kwargs)
        except _SHOWN as exc:
            error = exc.message
        else:
            messages.success(request, "保存しました（新しい版ができました）。")
            return redirect("ebpm:model_edit", pk)
    if not selectors.may_edit(actor, item):
        raise PermissionDenied(
            "このロジックモデルを編集できるのは、所管課の編集担当とデータ戦略課（管理）です。"
        )
    model = selectors.logic_model_of(item)
    document = model.document if model else logic.empty_document()
    nodes = document.get("nodes", [])
    names = {n["id"]: f"{n.get('number') or n['id']} {n['statement'][:24]}" for n in nodes}
    return render(
        request,
        "ebpm/model_edit.html",
        {
            "item": item,
            "model": model,
            "number": model.number if model else 0,
            "error": error,
            "stages": logic.stages(document),
            "stage_sets": logic.STAGE_SET_LABELS,
            "stage_names": [
                (k, standard, (document.get("stage_labels") or {}).get(k, ""))
                for k, standard in logic.STAGE_SETS.get(document.get("stage_set", "six"), ())
            ],
            "document": document,
            "nodes": [{**n, "stage_label": logic.stage_label(document, n["stage"])} for n in nodes],
            "links": [
                {
                    **lk,
                    "evidence": [{**e, "href": _evidence_href(e)} for e in lk.get("evidence", [])],
                    "from_name": names.get(lk["from"], lk["from"]),
                    "to_name": names.get(lk["to"], lk["to"]),
                }
                for lk in document.get("links", [])
            ],
            "factors": "\n".join(document.get("external_factors", [])),
            "examples": [(k, e["title"], e["description"]) for k, e in EXAMPLES.items()],
            "svg": mark_safe(selectors.model_svg(model)) if model and model.number else "",  # noqa: S308 - escaped by ElementTree
            "warnings": selectors.model_warnings(model) if model else [],
            "targets": selectors.editable_items(actor=actor).exclude(pk=item.pk),
        },
        status=400 if error else 200,
    )


@login_required
@require_GET
def model_svg(request: HttpRequest, pk: int) -> HttpResponse:
    """The diagram as an SVG file (for documents and printing); ``?version=`` for an earlier version."""
    item = selectors.plan_item_get(actor=_actor(request), pk=pk)
    model = selectors.logic_model_of(item)
    if model is None or not model.number:
        raise NotFound("この事業にはまだロジックモデルがありません。")
    raw = request.GET.get("version", "")
    document = selectors.logic_model_version(model=model, number=int(raw)).document if raw.isdigit() else None
    response = HttpResponse(
        selectors.model_svg(model, document=document), content_type="image/svg+xml; charset=utf-8"
    )
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@login_required
@require_GET
def model_history(request: HttpRequest, pk: int) -> HttpResponse:
    """Every saved version and the differences between two of them (default: the last two)."""
    item = selectors.plan_item_get(actor=_actor(request), pk=pk)
    model = selectors.logic_model_of(item)
    versions = list(selectors.logic_model_versions(model=model)) if model else []
    diff: list[str] = []
    a, b = request.GET.get("a", ""), request.GET.get("b", "")
    if model and len(versions) >= 1:
        new_n = int(b) if b.isdigit() else versions[0].number
        old_n = int(a) if a.isdigit() else max(new_n - 1, 0)
        new = selectors.logic_model_version(model=model, number=new_n)
        old_doc = selectors.logic_model_version(model=model, number=old_n).document if old_n else {}
        diff = logic.diff(old_doc, new.document, old_label=f"第{old_n}版", new_label=f"第{new_n}版")
        a, b = str(old_n), str(new_n)
    return render(
        request, "ebpm/model_history.html", {"item": item, "versions": versions, "diff": diff, "a": a, "b": b}
    )


@login_required
@require_http_methods(["GET", "POST"])
def indicator_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Attach an indicator to a node (hand-entered actuals, or computed from a catalog table)."""
    actor = _actor(request)
    item = selectors.plan_item_get(actor=actor, pk=pk)
    model = selectors.logic_model_of(item)
    error = ""
    if request.method == "POST":
        post = request.POST
        try:
            query: Any = None
            if post.get("source_kind") == SourceKind.QUERY:
                try:
                    query = {"query": json.loads(post.get("query", "") or "{}"), "year_column": post.get("year_column", ""),
                             "value_column": post.get("value_column", "")}  # fmt: skip
                except json.JSONDecodeError as exc:
                    raise InvalidInput(
                        f"集計の定義（JSON）が読めません: {exc.msg}（{exc.lineno}行目）"
                    ) from None
            ind = services_indicators.indicator_create(
                actor=actor, item=item, node_id=post.get("node_id", ""), name=post.get("name", ""), kind=post.get("kind", ""),
                responsible_unit_id=post.get("responsible_unit_id"), unit_label=post.get("unit_label", ""),
                direction=post.get("direction", ""), definition=post.get("definition", ""), data_source=post.get("data_source", ""),
                baseline_value=post.get("baseline_value"), baseline_year=post.get("baseline_year"), rate_rule=post.get("rate_rule", ""),
                source_kind=post.get("source_kind", ""), table_id=post.get("table_id"), query=query,
                data_month=post.get("data_month"),
                formula=post.get("formula", ""),
                allow_negative=post.get("allow_negative") == "1",
            )  # fmt: skip
        except _SHOWN as exc:
            error = exc.message
        else:
            messages.success(request, f"検証指標「{ind.name}」を設定しました。")
            return redirect("ebpm:indicator", ind.pk)
    if not selectors.may_edit(actor, item):
        raise PermissionDenied("検証指標を設定できるのは、所管課の編集担当とデータ戦略課（管理）です。")
    document = model.document if model else logic.empty_document()
    return render(
        request,
        "ebpm/indicator_new.html",
        {
            "item": item,
            "error": error,
            "post": request.POST,
            "nodes": [
                {**n, "stage_label": logic.stage_label(document, n["stage"])}
                for n in document.get("nodes", [])
            ],
            "kinds": IndicatorKind.choices,
            "directions": Direction.choices,
            "rules": RateRule.choices,
            "sources": SourceKind.choices,
            "units": selectors.all_divisions(),
            "inputs": selectors.indicator_list(actor=actor, item_id=item.pk).exclude(
                source_kind=SourceKind.FORMULA
            ),
        },
        status=400 if error else 200,
    )


@login_required
@require_GET
def indicator_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An indicator: definition, status, targets (with earlier ones) against actuals by 年度."""
    actor = _actor(request)
    ind = selectors.indicator_get(actor=actor, pk=pk)
    item = ind.logic_model.item
    years = selectors.indicator_years(ind)
    withheld = not selectors.figures_visible(actor, ind)
    if withheld:  # the targets stay; the table's figures and what follows from them go
        years = [replace(y, actual=None, rate=None) for y in years]
    return render(
        request,
        "ebpm/indicator_detail.html",
        {
            "spec": None if withheld else selectors.indicator_trend_spec(ind, years),
            "withheld": selectors.WITHHELD if withheld else "",
            "ind": ind,
            "item": item,
            "node": next(
                (n for n in ind.logic_model.document.get("nodes", []) if n["id"] == ind.node_id), None
            ),
            "years": years,
            "can_edit": selectors.may_edit(actor, item),
            "query_json": json.dumps((ind.query or {}).get("query") or {}, ensure_ascii=False, indent=1),
            "target_kinds": TargetKind.choices,
            "actual_statuses": ActualStatus.choices,
        },
    )


@login_required
@require_POST
def indicator_target(request: HttpRequest, pk: int) -> HttpResponse:
    """Set (or, with a reason, revise) the target of a 年度."""
    actor = _actor(request)
    ind = selectors.indicator_get(actor=actor, pk=pk)
    try:
        services_indicators.indicator_target_set(
            actor=actor, indicator=ind, fiscal_year=request.POST.get("fiscal_year"), value=request.POST.get("value"),
            kind=request.POST.get("kind", TargetKind.INTERIM), note=request.POST.get("note", ""), revise=request.POST.get("revise") == "1",
        )  # fmt: skip
    except _SHOWN as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "目標を記録しました。")
    return redirect("ebpm:indicator", pk)


@login_required
@require_POST
def indicator_actual(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a hand-entered actual with its evidence."""
    actor = _actor(request)
    ind = selectors.indicator_get(actor=actor, pk=pk)
    try:
        services_indicators.indicator_actual_record(
            actor=actor, indicator=ind, fiscal_year=request.POST.get("fiscal_year"), value=request.POST.get("value"),
            status=request.POST.get("status", ""), final_on=request.POST.get("final_on"),
            evidence=request.POST.get("evidence", ""), evidence_url=request.POST.get("evidence_url", ""),
        )  # fmt: skip
    except _SHOWN as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "実績を記録しました。")
    return redirect("ebpm:indicator", pk)


@login_required
@require_POST
def indicator_recompute(request: HttpRequest, pk: int) -> HttpResponse:
    """Recompute a query indicator from its table's current version."""
    actor = _actor(request)
    ind = selectors.indicator_get(actor=actor, pk=pk)
    try:
        problem = services_indicators.indicator_recompute(actor=actor, indicator=ind)
    except _SHOWN as exc:
        messages.error(request, exc.message)
    else:
        if problem:
            messages.error(request, f"集計できませんでした（要確認）: {problem}")
        else:
            messages.success(request, "集計し直しました。")
    return redirect("ebpm:indicator", pk)


@login_required
@require_POST
def indicator_query(request: HttpRequest, pk: int) -> HttpResponse:
    """Change the table and query of a query indicator (e.g. after a column was renamed) and compute it now."""
    actor = _actor(request)
    ind = selectors.indicator_get(actor=actor, pk=pk)
    try:
        try:
            query = {"query": json.loads(request.POST.get("query", "") or "{}"), "year_column": request.POST.get("year_column", ""),
                     "value_column": request.POST.get("value_column", "")}  # fmt: skip
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"集計の定義（JSON）が読めません: {exc.msg}（{exc.lineno}行目）") from None
        services_indicators.indicator_query_set(
            actor=actor, indicator=ind, table_id=request.POST.get("table_id"), query=query
        )
    except _SHOWN as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "集計の定義を変えて、集計し直しました。")
    return redirect("ebpm:indicator", pk)


@login_required
@require_POST
def indicator_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove an indicator (its targets and actuals with it)."""
    actor = _actor(request)
    ind = selectors.indicator_get(actor=actor, pk=pk)
    item_id = ind.logic_model.item_id
    services_indicators.indicator_remove(actor=actor, indicator=ind)
    messages.success(request, f"検証指標「{ind.name}」を外しました。")
    return redirect("ebpm:detail", item_id)


@login_required
@require_POST
def indicator_schedule(request: HttpRequest, pk: int) -> HttpResponse:
    """Set the month in which the indicator's yearly figure is ready."""
    actor = _actor(request)
    ind = selectors.indicator_get(actor=actor, pk=pk)
    try:
        services_indicators.indicator_schedule_set(
            actor=actor, indicator=ind, data_month=request.POST.get("data_month")
        )
    except _SHOWN as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "実績がそろう月を記録しました。")
    return redirect("ebpm:indicator", pk)


@login_required
@require_GET
def calendar(request: HttpRequest) -> HttpResponse:
    """The data calendar: when each indicator's figure arrives, against the 予算要求 (late ones flagged)."""
    unit = request.GET.get("unit", "")
    rows = selectors.data_calendar(actor=_actor(request), unit_id=int(unit) if unit.isdigit() else None)
    return render(
        request,
        "ebpm/calendar.html",
        {
            "rows": rows,
            "months": selectors.calendar_months(),
            "request_month": selectors.BUDGET_REQUEST_MONTH,
            "units": selectors.all_divisions(),
            "unit": unit,
            "late": sum(1 for r in rows if r.late),
            "unset": sum(1 for r in rows if r.month is None),
        },
    )


@login_required
@require_POST
def item_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Change the item's name, number, description and plan reference."""
    actor = _actor(request)
    item = selectors.plan_item_get(actor=actor, pk=pk)
    raw = request.POST.get("lock_version", "")
    try:
        services.plan_item_update(
            actor=actor, item=item, lock_version=int(raw) if raw.isdigit() else -1, name=request.POST.get("name", ""),
            code=request.POST.get("code", ""), description=request.POST.get("description", ""),
            plan_reference=request.POST.get("plan_reference", ""),
        )  # fmt: skip
    except _SHOWN as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "変更しました。")
    return redirect("ebpm:detail", pk)
