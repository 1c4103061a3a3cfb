"""Survey pages: list and register, a survey with its rounds and upload, question confirmation,
frequency tables, crosstab with heat map, free text, and rounds compared (thin: selectors and services)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from machidata.access.policy import Actor
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from machidata.surveys import exports, services
from machidata.surveys.models import QuestionKind, Round
from machidata.surveys.results import (
    SUPPRESS_DEFAULT,
    common_questions,
    compare_rounds,
    frequency_tables,
    load_round,
    number_summaries,
    round_crosstab,
    round_freetext,
)
from machidata.surveys.selectors import (
    leaves_division,
    may_edit,
    owner_unit_choices,
    round_get,
    suppression_threshold,
    survey_get,
    survey_list,
    survey_rounds,
)
from machidata.surveys.tables import DENOMINATORS, HIDDEN, heatmap_spec


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@require_http_methods(["GET", "POST"])
@login_required
def survey_list_view(request: HttpRequest) -> HttpResponse:
    """The surveys of my 課 (all for 管理), and the form to register one."""
    actor = _actor(request)
    units = owner_unit_choices(actor=actor)
    error = ""
    if request.method == "POST":
        try:
            survey = services.survey_create(
                actor=actor,
                title=request.POST.get("title", ""),
                unit_id=_int(request.POST.get("unit_id")) or 0,
                description=request.POST.get("description", ""),
            )
        except InvalidInput as exc:
            error = exc.message
        else:
            messages.success(request, "アンケートを登録しました。回答のファイルを取り込んでください。")
            return redirect("surveys:detail", survey.pk)
    return render(
        request,
        "surveys/survey_list.html",
        {"surveys": survey_list(actor=actor), "units": units, "error": error, "form": request.POST},
        status=400 if error else 200,
    )


@require_http_methods(["GET", "POST"])
@login_required
def survey_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A survey's rounds; the owner 課's 編集 uploads a new round (a Forms export)."""
    actor = _actor(request)
    survey = survey_get(actor=actor, pk=pk)
    editable = may_edit(actor, survey)
    error = ""
    if request.method == "POST":
        if not editable:
            raise PermissionDenied(services.NOT_OWNER)
        try:
            round_ = services.round_upload(
                actor=actor,
                survey=survey,
                label=request.POST.get("label", ""),
                upload=request.FILES.get("file"),
            )
        except (InvalidInput, Conflict) as exc:
            error = exc.message
        else:
            if not isinstance(round_, Round):  # a large file: imported by a job
                messages.info(
                    request,
                    "ファイルが大きいので、裏で取り込みます。終わったら質問の種類と選択肢を確認してください。",
                )
                return redirect("jobs:detail", round_.pk)
            messages.success(
                request,
                f"{round_.respondents}件の回答を取り込みました。質問の種類と選択肢を確認してください。",
            )
            return redirect("surveys:questions", round_.pk)
    return render(
        request,
        "surveys/survey_detail.html",
        {
            "survey": survey,
            "rounds": survey_rounds(survey=survey),
            "editable": editable,
            "error": error,
            "common": common_questions(survey),
        },
        status=400 if error else 200,
    )


def _context(actor: Actor, round_: Round, **extra: Any) -> dict[str, Any]:
    return {"round": round_, "survey": round_.survey, "editable": may_edit(actor, round_.survey), **extra}


