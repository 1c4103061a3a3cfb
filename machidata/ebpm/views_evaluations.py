"""EBPM pages for evaluation: the yearly evaluation of a 事業, its evaluation plans, and the 査定 view with exports.

Thin: each POST calls one service; a Japanese error from it is shown on the page it came from, nothing saved.
Every member of staff reads; the owning 課's 編集 and 管理 write.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from machidata.access.policy import Actor
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from machidata.ebpm import exports, selectors, services_evaluations
from machidata.ebpm import selectors_evaluations as sel
from machidata.ebpm.models import (
    EvaluationDesign,
    EvaluationDirection,
    EvaluationPlan,
    EvidenceLevel,
    IndicatorKind,
    PlanItem,
)
from machidata.jp.fiscal import fiscal_year as fiscal_year_of
from machidata.jp.fiscal import format_fiscal_year

_SHOWN = (InvalidInput, Conflict, NotFound)
FIELDS = (
    "self_assessment",
    "direction",
    "output_indicator_id",
    "outcome_indicator_id",
    "evidence_level",
    "analysis_id",
    "evidence_note",
    "next_request_note",
    "next_request_amount_yen",
)


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _form_context(actor: Actor, item: PlanItem) -> dict[str, Any]:
    indicators = list(sel.item_indicators(item))
    return {
        "item": item,
        "outputs": [i for i in indicators if i.kind == IndicatorKind.ACTIVITY],
        "outcomes": [i for i in indicators if i.kind == IndicatorKind.OUTCOME],
        "directions": EvaluationDirection.choices,
        "levels": EvidenceLevel.choices,
        "analyses": sel.readable_analyses(actor=actor)[:200],
    }


@login_required
@require_http_methods(["GET", "POST"])
def evaluation_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Record the yearly evaluation of a 事業 (the owning 課's 編集 and 管理)."""
    actor = _actor(request)
    item = selectors.plan_item_get(actor=actor, pk=pk)
    if not selectors.may_edit(actor, item):
        raise PermissionDenied("この事業を評価できるのは、所管課の編集担当とデータ戦略課（管理）です。")
    error = ""
    if request.method == "POST":
        try:
            evaluation = services_evaluations.evaluation_create(
                actor=actor,
                item=item,
                fiscal_year=request.POST.get("fiscal_year"),
                **{f: request.POST.get(f, "") for f in FIELDS},
            )
        except _SHOWN as exc:
            error = exc.message
        else:
            messages.success(request, f"{evaluation.fiscal_year}年度の評価を記録しました。")
            return redirect("ebpm:evaluation", evaluation.pk)
    default_year = fiscal_year_of(timezone.localdate()) - 1
    return render(
        request,
        "ebpm/evaluation_form.html",
        {**_form_context(actor, item), "error": error, "post": request.POST, "default_year": default_year},
        status=400 if error else 200,
    )


@login_required
@require_GET
def evaluation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One evaluation: the text, achievement by indicator, cost per unit, evidence, direction and reflection."""
    actor = _actor(request)
    evaluation = sel.evaluation_get(actor=actor, pk=pk)
    return render(
        request,
        "ebpm/evaluation_detail.html",
        {
            "evaluation": evaluation,
            "item": evaluation.item,
            "figures": sel.evaluation_figures(actor=actor, evaluation=evaluation),
            "analysis_visible": sel.analysis_visible(actor, evaluation),
            "can_edit": selectors.may_edit(actor, evaluation.item),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def evaluation_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change an evaluation (its 事業 and 年度 stay)."""
    actor = _actor(request)
    evaluation = sel.evaluation_get(actor=actor, pk=pk)
    if not selectors.may_edit(actor, evaluation.item):
        raise PermissionDenied("この評価を変更できるのは、所管課の編集担当とデータ戦略課（管理）です。")
    error = ""
    if request.method == "POST":
        raw = request.POST.get("lock_version", "")
        try:
            services_evaluations.evaluation_update(
                actor=actor,
                evaluation=evaluation,
                lock_version=int(raw) if raw.isdigit() else -1,
                **{f: request.POST.get(f, "") for f in FIELDS},
            )
        except _SHOWN as exc:
            error = exc.message
        else:
            messages.success(request, "評価を変更しました。")
            return redirect("ebpm:evaluation", evaluation.pk)
    post: Any = request.POST if request.method == "POST" else {
        f: ("" if getattr(evaluation, f) is None else str(getattr(evaluation, f))) for f in FIELDS
    }  # fmt: skip
    return render(
        request,
        "ebpm/evaluation_form.html",
        {**_form_context(actor, evaluation.item), "evaluation": evaluation, "error": error, "post": post},
        status=400 if error else 200,
    )


@login_required
@require_POST
def plan_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Fix an evaluation plan for the 事業 (which indicator, which design, when)."""
    actor = _actor(request)
    item = selectors.plan_item_get(actor=actor, pk=pk)
    try:
        services_evaluations.evaluation_plan_add(
            actor=actor, item=item, indicator_id=request.POST.get("indicator_id"), design=request.POST.get("design", ""),
            fiscal_year=request.POST.get("fiscal_year"), timing=request.POST.get("timing", ""), note=request.POST.get("note", ""),
        )  # fmt: skip
    except _SHOWN as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "効果検証の計画を記録しました。")
    return redirect(reverse("ebpm:detail", args=[pk]) + "#plans")


@login_required
@require_POST
def plan_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove an evaluation plan."""
    actor = _actor(request)
    plan = EvaluationPlan.objects.filter(pk=pk).select_related("item").first()
    if plan is None:
        raise NotFound("効果検証の計画が見つかりません。")
    item = selectors.plan_item_get(actor=actor, pk=plan.item_id)
    services_evaluations.evaluation_plan_remove(actor=actor, plan=plan)
    messages.success(request, "効果検証の計画を削除しました。")
    return redirect(reverse("ebpm:detail", args=[item.pk]) + "#plans")


