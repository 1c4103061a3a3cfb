"""Pages of guidebooks, dataset questions, the staff forum, the FAQ and the case library (staff only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from machidata.access.policy import Actor
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from machidata.support import selectors_help as sel
from machidata.support import services_cases, services_guides, services_qa
from machidata.support.forms_help import AnswerForm, CaseForm, GuideForm, QuestionForm, ReplyForm, ThreadForm
from machidata.support.models import CaseField, EvidenceLevel
from machidata.support.selectors import discoverable_datasets

USER_ERRORS = (InvalidInput, PermissionDenied, Conflict)


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _flash(request: HttpRequest, call: Callable[[], Any], done: str) -> None:
    """Run one action; its Japanese refusal, or ``done``, is shown on the next page."""
    try:
        call()
    except USER_ERRORS as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)


def _get(call: Callable[..., Any], **kwargs: Any) -> Any:
    try:
        return call(**kwargs)
    except NotFound:
        raise Http404 from None


def _page(request: HttpRequest, qs: Any) -> Any:
    return Paginator(qs, settings.MACHIDATA_PAGE_SIZE).get_page(request.GET.get("page"))


# ---- guides ---------------------------------------------------------------------------------------


@require_GET
@login_required
def guide_list(request: HttpRequest) -> HttpResponse:
    """ガイドブック: the library of guides."""
    return render(request, "support/guide_list.html", {"guides": sel.guide_list(actor=_actor(request))})


@require_GET
@login_required
def guide_detail(request: HttpRequest, slug: str, number: int | None = None) -> HttpResponse:
    """A guide (its current version, or a past one)."""
    guide = _get(sel.guide_get, actor=_actor(request), slug=slug)
    version = _get(sel.guide_version, guide=guide, number=number)
    return render(request, "support/guide_detail.html", {"guide": guide, "version": version})


@require_GET
@login_required
def guide_history(request: HttpRequest, slug: str) -> HttpResponse:
    """更新履歴 of a guide: every saved version."""
    guide = _get(sel.guide_get, actor=_actor(request), slug=slug)
    versions = guide.versions.select_related("edited_by")
    return render(request, "support/guide_history.html", {"guide": guide, "versions": versions})


@require_http_methods(["GET", "POST"])
@login_required
def guide_edit(request: HttpRequest, slug: str) -> HttpResponse:
    """Save a new version of a guide (管理)."""
    actor = _actor(request)
    guide = _get(sel.guide_get, actor=actor, slug=slug)
    if not actor.is_admin:
        raise Http404
    current = _get(sel.guide_version, guide=guide)
    form = GuideForm(
        request.POST or None,
        initial={
            "title": current.title,
            "body": current.body,
            "checklist": "\n".join(current.checklist),
            "base_version": current.number,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            version = services_guides.guide_save(
                actor=actor,
                guide=guide,
                title=data["title"],
                body=data["body"],
                checklist=form.items(),
                note=data["note"],
                base_version=data["base_version"],
            )
        except USER_ERRORS as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"第{version.number}版として保存しました。")
            return redirect("support:guide", slug=guide.slug)
    return render(request, "support/guide_form.html", {"guide": guide, "form": form})


# ---- dataset questions ----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def dataset_questions(request: HttpRequest, slug: str) -> HttpResponse:
    """The questions of one dataset, the form to ask, and answer forms for its owner and 管理."""
    actor = _actor(request)
    dataset = _get(sel.dataset_for_questions, actor=actor, slug=slug)
    form = QuestionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services_qa.question_ask(actor=actor, dataset=dataset, body=form.cleaned_data["body"])
        except USER_ERRORS as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "質問を送りました。データ所有者（所管課）が回答します。")
            return redirect("support:dataset_questions", slug=slug)
    questions = sel.dataset_questions(actor=actor, dataset=dataset)
    may_answer = actor.is_admin or dataset.owner_id in actor.unit_ids
    return render(
        request,
        "support/dataset_questions.html",
        {"dataset": dataset, "questions": questions, "form": form, "may_answer": may_answer},
    )


@require_POST
@login_required
def question_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """Answer a question in place (the owning 課 or 管理)."""
    actor = _actor(request)
    question = _get(sel.question_get, actor=actor, pk=pk)
    form = AnswerForm(request.POST)
    if not form.is_valid():
        messages.error(request, "回答を入力してください。")
    else:
        answer = form.cleaned_data["answer"]
        _flash(
            request,
            lambda: services_qa.question_answer(actor=actor, question=question, answer=answer),
            "回答しました。",
        )
    return redirect("support:dataset_questions", slug=question.dataset.slug)


@require_POST
@login_required
def question_faq(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a question to the FAQ or take it off (管理)."""
    actor = _actor(request)
    question = _get(sel.question_get, actor=actor, pk=pk)
    is_faq = request.POST.get("is_faq") == "1"
    _flash(
        request,
        lambda: services_qa.question_mark_faq(actor=actor, question=question, is_faq=is_faq),
        "よくある質問を更新しました。",
    )
    return redirect("support:dataset_questions", slug=question.dataset.slug)


