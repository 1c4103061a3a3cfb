"""Cases linked to dashboards, recipes, 事業 and analyses; 横展開 copies logic models into new 事業."""

from __future__ import annotations

import json

import pytest

from machidata.audit.models import AuditEvent
from machidata.charts.models import Sharing
from machidata.charts.services import dashboard_create
from machidata.core.errors import InvalidInput
from machidata.core.testing import Actors
from machidata.ebpm.models import Level, LogicModel, PlanItem, Stage
from machidata.ebpm.services import logic_model_from_example, plan_item_create
from machidata.support import selectors_help as sel
from machidata.support.models import Case
from machidata.support.services_cases import case_copy, case_create, case_publish, case_update
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


def _project(actors: Actors, *, name: str = "受診勧奨ナッジ事業", example: str | None = "nudge") -> PlanItem:
    editor = actor_of(actors, "owner_editor")
    item = plan_item_create(actor=editor, level=Level.PROJECT, name=name, unit_id=actors.org.health_div.pk)
    if example:
        logic_model_from_example(actor=editor, item=item, key=example)
    return item


def test_links_are_checked_against_what_the_author_may_see(actors: Actors) -> None:
    owner = actor_of(actors, "owner_editor")
    shared = dashboard_create(actor=owner, title="受診率の推移", sharing=Sharing.STAFF)
    mine = dashboard_create(actor=owner, title="下書きの集計", sharing=Sharing.PRIVATE)
    other = actor_of(actors, "other_editor")
    # the fire 課 cannot link the health 課's private dashboard: refused whole, nothing saved
    with pytest.raises(InvalidInput, match="ダッシュボード"):
        case_create(actor=other, values=CASE, links={"dashboards": [shared.pk, mine.pk]})
    assert Case.objects.count() == 0
    with pytest.raises(InvalidInput):
        case_create(actor=owner, values=CASE, links={"spreadsheets": [1]})
    project = _project(actors)
    case = case_create(
        actor=owner, values=CASE, links={"dashboards": [shared.pk, mine.pk], "projects": [project.pk]}
    )
    case_publish(actor=owner, case=case)
    # each reader sees only what the rooms would show them
    assert set(sel.case_links(actor=owner, case=case)["dashboards"]) == {shared, mine}
    seen_by_other = sel.case_links(actor=other, case=case)
    assert seen_by_other["dashboards"] == [shared]
    assert seen_by_other["projects"] == [project]  # 事業 are readable by all staff
    event = AuditEvent.objects.filter(action="case.create").latest("id")
    assert event.changes["dashboards"] == sorted([shared.pk, mine.pk])


def test_links_are_replaced_kind_by_kind_and_omitted_kinds_stay(actors: Actors) -> None:
    owner = actor_of(actors, "owner_editor")
    mine = dashboard_create(actor=owner, title="下書きの集計", sharing=Sharing.PRIVATE)
    case = case_create(actor=owner, values=CASE, links={"dashboards": [mine.pk]})
    admin = actor_of(actors, "admin")
    shared = dashboard_create(actor=admin, title="全庁の利用状況", sharing=Sharing.STAFF)
    case_update(actor=admin, case=case, values=CASE, links={"dashboards": [shared.pk]})
    # 管理 sees every dashboard, so 管理's list replaces the links
    assert set(case.dashboards.all()) == {shared}
    case_update(actor=owner, case=case, values=CASE, links={"dashboards": [mine.pk]})
    assert set(case.dashboards.all()) == {mine}
    # omitted kinds are left as they are
    case_update(actor=owner, case=case, values=CASE)
    assert set(case.dashboards.all()) == {mine}


def test_hidden_links_survive_an_edit_by_someone_who_cannot_see_them(actors: Actors) -> None:
    owner = actor_of(actors, "owner_editor")
    private = dashboard_create(actor=owner, title="自分用", sharing=Sharing.PRIVATE)
    case = case_create(actor=owner, values=CASE, links={"dashboards": [private.pk]})
    # a 係 member of the same 課 may edit the case but not see the owner's private dashboard
    colleague = actor_of(actors, "owner_viewer")
    case_update(actor=colleague, case=case, values=CASE, links={"dashboards": []})
    assert list(case.dashboards.all()) == [private]


def test_copy_turns_each_logic_model_into_a_new_project_of_the_copiers_division(actors: Actors) -> None:
    owner = actor_of(actors, "owner_editor")
    with_model = _project(actors)
    without_model = _project(actors, name="構想だけの事業", example=None)
    case = case_create(actor=owner, values=CASE, links={"projects": [with_model.pk, without_model.pk]})
    case_publish(actor=owner, case=case)
    copier = actor_of(actors, "other_editor")  # 編集 of the fire 課
    result = case_copy(actor=copier, case=case)
    assert len(result.projects) == 1
    made = result.projects[0]
    assert (made.unit, made.level, made.stage) == (actors.org.fire_div, Level.PROJECT, Stage.IDEA)
    source_model = LogicModel.objects.get(item=with_model)
    copied_model = LogicModel.objects.get(item=made)
    assert copied_model.document == source_model.document
    assert copied_model.document["nodes"]  # a real model, not two empty ones
    assert list(result.case.projects.all()) == [made]
    assert any("構想だけの事業" in reason for reason in result.skipped)
    event = AuditEvent.objects.filter(action="case.copy").latest("id")
    assert event.changes["projects"] == [made.pk]


