"""The guides, Q&A, forum, FAQ and case library API, mounted under /api/v1/support/ (staff only)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Status

from machidata.access.auth import api_staff
from machidata.access.policy import Actor
from machidata.core.errors import InvalidInput
from machidata.core.schemas import Offset
from machidata.support import selectors_help as sel
from machidata.support import services_cases, services_guides, services_qa
from machidata.support.models import Case, ForumTopic
from machidata.support.schemas import ErrorOut
from machidata.support.schemas_help import (
    CaseCopyOut,
    CaseIn,
    CaseOut,
    CaseParams,
    FaqIn,
    FaqOut,
    GuideIn,
    GuideOut,
    GuideSummaryOut,
    GuideVersionOut,
    QuestionAnswerIn,
    QuestionIn,
    QuestionOut,
    ReplyIn,
    ReplyOut,
    ThreadIn,
    ThreadOut,
    TopicOut,
)
from machidata.support.selectors import discoverable_datasets

router = Router(tags=["support"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


# ---- guides ---------------------------------------------------------------------------------------


@router.get("/guides", response={200: list[GuideSummaryOut], 401: ErrorOut}, summary="ガイドブックの一覧")
def guide_list(request: HttpRequest) -> list[GuideSummaryOut]:
    """Every guide with its current version number."""
    actor = api_staff(request)
    return [
        GuideSummaryOut(
            slug=g.slug, title=g.title, current_version=g.current_version, updated_at=g.updated_at
        )
        for g in sel.guide_list(actor=actor)
    ]


@router.get("/guides/{slug}", response={200: GuideOut, **ERRORS}, summary="ガイドブック")
def guide_detail(request: HttpRequest, slug: str, version: int | None = None) -> GuideOut:
    """A guide at its current version, or at ``version``."""
    guide = sel.guide_get(actor=api_staff(request), slug=slug)
    return GuideOut.of(sel.guide_version(guide=guide, number=version))


@router.get("/guides/{slug}/versions", response={200: list[GuideVersionOut], **ERRORS}, summary="更新履歴")
def guide_versions(request: HttpRequest, slug: str) -> list[GuideVersionOut]:
    """Every saved version of a guide, newest first."""
    guide = sel.guide_get(actor=api_staff(request), slug=slug)
    return [
        GuideVersionOut(
            version=v.number,
            title=v.title,
            note=v.note,
            saved_at=v.created_at,
            saved_by=v.edited_by.get_username() if v.edited_by else None,
        )
        for v in guide.versions.select_related("edited_by")
    ]


@router.put("/guides/{slug}", response={200: GuideOut, **ERRORS}, summary="ガイドブックの保存（新しい版）")
def guide_save(request: HttpRequest, slug: str, payload: GuideIn) -> GuideOut:
    """Save a new version (管理); 409 when someone saved after ``base_version``."""
    actor = api_staff(request)
    guide = sel.guide_get(actor=actor, slug=slug)
    version = services_guides.guide_save(
        actor=actor,
        guide=guide,
        title=payload.title,
        body=payload.body,
        checklist=payload.checklist,
        note=payload.note,
        base_version=payload.base_version,
    )
    return GuideOut.of(version)


# ---- dataset questions ----------------------------------------------------------------------------


@router.get(
    "/datasets/{slug}/questions", response={200: list[QuestionOut], **ERRORS}, summary="データへの質問"
)
def question_list(request: HttpRequest, slug: str) -> list[QuestionOut]:
    """The questions of a dataset the caller may discover (404 otherwise)."""
    actor = api_staff(request)
    dataset = sel.dataset_for_questions(actor=actor, slug=slug)
    return [QuestionOut.of(q) for q in sel.dataset_questions(actor=actor, dataset=dataset)]


@router.post(
    "/datasets/{slug}/questions", response={201: QuestionOut, **ERRORS}, summary="データ所有者への質問"
)
def question_ask(request: HttpRequest, slug: str, payload: QuestionIn) -> Status[QuestionOut]:
    """Ask the dataset's owner a question."""
    actor = api_staff(request)
    dataset = sel.dataset_for_questions(actor=actor, slug=slug)
    return Status(
        201, QuestionOut.of(services_qa.question_ask(actor=actor, dataset=dataset, body=payload.body))
    )


