"""Services and selectors of guides, Q&A, forum and cases: rules, versions, visibility, audit."""

from __future__ import annotations

import pytest

from machidata.access.models import Classification
from machidata.access.policy import ANONYMOUS
from machidata.audit.models import AuditEvent
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from machidata.core.testing import Actors, make_dataset
from machidata.support import selectors_help as sel
from machidata.support.models import Case, CaseStatus, ForumTopic, GuideVersion
from machidata.support.services_cases import case_copy, case_create, case_publish, case_update
from machidata.support.services_guides import guide_create, guide_save
from machidata.support.services_qa import (
    question_answer,
    question_ask,
    question_mark_faq,
    thread_mark_faq,
    thread_reply,
    thread_start,
)
from machidata.support.tests.conftest import actor_of

pytestmark = pytest.mark.django_db

CASE = {
    "title": "健診受診率の区別比較",
    "field": "health",
    "municipality": "熊本市",
    "data_used": "特定健診の受診者数（区別・年度別）",
    "insight": "北区の受診率が低い",
    "policy_change": "北区で受診勧奨を強化",
    "evidence_level": "comparison",
    "source_url": "",
}


def test_guide_versions_and_optimistic_lock(actors: Actors) -> None:
    admin = actor_of(actors, "admin")
    with pytest.raises(PermissionDenied):
        guide_create(actor=actor_of(actors, "owner_editor"), slug="x", title="t", body="b")
    guide = guide_create(
        actor=admin, slug="data-shaping", title="データ整形", body="# 初版", checklist=["a", " "]
    )
    assert guide.current.checklist == ["a"]
    v2 = guide_save(
        actor=admin,
        guide=guide,
        title="データ整形",
        body="# 第2版",
        checklist=["a", "b"],
        note="追記",
        base_version=1,
    )
    assert v2.number == 2
    guide.refresh_from_db()
    assert guide.current_version == 2
    assert list(GuideVersion.objects.filter(guide=guide).values_list("number", "body")) == [
        (2, "# 第2版"),
        (1, "# 初版"),
    ]
    # someone editing from version 1 after version 2 was saved is refused, nothing saved
    with pytest.raises(Conflict):
        guide_save(actor=admin, guide=guide, title="古い", body="古い本文", base_version=1)
    assert GuideVersion.objects.filter(guide=guide).count() == 2
    with pytest.raises(InvalidInput):
        guide_create(actor=admin, slug="データ", title="t", body="b")
    assert AuditEvent.objects.filter(action="guide.save").count() == 1


def test_question_on_undiscoverable_dataset_never_shows(actors: Actors) -> None:
    org = actors.org
    secret = make_dataset(org.health_div, classification=Classification.CONFIDENTIAL, discoverable=False)
    owner = actor_of(actors, "owner_editor")
    q = question_ask(actor=owner, dataset=secret, body="機密データへの質問")
    staff = actor_of(actors, "staff")
    with pytest.raises(NotFound):
        question_ask(actor=staff, dataset=secret, body="見えないはず")
    with pytest.raises(NotFound):
        sel.dataset_for_questions(actor=staff, slug=secret.slug)
    with pytest.raises(NotFound):
        sel.question_get(actor=staff, pk=q.pk)
    question_answer(actor=owner, question=q, answer="回答")
    question_mark_faq(actor=actor_of(actors, "admin"), question=q, is_faq=True)
    faq_questions, _ = sel.faq(actor=staff)
    assert list(faq_questions) == []
    assert [x.pk for x in sel.faq(actor=owner)[0]] == [q.pk]
    assert sel.question_count(actor=staff, dataset=secret) == (0, 0)


