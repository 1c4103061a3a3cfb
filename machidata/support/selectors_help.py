"""Reads of guidebooks, Q&A, the forum, the FAQ and the case library, filtered by the access policy.

Everything here is for signed-in staff only (anonymous sees nothing). A dataset's questions are
shown only to those who may discover the dataset; cases in draft only to their 課 and 管理.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from machidata.access.policy import Action, Actor, access_dataset, restrict, restrict_related
from machidata.core.errors import InvalidInput, NotFound
from machidata.search.normalise import fold
from machidata.support.models import (
    Case,
    CaseStatus,
    DatasetQuestion,
    ForumThread,
    ForumTopic,
    Guide,
    GuideVersion,
)


def _staff(actor: Actor) -> None:
    if not actor.is_authenticated:
        raise NotFound()


def _terms(q: str) -> list[str]:
    return [t for t in fold(q or "").split() if t][:10]


# ---- guides ---------------------------------------------------------------------------------------


def guide_list(*, actor: Actor) -> QuerySet[Guide]:
    """Every guide (staff)."""
    if not actor.is_authenticated:
        return Guide.objects.none()
    return Guide.objects.all()


def guide_get(*, actor: Actor, slug: str) -> Guide:
    """One guide by slug (staff); NotFound when missing."""
    _staff(actor)
    guide = Guide.objects.filter(slug=slug).first()
    if guide is None:
        raise NotFound("ガイドブックが見つかりません。")
    return guide


def guide_version(*, guide: Guide, number: int | None = None) -> GuideVersion:
    """A version of the guide (the current one by default)."""
    version = (
        guide.versions.select_related("edited_by").filter(number=number or guide.current_version).first()
    )
    if version is None:
        raise NotFound("その版は見つかりません。")
    return version


def guide_current(slug: str) -> tuple[Guide, GuideVersion] | None:
    """The guide and its current version, for the in-page help tags (None when missing)."""
    guide = Guide.objects.filter(slug=slug).first()
    if guide is None:
        return None
    version = guide.versions.filter(number=guide.current_version).first()
    return (guide, version) if version else None


# ---- dataset questions ----------------------------------------------------------------------------


def dataset_for_questions(*, actor: Actor, slug: str) -> Any:
    """The dataset whose questions ``actor`` wants: staff who may discover it; NotFound otherwise."""
    _staff(actor)
    return access_dataset(actor, Action.DISCOVER, slug=slug)


def dataset_questions(*, actor: Actor, dataset: Any) -> QuerySet[DatasetQuestion]:
    """The questions of one dataset (the caller has checked discovery with dataset_for_questions)."""
    return restrict_related(
        DatasetQuestion.objects.filter(dataset=dataset), actor, Action.DISCOVER, via="dataset"
    ).select_related("asked_by", "answered_by")


def question_count(*, actor: Actor, dataset: Any) -> tuple[int, int]:
    """(questions, unanswered) of a dataset as seen by ``actor`` (0, 0 for anonymous)."""
    if not actor.is_authenticated:
        return 0, 0
    qs = dataset_questions(actor=actor, dataset=dataset)
    return qs.count(), qs.filter(answer="").count()


def question_get(*, actor: Actor, pk: int) -> DatasetQuestion:
    """One question, when ``actor`` may discover its dataset; NotFound otherwise."""
    _staff(actor)
    q = (
        restrict_related(DatasetQuestion.objects.all(), actor, Action.DISCOVER, via="dataset")
        .select_related("dataset__owner")
        .filter(pk=pk)
        .first()
    )
    if q is None:
        raise NotFound("質問が見つかりません。")
    return q


def unanswered_for(*, actor: Actor) -> QuerySet[DatasetQuestion]:
    """Questions waiting for an answer from the actor's 課 (管理: all)."""
    if not actor.is_authenticated:
        return DatasetQuestion.objects.none()
    qs = DatasetQuestion.objects.filter(answer="").select_related("dataset")
    return qs if actor.is_admin else qs.filter(dataset__owner_id__in=actor.unit_ids)