@router.post("/questions/{pk}/answer", response={200: QuestionOut, **ERRORS}, summary="質問への回答")
def question_answer(request: HttpRequest, pk: int, payload: QuestionAnswerIn) -> QuestionOut:
    """Answer a question (the owning 課 or 管理)."""
    actor = api_staff(request)
    q = sel.question_get(actor=actor, pk=pk)
    return QuestionOut.of(services_qa.question_answer(actor=actor, question=q, answer=payload.answer))


@router.post(
    "/questions/{pk}/faq", response={200: QuestionOut, **ERRORS}, summary="よくある質問に加える・外す"
)
def question_faq(request: HttpRequest, pk: int, payload: FaqIn) -> QuestionOut:
    """Mark an answered question as FAQ or not (管理)."""
    actor = api_staff(request)
    q = sel.question_get(actor=actor, pk=pk)
    return QuestionOut.of(services_qa.question_mark_faq(actor=actor, question=q, is_faq=payload.is_faq))


# ---- forum and FAQ --------------------------------------------------------------------------------


@router.get("/forum/topics", response={200: list[TopicOut], 401: ErrorOut}, summary="掲示板の話題")
def topic_list(request: HttpRequest) -> list[TopicOut]:
    """The forum topics."""
    actor = api_staff(request)
    return [
        TopicOut(slug=t.slug, name=t.name, description=t.description) for t in sel.topic_list(actor=actor)
    ]


@router.get("/forum/threads", response={200: list[ThreadOut], 401: ErrorOut}, summary="掲示板の検索")
def thread_list(
    request: HttpRequest, q: str = "", topic: str = "", limit: int = 100, offset: Offset = 0
) -> list[ThreadOut]:
    """Threads by topic and words (every folded word must occur), newest activity first."""
    actor = api_staff(request)
    limit = max(1, min(limit, 500))
    rows = sel.thread_search(actor=actor, q=q[:200], topic=topic)[max(offset, 0) : max(offset, 0) + limit]
    return [ThreadOut.of(t) for t in rows]


@router.post("/forum/threads", response={201: ThreadOut, **ERRORS}, summary="掲示板への投稿")
def thread_start(request: HttpRequest, payload: ThreadIn) -> Status[ThreadOut]:
    """Start a thread under a topic."""
    actor = api_staff(request)
    topic = ForumTopic.objects.filter(slug=payload.topic).first()
    if topic is None:
        raise InvalidInput(f"話題「{payload.topic}」は見つかりません。")
    thread = services_qa.thread_start(actor=actor, topic=topic, title=payload.title, body=payload.body)
    return Status(201, ThreadOut.of(thread, replies=True))


@router.get("/forum/threads/{pk}", response={200: ThreadOut, **ERRORS}, summary="スレッド")
def thread_detail(request: HttpRequest, pk: int) -> ThreadOut:
    """A thread with its replies."""
    return ThreadOut.of(sel.thread_get(actor=api_staff(request), pk=pk), replies=True)


@router.post("/forum/threads/{pk}/replies", response={201: ReplyOut, **ERRORS}, summary="返信")
def thread_reply(request: HttpRequest, pk: int, payload: ReplyIn) -> Status[ReplyOut]:
    """Reply in a thread."""
    actor = api_staff(request)
    thread = sel.thread_get(actor=actor, pk=pk)
    return Status(201, ReplyOut.of(services_qa.thread_reply(actor=actor, thread=thread, body=payload.body)))


@router.post(
    "/forum/threads/{pk}/faq", response={200: ThreadOut, **ERRORS}, summary="よくある質問に加える・外す"
)
def thread_faq(request: HttpRequest, pk: int, payload: FaqIn) -> ThreadOut:
    """Mark a thread as FAQ or not (管理)."""
    actor = api_staff(request)
    thread = sel.thread_get(actor=actor, pk=pk)
    return ThreadOut.of(services_qa.thread_mark_faq(actor=actor, thread=thread, is_faq=payload.is_faq))


@router.get("/faq", response={200: FaqOut, 401: ErrorOut}, summary="よくある質問")
def faq(request: HttpRequest) -> FaqOut:
    """The FAQ (dataset questions only of datasets the caller may discover)."""
    questions, threads = sel.faq(actor=api_staff(request))
    return FaqOut(
        questions=[QuestionOut.of(q) for q in questions],
        threads=[ThreadOut.of(t, replies=True) for t in threads],
    )


# ---- cases ----------------------------------------------------------------------------------------


