"""Public pages of a 事業 (issue 9 point 7): the route, the snapshot, pinning, withdrawal and what never leaks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from machidata.access import routes
from machidata.access.models import ApproverDesignation, DesignationKind
from machidata.access.policy import Actor
from machidata.audit.models import AuditEvent
from machidata.core.errors import Conflict, InvalidInput, PermissionDenied
from machidata.core.testing import Actors, make_token
from machidata.ebpm import services, services_evaluations, services_indicators, services_pages
from machidata.ebpm.models import PageRequest, PageRequestStatus, PlanItem, PublicPage
from machidata.ebpm.selectors_pages import PUBLIC_WITHHELD, public_pages
from machidata.ebpm.tests.conftest import DOC, as_actor
from machidata.notify.models import Notification
from machidata.publish.tests.conftest import cast

__all__ = ["cast"]

pytestmark = pytest.mark.django_db

SECRET_REASON = "庁内だけの申請メモQ7"
SECRET_TARGET_NOTE = "目標変更の内部理由K3"
SECRET_EVIDENCE = "庁内資料の根拠Z9"
SECRET_NEXT = "次の予算要求の内部メモP5"
SECRET_EVIDENCE_NOTE = "根拠の説明の内部メモE2"
SECRET_DOC = "庁内の検討資料D4"
SECRET_URL = "https://intranet.example.jp/secret-plan"


def _doc_with_evidence() -> dict[str, Any]:
    doc = json.loads(json.dumps(DOC))
    doc["links"][0]["evidence"] = [
        {"kind": "document", "ref": SECRET_DOC},
        {"kind": "url", "ref": SECRET_URL},
    ]
    return doc


def _project(actors: Actors, name: str, *, indicator: bool = True) -> PlanItem:
    """A 事業 of 健康づくり推進課 with a logic model, a hand-entered indicator (target, actual) and a 2024 evaluation."""
    editor = as_actor(actors, "owner_editor")
    unit = actors.org.health_div.pk
    item = services.plan_item_create(actor=editor, level="project", name=name, unit_id=unit)
    services.logic_model_save(actor=editor, item=item, document=_doc_with_evidence())
    if indicator:
        ind = services_indicators.indicator_create(
            actor=editor, item=item, node_id="n3", name="特定健診の受診率", kind="outcome", unit_label="%",
            responsible_unit_id=unit, definition="受診者 ÷ 対象者",
        )  # fmt: skip
        services_indicators.indicator_target_set(actor=editor, indicator=ind, fiscal_year=2024, value="63.75")
        services_indicators.indicator_target_set(
            actor=editor, indicator=ind, fiscal_year=2024, value="58", note=SECRET_TARGET_NOTE, revise=True
        )
        services_indicators.indicator_actual_record(
            actor=editor, indicator=ind, fiscal_year=2024, value="55.5", evidence=SECRET_EVIDENCE
        )
    services_evaluations.evaluation_create(
        actor=editor, item=item, fiscal_year=2024, self_assessment="受診率は目標に近づきました。",
        direction="improve", next_request_note=SECRET_NEXT, evidence_note=SECRET_EVIDENCE_NOTE,
    )  # fmt: skip
    return item


def _file(actors: Actors, item: PlanItem, **kw: Any) -> PageRequest:
    evaluations = list(item.evaluations.values_list("pk", flat=True))
    return services_pages.page_request_create(
        actor=as_actor(actors, "owner_editor"),
        item=item,
        evaluation_ids=evaluations,
        reason=SECRET_REASON,
        **kw,
    )


def _approve(actors: Actors, req: PageRequest, *who: str) -> PageRequest:
    for name in who or ("head", "admin"):
        req = services_pages.page_request_act(actor=as_actor(actors, name), request=req, decision="approve")
    return req


def _published(actors: Actors, name: str = "特定健診受診勧奨事業") -> PlanItem:
    item = _project(actors, name)
    _approve(actors, _file(actors, item))
    return item


def _public_html(item: PlanItem, client: Client | None = None) -> tuple[int, str]:
    response = (client or Client()).get(reverse("ebpm_public:detail", args=[item.pk]))
    return response.status_code, response.content.decode()


# ---- the route ----------------------------------------------------------------------------------------


def test_default_routes_are_valid() -> None:
    for name, steps in services_pages.PAGE_ROUTES.items():
        routes.validate_route(name, steps)


def test_route_head_then_strategy_with_notifications(cast: Actors) -> None:
    item = _project(cast, "受診勧奨")
    req = _file(cast, item)
    assert [s["key"] for s in req.steps] == ["head", "strategy"]
    assert req.status == PageRequestStatus.PENDING
    assert Notification.objects.filter(
        recipient=cast.users["head"], link__endswith=f"/pages/{req.pk}/"
    ).exists()
    assert not public_pages().exists()
    # the requester never decides; 管理 is not the 課長
    with pytest.raises(PermissionDenied):
        services_pages.page_request_act(actor=as_actor(cast, "owner_editor"), request=req, decision="approve")
    with pytest.raises(PermissionDenied):
        services_pages.page_request_act(actor=as_actor(cast, "admin"), request=req, decision="approve")
    req = _approve(cast, req, "head")
    assert req.current_step == 1
    assert req.status == PageRequestStatus.PENDING
    assert Notification.objects.filter(
        recipient=cast.users["admin"], link__endswith=f"/pages/{req.pk}/"
    ).exists()
    assert not public_pages().exists()
    req = _approve(cast, req, "admin")
    assert req.status == PageRequestStatus.APPROVED
    assert public_pages().filter(item=item).count() == 1
    assert Notification.objects.filter(
        recipient=cast.users["owner_editor"], message__contains="決裁済み"
    ).exists()
    assert AuditEvent.objects.filter(action="ebpm.public_page.publish").count() == 1


def test_one_person_approves_one_step_and_a_deputy_is_recorded(cast: Actors) -> None:
    # 管理 is also the 課長's 代決者: may take the first step, never the second as well
    ApproverDesignation.objects.create(
        unit=cast.org.health_div, user=cast.users["admin"], kind=DesignationKind.DEPUTY
    )
    req = _file(cast, _project(cast, "受診勧奨"))
    req = _approve(cast, req, "admin")
    action = req.actions.get()
    assert action.on_behalf_of_id == cast.users["head"].pk
    with pytest.raises(PermissionDenied, match="同じ人が2つの段階"):
        _approve(cast, req, "admin")
    assert _approve(cast, req, "admin2").status == PageRequestStatus.APPROVED


def test_route_name_can_be_configured(cast: Actors, settings: Any) -> None:
    settings.MACHIDATA_PUBLICATION_ROUTES = {
        "ebpm_page": [{"key": "strategy", "label": "データ戦略課の確認", "who": "admin"}]
    }
    req = _file(cast, _project(cast, "受診勧奨"))
    assert [s["key"] for s in req.steps] == ["strategy"]
    settings.MACHIDATA_PUBLICATION_ROUTES = {}  # resolved when filed: a later change moves nothing
    req.refresh_from_db()
    assert _approve(cast, req, "admin").status == PageRequestStatus.APPROVED


def test_refusals(cast: Actors) -> None:
    editor = as_actor(cast, "owner_editor")
    item = _project(cast, "受診勧奨")
    with pytest.raises(PermissionDenied):
        services_pages.page_request_create(actor=as_actor(cast, "owner_viewer"), item=item)
    with pytest.raises(PermissionDenied):
        services_pages.page_request_create(actor=as_actor(cast, "other_editor"), item=item)
    top = services.plan_item_create(actor=editor, level="policy", name="政策", unit_id=cast.org.health_div.pk)
    measure = services.plan_item_create(
        actor=editor, level="measure", name="施策", unit_id=cast.org.health_div.pk, parent_id=top.pk
    )
    with pytest.raises(InvalidInput, match="事業だけ"):
        services_pages.page_request_create(actor=editor, item=measure)
    bare = services.plan_item_create(
        actor=editor, level="project", name="空の事業", unit_id=cast.org.health_div.pk
    )
    with pytest.raises(InvalidInput, match="ロジックモデル"):
        services_pages.page_request_create(actor=editor, item=bare)
    other = _project(cast, "別の事業")
    with pytest.raises(InvalidInput, match="この事業の評価ではない"):
        services_pages.page_request_create(
            actor=editor, item=item, evaluation_ids=[other.evaluations.get().pk]
        )
    with pytest.raises(InvalidInput):
        services_pages.page_request_create(actor=editor, item=item, evaluation_ids=["x1"])
    with pytest.raises(InvalidInput, match="公開されていません"):
        services_pages.page_withdraw_create(actor=editor, item=item, reason="理由")
    req = _file(cast, item)
    with pytest.raises(Conflict):
        _file(cast, item)
    with pytest.raises(InvalidInput, match="コメント"):
        services_pages.page_request_act(actor=as_actor(cast, "head"), request=req, decision="reject")
    with pytest.raises(InvalidInput):
        services_pages.page_request_act(actor=as_actor(cast, "head"), request=req, decision="publish")
    with pytest.raises(PermissionDenied):
        services_pages.page_request_cancel(actor=as_actor(cast, "head"), request=req)
    assert PageRequest.objects.filter(item=item).count() == 1


# ---- what the public sees -----------------------------------------------------------------------------


def test_only_approved_pages_appear_in_every_state(cast: Actors) -> None:
    head = as_actor(cast, "head")
    items = {state: _project(cast, f"事業{state}") for state in
             ("never", "pending", "returned", "rejected", "cancelled", "approved", "withdrawn")}  # fmt: skip
    _file(cast, items["pending"])
    services_pages.page_request_act(
        actor=head, request=_file(cast, items["returned"]), decision="return", comment="直して"
    )
    services_pages.page_request_act(
        actor=head, request=_file(cast, items["rejected"]), decision="reject", comment="不可"
    )
    services_pages.page_request_cancel(
        actor=as_actor(cast, "owner_editor"), request=_file(cast, items["cancelled"])
    )
    _approve(cast, _file(cast, items["approved"]))
    _approve(cast, _file(cast, items["withdrawn"]))
    wd = services_pages.page_withdraw_create(
        actor=as_actor(cast, "owner_editor"), item=items["withdrawn"], reason="終了"
    )
    _approve(cast, wd, "head")
    staff = Client()
    staff.force_login(cast.users["admin"])
    for client in (Client(), staff):  # the same answer signed in or not
        listing = client.get(reverse("ebpm_public:list")).content.decode()
        api_list = client.get("/api/v1/ebpm/public/pages").json()["items"]
        for state, item in items.items():
            status, _ = _public_html(item, client)
            api = client.get(f"/api/v1/ebpm/public/pages/{item.pk}")
            if state == "approved":
                assert status == 200
                assert api.status_code == 200
                assert item.name in listing
            else:
                assert status == 404, state
                assert api.status_code == 404, state
                assert f">{item.name}<" not in listing, state
        assert [p["name"] for p in api_list] == [items["approved"].name]


def test_withdrawal_walks_the_route_and_removes_at_once(cast: Actors) -> None:
    item = _published(cast)
    req = services_pages.page_withdraw_create(
        actor=as_actor(cast, "owner_editor"), item=item, reason="事業終了"
    )
    assert _public_html(item)[0] == 200  # still public while the withdrawal is decided
    with pytest.raises(PermissionDenied):
        _approve(cast, req, "owner_editor")
    _approve(cast, req, "head")
    assert _public_html(item)[0] == 404
    page = PublicPage.objects.get(item=item)
    assert page.withdrawn_at is not None
    assert page.withdrawn_by_id == req.pk
    # published again through a new request
    _approve(cast, _file(cast, item))
    assert _public_html(item)[0] == 200


def test_later_changes_never_reach_the_public_page_until_approved(cast: Actors) -> None:
    item = _published(cast)
    editor = as_actor(cast, "owner_editor")
    doc = _doc_with_evidence()
    doc["nodes"][2]["statement"] = "がんの早期発見が増える"
    services.logic_model_save(actor=editor, item=item, document=doc)
    ind = item.logic_model.indicators.get()
    services_indicators.indicator_actual_record(
        actor=editor, indicator=ind, fiscal_year=2025, value="61.25", evidence="集計表"
    )
    _, html = _public_html(item)
    assert "特定健診の受診率が上がる" in html
    assert "がんの早期発見が増える" not in html
    assert "61.25" not in html
    assert "55.5" in html
    _approve(cast, _file(cast, item))
    _, html = _public_html(item)
    assert "がんの早期発見が増える" in html
    assert "61.25" in html
    assert PublicPage.objects.filter(item=item).count() == 2
    assert public_pages().filter(item=item).count() == 1


def test_a_change_after_filing_refuses_the_approval(cast: Actors) -> None:
    item = _project(cast, "受診勧奨")
    req = _file(cast, item)
    ind = item.logic_model.indicators.get()
    services_indicators.indicator_actual_record(
        actor=as_actor(cast, "owner_editor"), indicator=ind, fiscal_year=2024, value="57", evidence="集計表"
    )
    with pytest.raises(Conflict, match="変わりました"):
        _approve(cast, req, "head")
    req.refresh_from_db()
    assert req.current_step == 0
    assert not req.actions.exists()
    # a logic model edit after filing does not matter: the request pinned version 1
    item2 = _project(cast, "受診勧奨2")
    req2 = _file(cast, item2)
    doc = _doc_with_evidence()
    doc["nodes"][0]["statement"] = "電話で案内する"
    services.logic_model_save(actor=as_actor(cast, "owner_editor"), item=item2, document=doc)
    _approve(cast, req2)
    _, html = _public_html(item2)
    assert "健診の案内を個別に送る" in html
    assert "電話で案内する" not in html


def test_nothing_internal_leaks(cast: Actors) -> None:
    item = _published(cast)
    # the page: the logic model drawn, the figures, the evaluation, the date
    status, html = _public_html(item)
    assert status == 200
    assert "<svg" in html
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert "指標: 特定健診の受診率" in svg  # the indicator drawn in its box
    assert "特定健診の受診率が上がる" in html
    assert "55.5" in html
    assert "58" in html
    assert "受診率は目標に近づきました。" in html
    assert "改善" in html
    assert "<caption>" in html
    assert "最終更新" in html
    api = json.dumps(Client().get(f"/api/v1/ebpm/public/pages/{item.pk}").json(), ensure_ascii=False)
    for text in (html, api):
        for secret in (SECRET_REASON, SECRET_TARGET_NOTE, SECRET_EVIDENCE, SECRET_NEXT, SECRET_EVIDENCE_NOTE,
                       SECRET_DOC, SECRET_URL, "owner_editor", "課長補佐", "admin2", "63.75"):  # fmt: skip
            assert secret not in text, secret
    for user in cast.users.values():
        names = [user.get_full_name(), user.get_username() if "_" in user.get_username() else ""]
        assert not any(n and n in html for n in names), names


def test_staff_pages_request_decide_and_preview(cast: Actors) -> None:
    item = _project(cast, "受診勧奨")
    editor = Client()
    editor.force_login(cast.users["owner_editor"])
    page = editor.get(reverse("ebpm:page_new", args=[item.pk]))
    assert page.status_code == 200
    assert "公開される内容（下見）" in page.content.decode()
    evaluation = item.evaluations.get()
    response = editor.post(reverse("ebpm:page_new", args=[item.pk]), {"evaluation_ids": [evaluation.pk]})
    req = PageRequest.objects.get(item=item)
    assert response.status_code == 302
    assert req.evaluation_ids == [evaluation.pk]
    head = Client()
    head.force_login(cast.users["head"])
    detail = head.get(reverse("ebpm:page_request", args=[req.pk])).content.decode()
    assert "所管課長の決裁" in detail
    assert "課長" in detail
    assert 'name="decision"' in detail
    head.post(reverse("ebpm:page_request_act", args=[req.pk]), {"decision": "approve"})
    req.refresh_from_db()
    assert req.current_step == 1
    listing = head.get(reverse("ebpm:page_requests") + "?scope=awaiting").content.decode()
    assert f"#{req.pk}" not in listing  # no longer the 課長's turn
    detail = editor.get(reverse("ebpm:detail", args=[item.pk])).content.decode()
    assert "決裁中" in detail


def test_api_request_decide_withdraw(cast: Actors) -> None:
    item = _project(cast, "受診勧奨")

    def client(name: str) -> Client:
        return Client(HTTP_AUTHORIZATION=f"Bearer {make_token(cast.users[name])}")

    editor, head, admin = client("owner_editor"), client("head"), client("admin")
    created = editor.post(
        f"/api/v1/ebpm/items/{item.pk}/page-requests", {"reason": "説明"}, content_type="application/json"
    )
    assert created.status_code == 201, created.content
    rid = created.json()["id"]
    assert created.json()["steps"][0]["candidates"]
    assert (
        editor.post(
            f"/api/v1/ebpm/items/{item.pk}/page-requests", {}, content_type="application/json"
        ).status_code
        == 409
    )
    assert (
        editor.post(
            f"/api/v1/ebpm/page-requests/{rid}/act", {"decision": "approve"}, content_type="application/json"
        ).status_code
        == 403
    )
    for c in (head, admin):
        assert (
            c.post(
                f"/api/v1/ebpm/page-requests/{rid}/act",
                {"decision": "approve"},
                content_type="application/json",
            ).status_code
            == 200
        )
    assert Client().get(f"/api/v1/ebpm/public/pages/{item.pk}").status_code == 200
    assert Client().get(f"/api/v1/ebpm/page-requests/{rid}").status_code == 401
    wd = editor.post(
        f"/api/v1/ebpm/items/{item.pk}/page-withdrawals", {"reason": "終了"}, content_type="application/json"
    )
    assert wd.status_code == 201
    head.post(
        f"/api/v1/ebpm/page-requests/{wd.json()['id']}/act",
        {"decision": "approve"},
        content_type="application/json",
    )
    assert Client().get(f"/api/v1/ebpm/public/pages/{item.pk}").status_code == 404
    assert admin.get("/api/v1/ebpm/page-requests?scope=mine").json()["count"] == 0
    assert editor.get("/api/v1/ebpm/page-requests?scope=mine").json()["count"] == 2
    assert editor.get("/api/v1/ebpm/page-requests?scope=nope").status_code == 400


# ---- figures computed from catalog tables -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_restricted_tables_figures_are_withheld(cast: Actors, restricted_count: Any) -> None:
    item = restricted_count.logic_model.item
    assert restricted_count.actuals.exists()
    editor: Actor = as_actor(cast, "owner_editor")
    manual = services_indicators.indicator_create(
        actor=editor, item=item, node_id="n3", name="受診率", kind="outcome", responsible_unit_id=cast.org.health_div.pk
    )  # fmt: skip
    services_indicators.indicator_actual_record(
        actor=editor, indicator=manual, fiscal_year=2024, value="47.25", evidence="集計表"
    )
    _approve(cast, services_pages.page_request_create(actor=editor, item=item))
    snap = PublicPage.objects.get(item=item).snapshot
    counted = next(i for i in snap["indicators"] if i["name"] == "出動件数")
    assert counted["years"]
    assert all(y["actual"] is None and y["withheld"] and y["rate"] is None for y in counted["years"])
    assert counted["withheld_note"] == PUBLIC_WITHHELD
    assert counted["status"] == ""
    status, html = _public_html(item)
    assert status == 200
    assert PUBLIC_WITHHELD in html
    assert "掲載していません" in html
    assert "47.25" in html  # a hand-entered figure is shown
    assert 'data-vl-spec="indicator-spec-0"' not in html  # no chart of withheld figures


@pytest.mark.django_db(transaction=True)
def test_a_public_tables_figures_show_only_from_the_published_version(
    cast: Actors, modelled: PlanItem
) -> None:
    from machidata.core.testing import make_dataset
    from machidata.portal.tests.conftest import publish
    from machidata.publish.tests.conftest import ingest_text

    dataset = make_dataset(
        cast.org.health_div, title="健診の受診者", classification="internal", slug="kenshin"
    )
    v1 = ingest_text(cast, dataset, "visits", "年度,区\n2023,中央区\n2024,東区\n2024,西区\n")
    editor = as_actor(cast, "owner_editor")
    query = {
        "query": {"group_by": ["年度"], "measures": [{"op": "count"}]},
        "year_column": "年度",
        "value_column": "件数",
    }
    services_indicators.indicator_create(
        actor=editor, item=modelled, node_id="n2", name="受診者数", kind="activity",
        responsible_unit_id=cast.org.health_div.pk, source_kind="query", table_id=v1.table_id, query=query,
    )  # fmt: skip
    doc = json.loads(json.dumps(DOC))
    doc["links"][0]["evidence"] = [{"kind": "dataset", "ref": "kenshin"}]
    services.logic_model_save(actor=editor, item=modelled, document=doc)
    evidence: list[Any] = []

    def years() -> list[Any]:
        req = services_pages.page_request_create(actor=editor, item=modelled)
        snap = req.preview
        services_pages.page_request_cancel(actor=editor, request=req)
        evidence[:] = snap["logic_model"]["document"]["links"][0]["evidence"]
        return [(y["fiscal_year"], y["actual"], y["withheld"]) for y in snap["indicators"][0]["years"]]

    assert years() == [(2023, None, True), (2024, None, True)]  # 庁内: not public
    assert evidence == []  # nor is the dataset named as evidence
    publish(cast, dataset, [v1])
    assert years() == [(2023, "1", False), (2024, "2", False)]
    assert [e["ref"] for e in evidence] == ["kenshin"]
    ingest_text(cast, dataset, "visits", "年度,区\n2023,中央区\n2024,東区\n2024,西区\n2025,北区\n")
    assert years() == [(2023, None, True), (2024, None, True), (2025, None, True)]  # v2 is not published


def test_demo_publishes_one_page_once(cast: Actors) -> None:
    from machidata.access.models import Role
    from machidata.core.testing import make_user
    from machidata.ebpm.demo import EbpmDemoSummary, _public_page

    make_user("steward", unit=cast.org.health_div, role=Role.EDITOR)
    cast.users["admin"].username = "admin"
    cast.users["admin"].save(update_fields=["username"])
    item = _project(cast, "特定健診受診勧奨事業")
    item.code = "D-2-1-1"
    item.save(update_fields=["code"])
    summary = EbpmDemoSummary()
    _public_page(item, summary)
    assert summary.public_pages == 1
    assert summary.skipped == []
    _public_page(item, summary)
    assert PageRequest.objects.filter(item=item).count() == 1
    ApproverDesignation.objects.all().delete()
    other = _project(cast, "別の事業")
    _public_page(other, summary)  # no 課長: no example, nothing filed
    assert summary.skipped == []
    assert not PageRequest.objects.filter(item=other).exists()


def test_the_portal_navigation_links_to_the_citizen_pages() -> None:

    page = Client().get(reverse("portal:home")).content.decode()
    nav = page[page.index('<nav class="site-nav"') : page.index("</nav>")]
    assert f'<a href="{reverse("ebpm_public:list")}">事業の説明</a>' in nav