# ---- forum and FAQ --------------------------------------------------------------------------------


def topic_list(*, actor: Actor) -> QuerySet[ForumTopic]:
    """Forum topics with their thread counts (staff)."""
    if not actor.is_authenticated:
        return ForumTopic.objects.none()
    return ForumTopic.objects.annotate(n_threads=Count("threads")).order_by("order", "id")


def thread_search(*, actor: Actor, q: str = "", topic: str = "") -> QuerySet[ForumThread]:
    """Forum threads (staff), newest activity first; every folded word of ``q`` must occur."""
    if not actor.is_authenticated:
        return ForumThread.objects.none()
    qs = (
        ForumThread.objects.select_related("topic", "created_by")
        .annotate(n_replies=Count("replies"))
        .order_by("-last_post_at", "-id")
    )
    if topic:
        qs = qs.filter(topic__slug=topic)
    for term in _terms(q):
        qs = qs.filter(folded__contains=term)
    return qs


def thread_get(*, actor: Actor, pk: int) -> ForumThread:
    """One thread (staff); NotFound when missing."""
    _staff(actor)
    thread = ForumThread.objects.select_related("topic", "created_by").filter(pk=pk).first()
    if thread is None:
        raise NotFound("スレッドが見つかりません。")
    return thread


def faq(*, actor: Actor) -> tuple[QuerySet[DatasetQuestion], QuerySet[ForumThread]]:
    """The FAQ: answered dataset questions marked by 管理 (only of discoverable datasets) and forum threads."""
    if not actor.is_authenticated:
        return DatasetQuestion.objects.none(), ForumThread.objects.none()
    questions = restrict_related(
        DatasetQuestion.objects.filter(is_faq=True).exclude(answer=""), actor, Action.DISCOVER, via="dataset"
    ).select_related("dataset")
    threads = ForumThread.objects.filter(is_faq=True).select_related("topic").prefetch_related("replies")
    return questions.order_by("dataset__title", "id"), threads.order_by("topic__order", "id")


# ---- cases ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFilters:
    """The 絞り込み of the case library."""

    q: str = ""
    field: str = ""
    evidence_level: str = ""
    municipality: str = ""
    mine: bool = False

    @classmethod
    def from_query(cls, query: Any) -> CaseFilters:
        """From a GET query (unknown values are ignored)."""
        return cls(
            q=str(query.get("q") or "")[:200],
            field=str(query.get("field") or ""),
            evidence_level=str(query.get("evidence_level") or ""),
            municipality=str(query.get("municipality") or "")[:60],
            mine=str(query.get("mine") or "") in {"1", "true", "on"},
        )


def _visible_cases(actor: Actor) -> QuerySet[Case]:
    if not actor.is_authenticated:
        return Case.objects.none()
    qs = Case.objects.select_related("unit", "copied_from")
    if actor.is_admin:
        return qs
    return qs.filter(Q(status=CaseStatus.PUBLISHED) | Q(unit_id__in=actor.unit_ids))


def case_list(*, actor: Actor, filters: CaseFilters | None = None) -> QuerySet[Case]:
    """Cases the actor may see, filtered; text search matches every folded word."""
    f = filters or CaseFilters()
    qs = _visible_cases(actor)
    if f.field:
        qs = qs.filter(field=f.field)
    if f.evidence_level:
        qs = qs.filter(evidence_level=f.evidence_level)
    if f.municipality:
        qs = qs.filter(municipality=f.municipality)
    if f.mine:
        qs = qs.filter(unit_id__in=actor.unit_ids)
    for term in _terms(f.q):
        qs = qs.filter(folded__contains=term)
    return qs


def case_get(*, actor: Actor, pk: int) -> Case:
    """One case the actor may see; hidden and missing both NotFound."""
    case = _visible_cases(actor).filter(pk=pk).first()
    if case is None:
        raise NotFound("事例が見つかりません。")
    return case


def case_datasets(*, actor: Actor, case: Case) -> QuerySet[Any]:
    """The related datasets of a case that ``actor`` may discover."""
    return restrict(case.datasets.all(), actor, Action.DISCOVER).select_related("owner").order_by("title")


