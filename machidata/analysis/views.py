"""Analysis pages (staff): my analyses and the form that runs one design on a table; one result with its chart."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from machidata.access.policy import Actor
from machidata.analysis import selectors, services
from machidata.analysis.charts import result_spec
from machidata.analysis.forms import AnalysisForm, SampleSizeForm
from machidata.analysis.interpret import LEVEL_LABELS
from machidata.analysis.models import Status
from machidata.analysis.power import sample_size
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


@login_required
@require_http_methods(["GET", "POST"])
def analysis_list(request: HttpRequest) -> HttpResponse:
    """My analyses, and the form that runs a new one."""
    actor = _actor(request)
    form = AnalysisForm(request.POST or None)
    tables = list(selectors.analysable_tables(actor=actor))
    form.fields["table"].choices = [(t.pk, f"{t.dataset.title} / {t.title}") for t in tables]  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        try:
            table = selectors.analysable_table(actor=actor, pk=form.cleaned_data["table"])
            analysis = services.analysis_run(
                actor=actor, table=table, title=form.cleaned_data["title"], spec=form.spec()
            )
        except (InvalidInput, PermissionDenied, NotFound) as exc:
            form.add_error(None, exc.message)
            if isinstance(exc.details, dict):
                for reason in exc.details.values():
                    form.add_error(None, str(reason))
        else:
            if analysis.status == Status.RUNNING:
                messages.info(request, "時間がかかる分析のため、処理状況の画面で進み具合を確認できます。")
            else:
                messages.success(request, "分析しました。")
            return redirect("analysis:detail", analysis.pk)
    return render(
        request,
        "analysis/analysis_list.html",
        {"analyses": selectors.analysis_list(actor=actor)[:100], "form": form, "has_tables": bool(tables)},
    )


@login_required
@require_GET
def analysis_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One result: estimate, interval, checks, assumptions, chart, interpretation, data and library versions."""
    analysis = selectors.analysis_get(actor=_actor(request), pk=pk)
    result = analysis.result or {}
    return render(
        request,
        "analysis/analysis_detail.html",
        {
            "analysis": analysis,
            "result": result,
            "spec": result_spec(result) if result else None,
            "level_label": LEVEL_LABELS.get(
                result.get("evidence_level") or 0, "—（因果の推定ではありません）"
            ),
        },
    )


@login_required
@require_GET
def sample_size_page(request: HttpRequest) -> HttpResponse:
    """How many people a randomised trial needs (nothing is saved)."""
    form = SampleSizeForm(request.GET or None)
    result = None
    if request.GET and form.is_valid():
        try:
            result = sample_size(**form.cleaned_data)
        except InvalidInput as exc:
            form.add_error(None, exc.message)
    return render(request, "analysis/sample_size.html", {"form": form, "result": result})


@login_required
@require_GET
def analysis_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The analysis as XLSX (numbers, checks, assumptions, chart data) or PPTX (interpretation and chart)."""
    from machidata.analysis.exports import EXPORTS, result_pptx, result_xlsx

    analysis = selectors.analysis_get(actor=_actor(request), pk=pk)
    if fmt not in EXPORTS or analysis.status != Status.DONE:
        raise NotFound("この形式では書き出せません。")
    content_type, ext = EXPORTS[fmt]
    body = result_xlsx(analysis) if fmt == "xlsx" else result_pptx(analysis)
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="analysis-{analysis.pk}.{ext}"'
    return response