@require_http_methods(["GET", "POST"])
@login_required
def round_questions_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The guessed type and options of every question, for the owner to confirm or correct."""
    actor = _actor(request)
    round_ = round_get(actor=actor, pk=pk)
    errors: dict[str, str] = {}
    error = ""
    if request.method == "POST":
        if not may_edit(actor, round_.survey):
            raise PermissionDenied(services.NOT_OWNER)
        declarations = [
            {
                "position": q.position,
                "kind": request.POST.get(f"kind-{q.position}", q.kind),
                "options": request.POST.get(f"options-{q.position}", ""),
            }
            for q in round_.questions.all()
        ]
        only = _int(request.POST.get("only"))
        try:
            if only is not None:  # one question saved, the round not confirmed
                item = next((d for d in declarations if d["position"] == only), None)
                if item is None:
                    raise InvalidInput("この質問はこの回にありません。")
                question = services.question_declare(
                    actor=actor, round_=round_, position=only, kind=str(item["kind"]), options=item["options"]
                )
            else:
                services.round_questions_confirm(actor=actor, round_=round_, declarations=declarations)
        except InvalidInput as exc:
            error = exc.message
            errors = exc.details if isinstance(exc.details, dict) else {}
        else:
            if only is not None:
                messages.success(request, f"「{question.text[:40]}」の種類と選択肢を保存しました。")
                return redirect("surveys:questions", round_.pk)
            messages.success(request, "質問の種類と選択肢を確定しました。")
            return redirect("surveys:tables", round_.pk)
    data = load_round(round_)
    rows = []
    for q in data.questions:
        samples = [str(c) for c in data.cells[q.position] if c is not None][:3]
        rows.append({"q": q, "samples": samples, "error": errors.get(f"q{q.position}", "")})
    return render(
        request,
        "surveys/round_questions.html",
        _context(actor, round_, rows=rows, kinds=QuestionKind.choices, error=error),
        status=400 if error else 200,
    )


@require_POST
@login_required
def round_targets_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Set the known counts of one attribute question, keeping the others' (two or more: raking).

    Empty counts remove that question's targets; ``clear`` removes every target (no weights).
    """
    actor = _actor(request)
    round_ = round_get(actor=actor, pk=pk)
    targets: dict[Any, dict[str, str]] = (
        {} if request.POST.get("clear") else dict(round_.weight_targets or {})
    )
    position = _int(request.POST.get("question"))
    if position is not None and not request.POST.get("clear"):
        q = round_.questions.filter(position=position).first()
        counts = {}
        if q is not None:
            counts = {
                o: request.POST.get(f"target-{i}", "").strip()
                for i, o in enumerate(q.options)
                if request.POST.get(f"target-{i}", "").strip()
            }
        targets.pop(str(position), None)
        if counts:
            targets[position] = counts
    try:
        services.round_targets_set(actor=actor, round_=round_, targets=targets)
    except InvalidInput as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "重み付けの目標を保存しました。" if targets else "重み付けをやめました。")
    return redirect("surveys:tables", round_.pk)


def _options(request: HttpRequest) -> tuple[str, bool]:
    denominator = request.GET.get("denominator", "respondents")
    if denominator not in DENOMINATORS:
        denominator = "respondents"
    return denominator, request.GET.get("weighted") == "1"


@require_GET
@login_required
def round_tables_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Frequency tables of every choice question (n, 無回答, shares; weighted shares beside n)."""
    actor = _actor(request)
    round_ = round_get(actor=actor, pk=pk)
    denominator, weighted = _options(request)
    weighted = weighted and bool(round_.weight_targets)
    data = load_round(round_)
    forced = leaves_division(actor, round_.survey)
    tables = (
        frequency_tables(
            data,
            denominator=denominator,
            weighted=weighted,
            suppress_below=SUPPRESS_DEFAULT if forced else None,
        )
        if round_.status == "confirmed"
        else []
    )
    single = [q for q in data.questions if q.kind == QuestionKind.SINGLE]
    numbers = number_summaries(data, weighted=weighted) if round_.status == "confirmed" else []
    return render(
        request,
        "surveys/round_tables.html",
        _context(
            actor,
            round_,
            tables=tables,
            numbers=numbers,
            denominator=denominator,
            denominators=DENOMINATORS,
            weighted=weighted,
            single=single,
            targets=[q.text for q in data.questions if str(q.position) in (round_.weight_targets or {})],
            forced=forced,
            hidden_mark=HIDDEN,
        ),
    )


@require_GET
@login_required
def round_crosstab_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Crosstab by an attribute question as a table and a heat map; suppressed when it leaves the 課."""
    actor = _actor(request)
    round_ = round_get(actor=actor, pk=pk)
    denominator, weighted = _options(request)
    weighted = weighted and bool(round_.weight_targets)
    data = load_round(round_)
    single = [q for q in data.questions if q.kind == QuestionKind.SINGLE]
    choice = [q for q in data.questions if q.is_choice]
    forced = leaves_division(actor, round_.survey)
    below = suppression_threshold(
        actor,
        round_.survey,
        asked=request.GET.get("suppress") == "1",
        threshold=_int(request.GET.get("threshold")),
    )
    suppressed = below is not None
    threshold = below or _int(request.GET.get("threshold")) or SUPPRESS_DEFAULT
    by, of = _int(request.GET.get("by")), _int(request.GET.get("of"))
    result = None
    error = ""
    if by is not None and of is not None:
        try:
            q_by, q_of, table = round_crosstab(
                data,
                by=by,
                of=of,
                denominator=denominator,
                weighted=weighted,
                suppress_below=below,
            )
        except InvalidInput as exc:
            error = exc.message
        else:
            spec = heatmap_spec(table, title=q_of.text[:60], row_title=q_by.text[:30])
            result = {"by": q_by, "of": q_of, "table": table, "spec": spec}
    return render(
        request,
        "surveys/round_crosstab.html",
        _context(
            actor,
            round_,
            single=single,
            choice=choice,
            by=by,
            of=of,
            result=result,
            error=error,
            forced=forced,
            suppressed=suppressed,
            threshold=threshold,
            denominator=denominator,
            denominators=DENOMINATORS,
            weighted=weighted,
            hidden_mark=HIDDEN,
            export_formats=[("csv", "CSV（Excel向け）"), ("xlsx", "Excel（.xlsx）")],
        ),
        status=400 if error else 200,
    )


