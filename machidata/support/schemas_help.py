"""Input and output shapes of the guides, Q&A, forum, FAQ and case library API (/api/v1/support/)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from ninja import Field, Schema

from machidata.core.schemas import Offset
from machidata.support.models import Case, DatasetQuestion, ForumReply, ForumThread, GuideVersion


def _who(user: Any) -> str | None:
    return user.get_username() if user else None


class GuideOut(Schema):
    """A guide at one version (the current one unless asked otherwise)."""

    slug: str
    title: str
    version: int
    current_version: int
    body: str
    checklist: list[str]
    saved_at: dt.datetime
    saved_by: str | None

    @staticmethod
    def of(v: GuideVersion) -> GuideOut:
        """Build from a version."""
        return GuideOut(
            slug=v.guide.slug,
            title=v.title,
            version=v.number,
            current_version=v.guide.current_version,
            body=v.body,
            checklist=list(v.checklist),
            saved_at=v.created_at,
            saved_by=_who(v.edited_by),
        )


class GuideSummaryOut(Schema):
    """A guide in the list."""

    slug: str
    title: str
    current_version: int
    updated_at: dt.datetime


class GuideVersionOut(Schema):
    """One entry of a guide's 更新履歴."""

    version: int
    title: str
    note: str
    saved_at: dt.datetime
    saved_by: str | None


class GuideIn(Schema):
    """A new version of a guide (管理); ``base_version`` is the version the edit started from."""

    title: str = Field(max_length=200)
    body: str
    checklist: list[str] = Field(default_factory=list)
    note: str = Field("", max_length=300)
    base_version: int


class QuestionIn(Schema):
    """A question to a dataset's owner."""

    body: str = Field(max_length=10_000)


class QuestionAnswerIn(Schema):
    """The answer to a question."""

    answer: str = Field(max_length=10_000)


class FaqIn(Schema):
    """Add to (true) or take off (false) the FAQ."""

    is_faq: bool


class QuestionOut(Schema):
    """A dataset question with its answer."""

    id: int
    dataset: str
    body: str
    asked_by: str | None
    asked_at: dt.datetime
    answer: str
    answered_by: str | None
    answered_at: dt.datetime | None
    is_faq: bool

    @staticmethod
    def of(q: DatasetQuestion) -> QuestionOut:
        """Build from a question."""
        return QuestionOut(
            id=q.pk,
            dataset=q.dataset.slug,
            body=q.body,
            asked_by=_who(q.asked_by),
            asked_at=q.asked_at,
            answer=q.answer,
            answered_by=_who(q.answered_by),
            answered_at=q.answered_at,
            is_faq=q.is_faq,
        )


class ThreadIn(Schema):
    """A new forum thread."""

    topic: str = Field(description="話題の識別名（slug）")
    title: str = Field(max_length=200)
    body: str = Field(max_length=10_000)


class ReplyIn(Schema):
    """A reply in a forum thread."""

    body: str = Field(max_length=10_000)


class ReplyOut(Schema):
    """A reply."""

    id: int
    body: str
    created_by: str | None
    created_at: dt.datetime

    @staticmethod
    def of(r: ForumReply) -> ReplyOut:
        """Build from a reply."""
        return ReplyOut(id=r.pk, body=r.body, created_by=_who(r.created_by), created_at=r.created_at)


class ThreadOut(Schema):
    """A forum thread (with its replies on the detail endpoint)."""

    id: int
    topic: str
    title: str
    body: str
    created_by: str | None
    created_at: dt.datetime
    last_post_at: dt.datetime
    is_faq: bool
    replies: list[ReplyOut] | None = None

    @staticmethod
    def of(t: ForumThread, *, replies: bool = False) -> ThreadOut:
        """Build from a thread."""
        return ThreadOut(
            id=t.pk,
            topic=t.topic.slug,
            title=t.title,
            body=t.body,
            created_by=_who(t.created_by),
            created_at=t.created_at,
            last_post_at=t.last_post_at,
            is_faq=t.is_faq,
            replies=[ReplyOut.of(r) for r in t.replies.select_related("created_by")] if replies else None,
        )