# What a case (or a consultation) may link to besides datasets, and how each kind is seen: the room's own
# selector decides who sees what, so a link never shows a reader what the room would hide.
LINK_KINDS: tuple[str, ...] = ("dashboards", "recipes", "projects", "analyses")
LINK_LABELS: dict[str, str] = {
    "dashboards": "ダッシュボード",
    "recipes": "加工の手順",
    "projects": "事業（ロジックモデル）",
    "analyses": "分析",
}


def linkable(kind: str, *, actor: Actor) -> QuerySet[Any]:
    """The objects of ``kind`` that ``actor`` may see, through the owning room's selector."""
    if kind == "dashboards":
        from machidata.charts.selectors import dashboard_list

        return dashboard_list(actor=actor)
    if kind == "recipes":
        from machidata.prep.selectors import recipe_list

        return recipe_list(actor=actor)
    if kind == "projects":
        from machidata.ebpm.selectors import plan_items

        return plan_items(actor=actor)
    if kind == "analyses":
        from machidata.analysis.selectors import analysis_list

        return analysis_list(actor=actor)
    raise ValueError(kind)


def linked(owner: Any, kind: str, *, actor: Actor) -> QuerySet[Any]:
    """The objects of ``kind`` linked to ``owner`` (a case or consultation) that ``actor`` may see."""
    return linkable(kind, actor=actor).filter(pk__in=getattr(owner, kind).values("pk"))


Links = Mapping[str, Iterable[int]]


def resolve_links(
    actor: Actor, links: Links | None, *, kinds: tuple[str, ...] = LINK_KINDS
) -> dict[str, list[Any]]:
    """The objects named in ``links`` (kind → ids), each checked through its room's selector.

    Raises InvalidInput (nothing is linked) if a kind is not one of ``kinds`` or an id is missing or hidden.
    """
    out: dict[str, list[Any]] = {}
    for kind, ids in (links or {}).items():
        if kind not in kinds:
            raise InvalidInput(f"ひも付けられないものが指定されました（{kind}）。")
        wanted = {int(i) for i in ids}
        found = list(linkable(kind, actor=actor).filter(pk__in=wanted))
        if len(found) != len(wanted):
            raise InvalidInput(
                f"関係する{LINK_LABELS[kind]}に、見つからないもの（または見る権限のないもの）があります。"
            )
        out[kind] = found
    return out


def dashboard_ids(*, actor: Actor, uuids: Iterable[Any]) -> list[int]:
    """The ids of dashboards named by uuid (API bodies), each one the actor may see; else InvalidInput."""
    wanted = set(uuids)
    found = dict(linkable("dashboards", actor=actor).filter(uuid__in=wanted).values_list("uuid", "pk"))
    if len(found) != len(wanted):
        raise InvalidInput(
            "関係するダッシュボードに、見つからないもの（または見る権限のないもの）があります。"
        )
    return list(found.values())


CONSULTATION_LINK_KINDS: tuple[str, ...] = ("dashboards", "projects")


def consultation_links(*, actor: Actor, consultation: Any) -> dict[str, list[Any]]:
    """A consultation's related dashboards and 事業, as ``actor`` may see them."""
    return {kind: list(linked(consultation, kind, actor=actor)) for kind in CONSULTATION_LINK_KINDS}


def case_links(*, actor: Actor, case: Case) -> dict[str, list[Any]]:
    """Every kind of link of a case, as ``actor`` may see them (kinds with nothing visible are empty)."""
    return {kind: list(linked(case, kind, actor=actor)) for kind in LINK_KINDS}


def case_copies(*, actor: Actor, case: Case) -> QuerySet[Case]:
    """The copies (横展開) of a case the actor may see."""
    return _visible_cases(actor).filter(copied_from=case)


def case_municipalities(*, actor: Actor) -> list[str]:
    """The municipalities of visible cases, for the 絞り込み."""
    return sorted(set(_visible_cases(actor).values_list("municipality", flat=True)))
