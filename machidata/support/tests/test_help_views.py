"""Pages of guides, Q&A, forum, FAQ and cases across actors; the help hooks on other rooms' pages."""

from __future__ import annotations

from typing import Any

import pytest

from machidata.access.models import Classification
from machidata.core.testing import Actors, check_statuses, make_dataset
from machidata.support.models import Case, CaseStatus, DatasetQuestion, ForumThread, ForumTopic, Guide
from machidata.support.services_guides import guide_create
from machidata.support.services_qa import question_ask, thread_start
from machidata.support.tests.conftest import actor_of
from machidata.support.tests.test_help_services import CASE

pytestmark = pytest.mark.django_db
STAFF_ONLY = {
    "anonymous": 302,
    "staff": 200,
    "owner_viewer": 200,
    "owner_editor": 200,
    "other_editor": 200,
    "admin": 200,
}
ADMIN_ONLY = {
    "anonymous": 302,
    "staff": 404,
    "owner_viewer": 404,
    "owner_editor": 404,
    "other_editor": 404,
    "admin": 200,
}


@pytest.fixture
def guide(actors: Actors) -> Guide:
    """The データ整形 guide with a checklist."""
    return guide_create(
        actor=actor_of(actors, "admin"),
        slug="data-shaping",
        title="データ整形",
        body="## 見出し\n\n本文",
        checklist=["結合セルがない", "<script>x</script>"],
    )


def test_guide_pages(actors: Actors, guide: Guide) -> None:
    check_statuses(actors, lambda c: c.get("/support/guides/"), STAFF_ONLY)
    check_statuses(actors, lambda c: c.get("/support/guides/data-shaping/"), STAFF_ONLY)
    check_statuses(actors, lambda c: c.get("/support/guides/data-shaping/history/"), STAFF_ONLY)
    check_statuses(actors, lambda c: c.get("/support/guides/data-shaping/edit/"), ADMIN_ONLY)
    check_statuses(actors, lambda c: c.get("/support/guides/missing/"), {"staff": 404, "admin": 404})
    body = {
        "title": "データ整形",
        "body": "第2版の本文",
        "checklist": "a\nb",
        "note": "改訂",
        "base_version": 1,
    }
    check_statuses(
        actors,
        lambda c: c.post("/support/guides/data-shaping/edit/", body),
        {"anonymous": 302, "staff": 404, "owner_editor": 404},
    )
    admin = actors.client("admin")
    assert admin.post("/support/guides/data-shaping/edit/", body).status_code == 302
    guide.refresh_from_db()
    assert guide.current_version == 2
    stale = admin.post("/support/guides/data-shaping/edit/", {**body, "body": "古い"})
    assert stale.status_code == 200
    assert "別の人が第2版を保存しました" in stale.content.decode()
    old = admin.get("/support/guides/data-shaping/v/1/").content.decode()
    assert "過去の版" in old
    assert "<h2>見出し</h2>" in old


def test_upload_page_links_the_guide_and_its_checklist(actors: Actors, guide: Guide) -> None:
    ds = make_dataset(actors.org.health_div)
    page = actors.client("owner_editor").get(f"/catalog/{ds.slug}/ingest/").content.decode()
    assert 'href="/support/guides/data-shaping/"' in page
    assert "結合セルがない" in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert "<script>x</script>" not in page
    Guide.objects.all().delete()
    page = actors.client("owner_editor").get(f"/catalog/{ds.slug}/ingest/").content.decode()
    assert "/support/guides/" not in page  # nothing when the guide is missing


def test_logic_model_editor_links_the_ebpm_guide_and_its_checklist(actors: Actors) -> None:
    from machidata.ebpm.models import Level
    from machidata.ebpm.services import plan_item_create

    editor = actor_of(actors, "owner_editor")
    item = plan_item_create(
        actor=editor, level=Level.PROJECT, name="受診勧奨事業", unit_id=actors.org.health_div.pk
    )
    url = f"/ebpm/{item.pk}/logic-model/"
    assert "/support/guides/" not in actors.client("owner_editor").get(url).content.decode()
    guide_create(
        actor=actor_of(actors, "admin"),
        slug="ebpm-basics",
        title="基本的なEBPM・ロジックモデル作成・分析の基本",
        body="## 問い",
        checklist=["成果を「誰が・どう変わるか」で書いた"],
    )
    page = actors.client("owner_editor").get(url).content.decode()
    assert 'href="/support/guides/ebpm-basics/"' in page
    assert "成果を「誰が・どう変わるか」で書いた" in page