class TopicOut(Schema):
    """A forum topic."""

    slug: str
    name: str
    description: str


class FaqOut(Schema):
    """The FAQ: dataset questions and forum threads chosen by 管理."""

    questions: list[QuestionOut]
    threads: list[ThreadOut]


class CaseParams(Schema):
    """絞り込み of the case library."""

    q: str = Field("", max_length=200, description="事例名・データ・知見などに含む語（空白区切りですべて）")
    field: str = Field("", description="分野（economy・health・…）")
    evidence_level: str = Field("", description="根拠の強さ（descriptive・comparison・…）")
    municipality: str = Field("", max_length=60)
    mine: bool = False
    limit: int = Field(100, ge=1, le=500)
    offset: Offset = 0


class CaseIn(Schema):
    """A case (new or changed)."""

    title: str = Field(max_length=200)
    field: str
    municipality: str = Field("熊本市", max_length=60)
    summary: str = ""
    data_used: str
    insight: str
    policy_change: str = ""
    evidence_level: str
    source_title: str = Field("", max_length=300)
    source_url: str = Field("", max_length=500)
    datasets: list[str] = Field(default_factory=list, description="関係するデータセットのURL名（slug）")
    dashboards: list[uuid.UUID] | None = Field(
        None, max_length=50, description="関係するダッシュボードのID（uuid）。省略すると変えません"
    )
    recipes: list[int] | None = Field(
        None, max_length=50, description="関係する加工の手順のID。省略すると変えません"
    )
    projects: list[int] | None = Field(
        None, max_length=50, description="関係する事業（ロジックモデル）のID。省略すると変えません"
    )
    analyses: list[int] | None = Field(
        None, max_length=50, description="関係する分析のID。省略すると変えません"
    )


class CaseLinksOut(Schema):
    """What a case links to, as far as the caller may see."""

    dashboards: list[str] = Field(description="ダッシュボードのID（uuid）")
    recipes: list[int]
    projects: list[int]
    analyses: list[int]


class CaseOut(Schema):
    """A case of the library."""

    id: int
    title: str
    field: str
    field_label: str
    municipality: str
    summary: str
    data_used: str
    insight: str
    policy_change: str
    evidence_level: str
    evidence_label: str
    source_title: str
    source_url: str
    status: str
    is_reference: bool
    unit: str | None
    copied_from: int | None
    datasets: list[str]
    links: CaseLinksOut
    url: str

    @staticmethod
    def of(c: Case, *, datasets: list[str], links: dict[str, list[Any]]) -> CaseOut:
        """Build from a case, the slugs of the related datasets and the links the caller may see."""
        return CaseOut(
            id=c.pk,
            title=c.title,
            field=c.field,
            field_label=c.get_field_display(),
            municipality=c.municipality,
            summary=c.summary,
            data_used=c.data_used,
            insight=c.insight,
            policy_change=c.policy_change,
            evidence_level=c.evidence_level,
            evidence_label=c.get_evidence_level_display(),
            source_title=c.source_title,
            source_url=c.source_url,
            status=c.status,
            is_reference=c.is_reference,
            unit=c.unit.code if c.unit else None,
            copied_from=c.copied_from_id,
            datasets=datasets,
            links=CaseLinksOut(
                dashboards=[str(d.uuid) for d in links.get("dashboards", [])],
                recipes=[r.pk for r in links.get("recipes", [])],
                projects=[p.pk for p in links.get("projects", [])],
                analyses=[a.pk for a in links.get("analyses", [])],
            ),
            url=f"/support/cases/{c.pk}/",
        )


class CaseCopyOut(Schema):
    """A 横展開: the new draft case, the 事業 made from its logic models, and what was not copied."""

    case: CaseOut
    projects: list[int] = Field(description="新しく作った事業（構想）のID")
    dashboards: list[str] = Field(
        default_factory=list, description="新しく作ったダッシュボード（所属課で共有）のID（uuid）"
    )
    charts: int = Field(default=0, description="ダッシュボードと一緒に写したグラフの数")
    skipped: list[str] = Field(description="コピーしなかったもの（作り直すグラフを含む）と理由")