@require_GET
@login_required
def round_freetext_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Frequent words and phrases of a free-text question, overall and by group."""
    actor = _actor(request)
    round_ = round_get(actor=actor, pk=pk)
    data = load_round(round_)
    texts = [q for q in data.questions if q.kind == QuestionKind.TEXT]
    single = [q for q in data.questions if q.kind == QuestionKind.SINGLE]
    question = _int(request.GET.get("question"))
    by = _int(request.GET.get("by"))
    groups = []
    error = ""
    if question is not None:
        try:
            groups = round_freetext(data, question=question, by=by)
        except InvalidInput as exc:
            error = exc.message
    return render(
        request,
        "surveys/round_freetext.html",
        _context(
            actor, round_, texts=texts, single=single, question=question, by=by, groups=groups, error=error
        ),
        status=400 if error else 200,
    )


@require_GET
@login_required
def survey_compare_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One question across the confirmed rounds, with the fixed denominator rule."""
    actor = _actor(request)
    survey = survey_get(actor=actor, pk=pk)
    common = common_questions(survey)
    question = request.GET.get("question", "")
    below = suppression_threshold(actor, survey)  # the same rule as the tables: outside the 課, suppressed
    comparison = compare_rounds(survey, question, suppress_below=below) if question else None
    return render(
        request,
        "surveys/survey_compare.html",
        {
            "survey": survey,
            "common": common,
            "question": question,
            "comparison": comparison,
            "hidden_mark": HIDDEN,
        },
    )


@require_POST
@login_required
def round_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a round and its answers (the owner 課's 編集)."""
    actor = _actor(request)
    round_ = round_get(actor=actor, pk=pk)
    survey_pk = round_.survey_id
    services.round_delete(actor=actor, round_=round_)
    messages.success(request, "回を削除しました。")
    return redirect("surveys:detail", survey_pk)


def _download(f: exports.SurveyFile) -> HttpResponse:
    response = HttpResponse(f.content, content_type=f.content_type)
    response["Content-Disposition"] = f"attachment; filename={f.filename}"
    return response


def _fmt(request: HttpRequest) -> str:
    return request.GET.get("format", "csv")


@require_GET
@login_required
def round_tables_export_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The frequency tables as CSV or XLSX, as the page shows them to this reader (audited)."""
    actor = _actor(request)
    round_ = round_get(actor=actor, pk=pk)
    denominator, weighted = _options(request)
    try:
        made = exports.tables_file(
            actor=actor, round_=round_, fmt=_fmt(request), denominator=denominator, weighted=weighted
        )
    except InvalidInput as exc:
        messages.error(request, exc.message)
        return redirect("surveys:tables", round_.pk)
    return _download(made)


@require_GET
@login_required
def round_crosstab_export_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One crosstab as CSV or XLSX, as the page shows it to this reader (audited)."""
    actor = _actor(request)
    round_ = round_get(actor=actor, pk=pk)
    denominator, weighted = _options(request)
    by, of = _int(request.GET.get("by")), _int(request.GET.get("of"))
    try:
        if by is None or of is None:
            raise InvalidInput("表側と表頭の質問を選んでください。")
        made = exports.crosstab_file(
            actor=actor,
            round_=round_,
            by=by,
            of=of,
            fmt=_fmt(request),
            denominator=denominator,
            weighted=weighted,
            suppress=request.GET.get("suppress") == "1",
            threshold=_int(request.GET.get("threshold")),
        )
    except (InvalidInput, NotFound) as exc:
        messages.error(request, exc.message)
        return redirect("surveys:crosstab", round_.pk)
    return _download(made)