def test_copy_by_someone_who_may_not_create_projects_skips_them_and_still_copies_the_case(
    actors: Actors,
) -> None:
    owner = actor_of(actors, "owner_editor")
    project = _project(actors)
    case = case_create(actor=owner, values=CASE, links={"projects": [project.pk]})
    case_publish(actor=owner, case=case)
    before = PlanItem.objects.count()
    result = case_copy(actor=actor_of(actors, "staff"), case=case)  # a 閲覧 of the fire 課
    assert result.projects == []
    assert PlanItem.objects.count() == before  # the refused 事業 left nothing behind
    assert len(result.skipped) == 1
    assert project.name in result.skipped[0]
    assert result.case.copied_from == case


def test_api_links_by_uuid_and_copy_reports_what_it_made(actors: Actors) -> None:
    owner = actor_of(actors, "owner_editor")
    shared = dashboard_create(actor=owner, title="受診率の推移", sharing=Sharing.STAFF)
    project = _project(actors)
    client = actors.client("owner_editor")
    body = {**CASE, "dashboards": [str(shared.uuid)], "projects": [project.pk]}
    response = client.post("/api/v1/support/cases", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    out = response.json()
    assert out["links"]["dashboards"] == [str(shared.uuid)]
    assert out["links"]["projects"] == [project.pk]
    bad = {**CASE, "dashboards": ["00000000-0000-0000-0000-000000000000"]}
    refused = client.post("/api/v1/support/cases", json.dumps(bad), content_type="application/json")
    assert refused.status_code == 400
    assert "ダッシュボード" in refused.json()["detail"]
    client.post(f"/api/v1/support/cases/{out['id']}/publish")
    copied = actors.client("other_editor").post(f"/api/v1/support/cases/{out['id']}/copy")
    assert copied.status_code == 201, copied.content
    data = copied.json()
    assert len(data["projects"]) == 1
    assert data["case"]["links"]["projects"] == data["projects"]
    # the dashboard is copied for the fire 課, and the copied case links the copy
    assert data["case"]["links"]["dashboards"] == data["dashboards"]
    assert len(data["dashboards"]) == 1
    assert data["dashboards"] != [str(shared.uuid)]


def test_case_page_names_only_the_links_the_reader_may_see(actors: Actors) -> None:
    owner = actor_of(actors, "owner_editor")
    shared = dashboard_create(actor=owner, title="みんなの受診率", sharing=Sharing.STAFF)
    private = dashboard_create(actor=owner, title="ひみつの下書き", sharing=Sharing.PRIVATE)
    case = case_create(actor=owner, values=CASE, links={"dashboards": [shared.pk, private.pk]})
    case_publish(actor=owner, case=case)
    mine = actors.client("owner_editor").get(f"/support/cases/{case.pk}/").content.decode()
    theirs = actors.client("staff").get(f"/support/cases/{case.pk}/").content.decode()
    assert "みんなの受診率" in mine
    assert "ひみつの下書き" in mine
    assert "みんなの受診率" in theirs
    assert "ひみつの下書き" not in theirs
    assert f"/charts/dashboards/{shared.uuid}/" in theirs


def test_consultation_names_related_dashboards_and_projects(actors: Actors) -> None:
    from machidata.support.models import Consultation
    from machidata.support.services import consultation_open

    owner = actor_of(actors, "owner_editor")
    board = dashboard_create(actor=owner, title="受診率の推移", sharing=Sharing.DEPARTMENT)
    project = _project(actors)
    other_private = dashboard_create(actor=actor_of(actors, "other_editor"), title="消防の下書き")
    with pytest.raises(InvalidInput, match="ダッシュボード"):
        consultation_open(
            actor=owner, kind="question", topic="t", description="d", links={"dashboards": [other_private.pk]}
        )
    with pytest.raises(InvalidInput):
        consultation_open(actor=owner, kind="question", topic="t", description="d", links={"recipes": [1]})
    assert Consultation.objects.count() == 0
    c = consultation_open(
        actor=owner,
        kind="support",
        topic="受診勧奨の効果を測りたい",
        description="d",
        links={"dashboards": [board.pk], "projects": [project.pk]},
    )
    assert sel.consultation_links(actor=owner, consultation=c) == {
        "dashboards": [board],
        "projects": [project],
    }
    # データ戦略課 reads the consultation and sees both; the API names them
    body = actors.client("admin").get(f"/api/v1/support/consultations/{c.pk}").json()
    assert body["dashboards"] == [str(board.uuid)]
    assert body["projects"] == [project.pk]
    page = actors.client("owner_editor").get(f"/support/consultations/{c.pk}/").content.decode()
    assert "受診率の推移" in page
    assert f"/ebpm/{project.pk}/" in page
    event = AuditEvent.objects.filter(action="consultation.open").latest("id")
    assert event.changes["projects"] == [project.pk]