def _case_out(actor: Actor, case: Case) -> CaseOut:
    return CaseOut.of(
        case,
        datasets=[d.slug for d in sel.case_datasets(actor=actor, case=case)],
        links=sel.case_links(actor=actor, case=case),
    )


def _links(actor: Actor, payload: CaseIn) -> dict[str, list[int]]:
    """The links named in the body (kinds left out: unchanged), dashboards by uuid turned into ids."""
    links: dict[str, list[int]] = {}
    if payload.dashboards is not None:
        links["dashboards"] = sel.dashboard_ids(actor=actor, uuids=payload.dashboards)
    for kind in ("recipes", "projects", "analyses"):
        ids = getattr(payload, kind)
        if ids is not None:
            links[kind] = list(ids)
    return links


def _dataset_ids(actor: Actor, slugs: list[str]) -> list[int]:
    wanted = set(slugs)
    found = dict(discoverable_datasets(actor=actor).filter(slug__in=wanted).values_list("slug", "pk"))
    if len(found) != len(wanted):
        raise InvalidInput(f"関係するデータが見つかりません: {'、'.join(sorted(wanted - set(found)))}")
    return list(found.values())


@router.get("/cases", response={200: list[CaseOut], 401: ErrorOut}, summary="事例集")
def case_list(request: HttpRequest, params: Query[CaseParams]) -> list[CaseOut]:
    """Cases the caller may see, with 絞り込み and text search."""
    actor = api_staff(request)
    filters = sel.CaseFilters.from_query(params.dict())
    rows = sel.case_list(actor=actor, filters=filters)[params.offset : params.offset + params.limit]
    return [_case_out(actor, c) for c in rows]


@router.post("/cases", response={201: CaseOut, **ERRORS}, summary="事例の登録（下書き）")
def case_create(request: HttpRequest, payload: CaseIn) -> Status[CaseOut]:
    """Add a draft case for the caller's 課."""
    actor = api_staff(request)
    values = payload.dict(exclude={"datasets", *sel.LINK_KINDS})
    case = services_cases.case_create(
        actor=actor,
        values=values,
        dataset_ids=_dataset_ids(actor, payload.datasets),
        links=_links(actor, payload),
    )
    return Status(201, _case_out(actor, case))


@router.get("/cases/{pk}", response={200: CaseOut, **ERRORS}, summary="事例")
def case_detail(request: HttpRequest, pk: int) -> CaseOut:
    """One case."""
    actor = api_staff(request)
    return _case_out(actor, sel.case_get(actor=actor, pk=pk))


@router.put("/cases/{pk}", response={200: CaseOut, **ERRORS}, summary="事例の変更")
def case_update(request: HttpRequest, pk: int, payload: CaseIn) -> CaseOut:
    """Change a case (its 課 or 管理)."""
    actor = api_staff(request)
    case = sel.case_get(actor=actor, pk=pk)
    values = payload.dict(exclude={"datasets", *sel.LINK_KINDS})
    services_cases.case_update(
        actor=actor,
        case=case,
        values=values,
        dataset_ids=_dataset_ids(actor, payload.datasets),
        links=_links(actor, payload),
    )
    return _case_out(actor, case)


@router.post("/cases/{pk}/publish", response={200: CaseOut, **ERRORS}, summary="事例の公開")
def case_publish(request: HttpRequest, pk: int) -> CaseOut:
    """Publish a draft case to all staff."""
    actor = api_staff(request)
    case = sel.case_get(actor=actor, pk=pk)
    return _case_out(actor, services_cases.case_publish(actor=actor, case=case))


@router.post("/cases/{pk}/copy", response={201: CaseCopyOut, **ERRORS}, summary="横展開（下書きにコピー）")
def case_copy(request: HttpRequest, pk: int) -> Status[CaseCopyOut]:
    """Copy a case as a draft for the caller's 課, linked to the original; its logic models become 事業 (構想), its dashboards the 課's own."""
    actor = api_staff(request)
    case = sel.case_get(actor=actor, pk=pk)
    result = services_cases.case_copy(actor=actor, case=case)
    return Status(
        201,
        CaseCopyOut(
            case=_case_out(actor, result.case),
            projects=[p.pk for p in result.projects],
            dashboards=[str(d.uuid) for d in result.dashboards],
            charts=result.charts,
            skipped=result.skipped,
        ),
    )