def test_dataset_questions_pages(actors: Actors) -> None:
    org = actors.org
    open_ds = make_dataset(org.health_div, classification=Classification.INTERNAL)
    secret = make_dataset(org.health_div, classification=Classification.CONFIDENTIAL, discoverable=False)
    question_ask(actor=actor_of(actors, "owner_editor"), dataset=secret, body="秘密の質問です")
    q = question_ask(actor=actor_of(actors, "staff"), dataset=open_ds, body="公開予定は？")
    check_statuses(actors, lambda c: c.get(f"/support/questions/{open_ds.slug}/"), STAFF_ONLY)
    check_statuses(
        actors,
        lambda c: c.get(f"/support/questions/{secret.slug}/"),
        {
            "anonymous": 302,
            "staff": 404,
            "other_editor": 404,
            "owner_viewer": 200,
            "owner_editor": 200,
            "admin": 200,
        },
    )
    detail = actors.client("staff").get(f"/catalog/{open_ds.slug}/").content.decode()
    assert f'href="/support/questions/{open_ds.slug}/"' in detail
    assert "（1件）" in detail
    # answers: the owning 課 and 管理; another 課 is refused with a message, nothing saved
    url = f"/support/questions/{q.pk}/answer/"
    check_statuses(
        actors, lambda c: c.post(url, {"answer": "来年度です"}), {"anonymous": 302, "other_editor": 302}
    )
    q.refresh_from_db()
    assert q.answer == ""
    assert actors.client("owner_viewer").post(url, {"answer": "来年度です"}).status_code == 302
    q.refresh_from_db()
    assert q.answer == "来年度です"
    secret_q = DatasetQuestion.objects.get(dataset=secret)
    check_statuses(
        actors, lambda c: c.post(f"/support/questions/{secret_q.pk}/answer/", {"answer": "x"}), {"staff": 404}
    )
    page = actors.client("staff").get("/support/faq/").content.decode()
    assert "秘密の質問です" not in page
    assert actors.client("staff").post(f"/support/questions/{q.pk}/faq/", {"is_faq": "1"}).status_code == 302
    q.refresh_from_db()
    assert not q.is_faq
    actors.client("admin").post(f"/support/questions/{q.pk}/faq/", {"is_faq": "1"})
    assert "公開予定は？" in actors.client("other_editor").get("/support/faq/").content.decode()


def test_forum_pages(actors: Actors) -> None:
    topic = ForumTopic.objects.create(slug="analysis", name="集計・分析")
    t = thread_start(actor=actor_of(actors, "staff"), topic=topic, title="分母の選び方", body="受診率の分母")
    check_statuses(actors, lambda c: c.get("/support/forum/?q=分母"), STAFF_ONLY)
    check_statuses(actors, lambda c: c.get(f"/support/forum/{t.pk}/"), STAFF_ONLY)
    check_statuses(actors, lambda c: c.get("/support/faq/"), STAFF_ONLY)
    assert "分母の選び方" in actors.client("admin").get("/support/forum/?q=受診率").content.decode()
    assert "分母の選び方" not in actors.client("admin").get("/support/forum/?q=地図").content.decode()
    resp = actors.client("owner_viewer").post(
        "/support/forum/new/", {"topic": topic.pk, "title": "新しい話題", "body": "本文"}
    )
    assert resp.status_code == 302
    assert (
        actors.client("other_editor").post(f"/support/forum/{t.pk}/", {"body": "対象者数です"}).status_code
        == 302
    )
    assert t.replies.count() == 1
    assert ForumThread.objects.count() == 2


def test_case_pages(actors: Actors) -> None:
    reference = Case.objects.create(**CASE, is_reference=True, status=CaseStatus.PUBLISHED, folded="健診")
    check_statuses(actors, lambda c: c.get("/support/cases/?field=health&q=健診"), STAFF_ONLY)
    check_statuses(actors, lambda c: c.get(f"/support/cases/{reference.pk}/"), STAFF_ONLY)
    check_statuses(actors, lambda c: c.get(f"/support/cases/{reference.pk}/edit/"), ADMIN_ONLY)
    check_statuses(actors, lambda c: c.get("/support/cases/new/"), STAFF_ONLY)
    resp = actors.client("other_editor").post(f"/support/cases/{reference.pk}/copy/")
    copy = Case.objects.get(copied_from=reference)
    assert resp.status_code == 302
    assert resp["Location"] == f"/support/cases/{copy.pk}/edit/"
    assert copy.unit == actors.org.fire_div
    assert copy.status == CaseStatus.DRAFT
    check_statuses(
        actors,
        lambda c: c.get(f"/support/cases/{copy.pk}/"),
        {
            "anonymous": 302,
            "staff": 200,
            "other_editor": 200,
            "owner_viewer": 404,
            "owner_editor": 404,
            "admin": 200,
        },
    )
    form: dict[str, Any] = {**CASE, "title": "警防課の試行", "source_title": ""}
    resp = actors.client("owner_editor").post("/support/cases/new/", form)
    assert resp.status_code == 302
    mine = Case.objects.get(title="警防課の試行")
    assert mine.unit == actors.org.health_div
    assert (
        actors.client("owner_editor").post(f"/support/cases/{mine.pk}/publish/", {"publish": "1"}).status_code
        == 302
    )
    mine.refresh_from_db()
    assert mine.status == CaseStatus.PUBLISHED
    assert "警防課の試行" in actors.client("staff").get("/support/cases/?q=警防課").content.decode()
