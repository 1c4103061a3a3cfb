"""Analysis pages (staff): my analyses and the form that runs one design on a table; one result with its chart."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from machidata.access.policy import Actor
from machidata.analysis import selectors, services
from machidata.analysis.charts import result_spec
from machidata.analysis.forms import AnalysisForm, SampleSizeForm
from machidata.analysis.interpret import LEVEL_LABELS, fmt
from machidata.analysis.models import Status
from machidata.analysis.power import sample_size
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied

# What each design does and needs, shown beside the form (the guide explains the assumptions).
DESIGN_HELP = [
    (
        "介入前後の比較",
        "介入の前と後の平均を比べます。介入前 3 期以上、介入後 2 期以上が必要です。根拠の強さはレベル2。",
    ),
    (
        "中断時系列分析",
        "それまでの傾向と季節の動きを差し引いて、介入の時点の変化を見ます。介入前 8 期以上が必要です。レベル3。",
    ),
    (
        "差の差分析",
        "介入した区としなかった区の変化の差を見ます。単位の列と介入を受けた単位が必要です。介入前の傾向とプラセボ検定も確かめます。レベル4。",
    ),
    (
        "差の差分析（介入の時期が単位ごとに違う）",
        "区ごとに介入を始めた時期が違うとき（例：中央区は4月、東区は10月）に使います。一度も介入を受けない単位"
        "（なければ、最後に始めた単位の開始前の期間）と比べ、介入からの経過ごとの効果も示します。レベル4。",
    ),
    (
        "合成コントロール法",
        "介入した区が1つのとき、ほかの区の組合せと比べます。年単位、介入前 5 年以上。時間がかかるため裏で計算し、進み具合を表示します。レベル4。",
    ),
    (
        "需要の予測",
        "曜日・時間帯・祝日から次の期間の件数を予測し、過去のデータで当たり具合を確かめます。単位の列を入れると区ごとに予測します。"
        "時間単位の予測は時間がかかるため裏で計算し、進み具合を表示します。",
    ),
]


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
                messages.info(
                    request, "時間がかかる分析のため、裏で計算しています。この画面で進み具合を確認できます。"
                )
            else:
                messages.success(request, "分析しました。")
            return redirect("analysis:detail", analysis.pk)
    page = Paginator(selectors.analysis_list(actor=actor), settings.MACHIDATA_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "analysis/analysis_list.html",
        {
            "analyses": page,
            "page_obj": page,
            "form": form,
            "has_tables": bool(tables),
            "designs": DESIGN_HELP,
        },
    )


def _p_text(p: float | None) -> str:
    if p is None:
        return "—"
    return "0.001 未満" if p < 0.001 else f"{p:.3f}"


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
            "shown": {
                "estimate": fmt(result.get("estimate")),
                "ci_low": fmt(result.get("ci_low")),
                "ci_high": fmt(result.get("ci_high")),
                "p_value": _p_text(result.get("p_value")),
            },
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
    from machidata.catalog.table_selectors import refuse_pseudonymised_export

    analysis = selectors.analysis_get(actor=_actor(request), pk=pk)
    if fmt not in EXPORTS or analysis.status != Status.DONE:
        raise NotFound("この形式では書き出せません。")
    version = analysis.table_version or analysis.table.current_version
    if version is not None:  # 仮名加工情報 never leaves as a file (audited, 403)
        refuse_pseudonymised_export(
            actor=_actor(request), table=analysis.table, version=version, fmt=fmt, action="analysis.export"
        )
    content_type, ext = EXPORTS[fmt]
    body = result_xlsx(analysis) if fmt == "xlsx" else result_pptx(analysis)
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="analysis-{analysis.pk}.{ext}"'
    return response