def _review_params(request: HttpRequest, actor: Actor) -> dict[str, Any]:
    years = sel.review_years(actor=actor)
    raw = request.GET.get("year", "")
    year = (
        int(raw)
        if raw.isdigit() and 1950 <= int(raw) <= 2100
        else (years[0] if years else fiscal_year_of(timezone.localdate()) - 1)
    )
    unit = request.GET.get("unit", "")
    direction = request.GET.get("direction", "")
    sort = request.GET.get("sort", "code")
    return {
        "years": years if year in years else sorted([*years, year], reverse=True),
        "year": year,
        "unit": unit,
        "direction": direction if direction in EvaluationDirection.values else "",
        "sort": sort if sort in sel.SORTS else "code",
        "desc": request.GET.get("order") == "desc",
    }


def _rows(actor: Actor, p: dict[str, Any]) -> list[sel.ReviewRow]:
    return sel.review_rows(
        actor=actor,
        fiscal_year=p["year"],
        unit_id=int(p["unit"]) if p["unit"].isdigit() else None,
        direction=p["direction"] or None,
        sort=p["sort"],
        descending=p["desc"],
    )


@login_required
@require_GET
def review(request: HttpRequest) -> HttpResponse:
    """The 査定 view of a 年度: every 事業 with its logic model, achievement, cost, evidence and proposed direction."""
    actor = _actor(request)
    p = _review_params(request, actor)
    rows = _rows(actor, p)
    page = Paginator(rows, settings.MACHIDATA_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    base = query.copy()
    for k in ("sort", "order"):
        base.pop(k, None)
    columns = [
        (
            key,
            label,
            p["sort"] == key,
            "asc" if p["sort"] == key and p["desc"] else "desc" if p["sort"] == key else "asc",
        )
        for key, (label, _) in sel.SORTS.items()
    ]
    return render(
        request,
        "ebpm/review.html",
        {
            **p,
            "page": page,
            "count": len(rows),
            "year_label": format_fiscal_year(p["year"]),
            "units": selectors.all_divisions(),
            "directions": EvaluationDirection.choices,
            "columns": {
                key: {"label": label, "current": cur, "next": nxt} for key, label, cur, nxt in columns
            },
            "query_without_page": (query.urlencode() + "&") if query else "",
            "query_without_sort": (base.urlencode() + "&") if base else "",
            "export_query": query.urlencode(),
        },
    )


@login_required
@require_GET
def review_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The 査定 view (the same filters and order) as XLSX or CSV (UTF-8 with BOM); audited."""
    actor = _actor(request)
    p = _review_params(request, actor)
    rows = _rows(actor, p)
    name = f"satei-{p['year']}"
    if fmt == "csv":
        response = HttpResponse(
            exports.review_csv(actor=actor, rows=rows, fiscal_year=p["year"]),
            content_type="text/csv; charset=utf-8",
        )
    else:
        title = f"{format_fiscal_year(p['year'])}（{p['year']}） 事業評価の査定一覧"
        response = HttpResponse(
            exports.review_xlsx(actor=actor, rows=rows, fiscal_year=p["year"], title=title),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


def item_context(actor: Actor, item: PlanItem) -> dict[str, Any]:
    """What the 事業 page shows of evaluation: the plans (with their choices) and the yearly evaluations."""
    if item.level != "project":
        return {}
    return {
        "plans": sel.evaluation_plans_of(item),
        "plan_designs": EvaluationDesign.choices,
        "plan_indicators": sel.item_indicators(item),
        "evaluations": sel.evaluation_list(actor=actor, item_id=item.pk),
        "sheet_year": item.evaluations.order_by("-fiscal_year").values_list("fiscal_year", flat=True).first()
        or fiscal_year_of(timezone.localdate()) - 1,
    }


@login_required
@require_GET
def strategy(request: HttpRequest) -> HttpResponse:
    """The strategy's own KPI board: every 検証指標 for FY2024–2027, computed live where machidata knows it."""
    from machidata.ebpm.models import BoardSurveyKey
    from machidata.ebpm.strategy import YEARS, board_survey_choices, board_survey_links, strategy_board

    actor = _actor(request)
    rows = strategy_board(actor=actor)
    return render(
        request,
        "ebpm/strategy.html",
        {
            "rows": rows,
            "years": YEARS,
            "current": fiscal_year_of(timezone.localdate()),
            "live": sum(r.is_live for r in rows),
            "links": board_survey_links(),
            "keys": BoardSurveyKey.choices,
            "choices": board_survey_choices(actor=actor) if actor.is_admin else [],
            "is_admin": actor.is_admin,
        },
    )


@login_required
@require_POST
def strategy_survey(request: HttpRequest) -> HttpResponse:
    """Map (or unmap) a survey question + option to a survey-based 検証指標 of the board (管理 only)."""
    from machidata.ebpm import services_board

    actor = _actor(request)
    key = request.POST.get("key", "")
    try:
        if request.POST.get("clear"):
            services_board.board_survey_link_clear(actor=actor, key=key)
            messages.success(request, "アンケートとの対応を外しました。")
        else:
            survey_id, _, rest = request.POST.get("choice", "").partition("\t")
            question, _, option = rest.partition("\t")
            services_board.board_survey_link_set(
                actor=actor, key=key, survey_id=survey_id, question=question, option=option
            )
            messages.success(request, "検証指標にアンケートの質問と選択肢を対応づけました。")
    except (InvalidInput, NotFound) as exc:
        messages.error(request, exc.message)
    return redirect(reverse("ebpm:strategy") + "#survey-links")