def test_questions_answered_by_owner_unit_or_admin_only(actors: Actors) -> None:
    ds = make_dataset(actors.org.health_div, classification=Classification.INTERNAL)
    q = question_ask(actor=actor_of(actors, "staff"), dataset=ds, body="更新頻度は？")
    with pytest.raises(PermissionDenied):
        question_answer(actor=actor_of(actors, "other_editor"), question=q, answer="x")
    with pytest.raises(InvalidInput):
        question_mark_faq(actor=actor_of(actors, "admin"), question=q, is_faq=True)  # not answered yet
    # a 係 member of the owning 課 answers
    question_answer(actor=actor_of(actors, "owner_viewer"), question=q, answer="毎月です。")
    with pytest.raises(PermissionDenied):
        question_mark_faq(actor=actor_of(actors, "owner_editor"), question=q, is_faq=True)
    question_mark_faq(actor=actor_of(actors, "admin"), question=q, is_faq=True)
    assert sel.question_count(actor=actor_of(actors, "other_editor"), dataset=ds) == (1, 0)
    with pytest.raises(InvalidInput):
        question_ask(actor=actor_of(actors, "staff"), dataset=ds, body="   ")


def test_forum_search_folds_width_and_kana(actors: Actors) -> None:
    topic = ForumTopic.objects.create(slug="shaping", name="データの整え方")
    staff = actor_of(actors, "staff")
    t = thread_start(actor=staff, topic=topic, title="ＣＳＶの文字化け", body="シフトJISのファイルです")
    other = thread_start(actor=staff, topic=topic, title="グラフの色", body="凡例について")
    assert [x.pk for x in sel.thread_search(actor=staff, q="csv")] == [t.pk]
    assert [x.pk for x in sel.thread_search(actor=staff, q="しふと")] == [t.pk]
    assert list(sel.thread_search(actor=staff, q="存在しない語")) == []
    assert list(sel.thread_search(actor=ANONYMOUS)) == []
    with pytest.raises(InvalidInput):
        thread_mark_faq(actor=actor_of(actors, "admin"), thread=other, is_faq=True)
    thread_reply(actor=actor_of(actors, "admin"), thread=other, body="色覚に配慮した配色を使いましょう")
    assert [x.pk for x in sel.thread_search(actor=staff, q="配色")] == [other.pk]
    with pytest.raises(PermissionDenied):
        thread_mark_faq(actor=staff, thread=other, is_faq=True)
    thread_mark_faq(actor=actor_of(actors, "admin"), thread=other, is_faq=True)
    assert [x.pk for x in sel.faq(actor=staff)[1]] == [other.pk]


def test_case_draft_visibility_publish_and_copy(actors: Actors) -> None:
    ds = make_dataset(actors.org.health_div, classification=Classification.RESTRICTED)
    owner = actor_of(actors, "owner_viewer")
    case = case_create(actor=owner, values=CASE, dataset_ids=[ds.pk])
    assert case.unit == actors.org.health_div  # a 係 member's case belongs to the 課
    assert case.status == CaseStatus.DRAFT
    staff = actor_of(actors, "staff")
    with pytest.raises(NotFound):
        sel.case_get(actor=staff, pk=case.pk)
    with pytest.raises(PermissionDenied):
        case_publish(actor=actor_of(actors, "other_editor"), case=case)
    case_publish(actor=owner, case=case)
    assert sel.case_get(actor=staff, pk=case.pk) == case
    assert [c.pk for c in sel.case_list(actor=staff, filters=sel.CaseFilters(q="北区 受診"))] == [case.pk]
    assert list(sel.case_list(actor=staff, filters=sel.CaseFilters(field="transport"))) == []
    # the fire 課 copies it (横展開): a draft of its own 課, linked to the original
    copy = case_copy(actor=staff, case=case).case
    assert (copy.unit, copy.status, copy.copied_from, copy.municipality) == (
        actors.org.fire_div,
        CaseStatus.DRAFT,
        case,
        "熊本市",
    )
    assert list(copy.datasets.all()) == [ds]
    with pytest.raises(PermissionDenied):
        case_update(actor=owner, case=copy, values=CASE)
    with pytest.raises(NotFound):
        sel.case_get(actor=owner, pk=copy.pk)  # the copy is the fire 課's draft
    with pytest.raises(InvalidInput):
        case_create(actor=owner, values={**CASE, "source_url": "javascript:alert(1)"})
    with pytest.raises(PermissionDenied):
        case_create(actor=owner, values=CASE, reference=True)
    assert Case.objects.count() == 2
    assert sel.case_list(actor=ANONYMOUS).count() == 0