# ---- forum and FAQ --------------------------------------------------------------------------------


@require_GET
@login_required
def forum(request: HttpRequest) -> HttpResponse:
    """職員の掲示板: topics, and threads found by topic and words."""
    actor = _actor(request)
    q = request.GET.get("q", "")[:200]
    topic = request.GET.get("topic", "")
    page = _page(request, sel.thread_search(actor=actor, q=q, topic=topic))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "support/forum.html",
        {
            "topics": sel.topic_list(actor=actor),
            "page_obj": page,
            "q": q,
            "topic": topic,
            "query_without_page": f"{query.urlencode()}&" if query else "",
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def thread_new(request: HttpRequest) -> HttpResponse:
    """Start a forum thread."""
    actor = _actor(request)
    form = ThreadForm(request.POST or None, initial={"topic": request.GET.get("topic")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            thread = services_qa.thread_start(
                actor=actor, topic=data["topic"], title=data["title"], body=data["body"]
            )
        except USER_ERRORS as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("support:thread", pk=thread.pk)
    return render(request, "support/thread_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
@login_required
def thread_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A forum thread with its replies and the reply form."""
    actor = _actor(request)
    thread = _get(sel.thread_get, actor=actor, pk=pk)
    form = ReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services_qa.thread_reply(actor=actor, thread=thread, body=form.cleaned_data["body"])
        except USER_ERRORS as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "返信しました。")
            return redirect("support:thread", pk=pk)
    replies = thread.replies.select_related("created_by")
    return render(request, "support/thread_detail.html", {"thread": thread, "replies": replies, "form": form})


@require_POST
@login_required
def thread_faq(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a thread to the FAQ or take it off (管理)."""
    actor = _actor(request)
    thread = _get(sel.thread_get, actor=actor, pk=pk)
    is_faq = request.POST.get("is_faq") == "1"
    _flash(
        request,
        lambda: services_qa.thread_mark_faq(actor=actor, thread=thread, is_faq=is_faq),
        "よくある質問を更新しました。",
    )
    return redirect("support:thread", pk=pk)


@require_GET
@login_required
def faq(request: HttpRequest) -> HttpResponse:
    """よくある質問: answered questions and threads chosen by データ戦略課."""
    questions, threads = sel.faq(actor=_actor(request))
    return render(request, "support/faq.html", {"questions": questions, "threads": threads})


# ---- cases ----------------------------------------------------------------------------------------


@require_GET
@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    """事例集: cases with 絞り込み (field, evidence, municipality) and text search."""
    actor = _actor(request)
    filters = sel.CaseFilters.from_query(request.GET)
    page = _page(request, sel.case_list(actor=actor, filters=filters))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "support/case_list.html",
        {
            "page_obj": page,
            "filters": filters,
            "fields": CaseField.choices,
            "levels": EvidenceLevel.choices,
            "municipalities": sel.case_municipalities(actor=actor),
            "query_without_page": f"{query.urlencode()}&" if query else "",
        },
    )


@require_GET
@login_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One case with its related datasets and its copies."""
    actor = _actor(request)
    case = _get(sel.case_get, actor=actor, pk=pk)
    return render(
        request,
        "support/case_detail.html",
        {
            "case": case,
            "datasets": sel.case_datasets(actor=actor, case=case),
            "links": [
                (sel.LINK_LABELS[kind], kind, objects)
                for kind, objects in sel.case_links(actor=actor, case=case).items()
            ],
            "copies": sel.case_copies(actor=actor, case=case),
            "may_edit": services_cases.may_edit_case(actor, case),
        },
    )


def _case_values(form: CaseForm) -> tuple[dict[str, Any], list[int], dict[str, list[int]]]:
    data = dict(form.cleaned_data)
    links = {kind: [o.pk for o in data.pop(kind, [])] for kind in sel.LINK_KINDS}
    return data, [d.pk for d in data.pop("datasets", [])], links


def _linkable(actor: Actor) -> dict[str, Any]:
    return {kind: sel.linkable(kind, actor=actor) for kind in sel.LINK_KINDS}


@require_http_methods(["GET", "POST"])
@login_required
def case_new(request: HttpRequest) -> HttpResponse:
    """Add a case for the actor's 課."""
    actor = _actor(request)
    form = CaseForm(request.POST or None, datasets=discoverable_datasets(actor=actor), links=_linkable(actor))
    if request.method == "POST" and form.is_valid():
        values, ids, links = _case_values(form)
        try:
            case = services_cases.case_create(actor=actor, values=values, dataset_ids=ids, links=links)
        except USER_ERRORS as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "事例を下書きとして登録しました。内容を確かめて公開してください。")
            return redirect("support:case", pk=case.pk)
    return render(request, "support/case_form.html", {"form": form, "case": None})


@require_http_methods(["GET", "POST"])
@login_required
def case_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a case (its 課 or 管理)."""
    actor = _actor(request)
    case = _get(sel.case_get, actor=actor, pk=pk)
    if not services_cases.may_edit_case(actor, case):
        raise Http404
    initial = {
        f: getattr(case, f) for f in (*services_cases.TEXT_FIELDS, "field", "evidence_level", "source_url")
    }
    initial["datasets"] = list(sel.case_datasets(actor=actor, case=case))
    initial.update(sel.case_links(actor=actor, case=case))
    form = CaseForm(
        request.POST or None,
        initial=initial,
        datasets=discoverable_datasets(actor=actor),
        links=_linkable(actor),
    )
    if request.method == "POST" and form.is_valid():
        values, ids, links = _case_values(form)
        try:
            services_cases.case_update(actor=actor, case=case, values=values, dataset_ids=ids, links=links)
        except USER_ERRORS as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "事例を保存しました。")
            return redirect("support:case", pk=pk)
    return render(request, "support/case_form.html", {"form": form, "case": case})


@require_POST
@login_required
def case_publish(request: HttpRequest, pk: int) -> HttpResponse:
    """Publish a case to all staff, or take it back to draft."""
    actor = _actor(request)
    case = _get(sel.case_get, actor=actor, pk=pk)
    publish = request.POST.get("publish") == "1"
    _flash(
        request,
        lambda: services_cases.case_publish(actor=actor, case=case, publish=publish),
        "公開の状態を変えました。",
    )
    return redirect("support:case", pk=pk)


@require_POST
@login_required
def case_copy(request: HttpRequest, pk: int) -> HttpResponse:
    """横展開: copy a case as a draft for the actor's 課."""
    actor = _actor(request)
    case = _get(sel.case_get, actor=actor, pk=pk)
    try:
        result = services_cases.case_copy(actor=actor, case=case)
    except USER_ERRORS as exc:
        messages.error(request, exc.message)
        return redirect("support:case", pk=pk)
    messages.success(request, "課の下書きとしてコピーしました。自分の課に合わせて書き換えてください。")
    for item in result.projects:
        messages.success(request, f"ロジックモデルを写した事業「{item.name}」を構想の段階で作りました。")
    for board in result.dashboards:
        messages.success(request, f"ダッシュボード「{board.title}」を課で共有する形で作りました。")
    if result.charts:
        messages.success(request, f"グラフ{result.charts}件をダッシュボードと一緒に写しました。")
    for reason in result.skipped:
        messages.warning(request, f"コピーしなかったもの: {reason}")
    return redirect("support:case_edit", pk=result.case.pk)
