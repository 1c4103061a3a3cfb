"""Public sharing of charts and dashboards (issue 7 point 5): the 公開申請 route, its gates, view-time
withdrawal, the published version only, cache isolation, the public pages and exports, the API."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from machidata.access.models import Classification
from machidata.access.policy import ANONYMOUS
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Table
from machidata.catalog.query_selectors import table_query
from machidata.catalog.tests.table_fixtures import make_table, write
from machidata.charts import public
from machidata.charts.models import PublicShare, ShareAction, ShareRequest, Sharing
from machidata.charts.selectors import chart_render, document_query
from machidata.charts.services import chart_update
from machidata.charts.services_public import (
    public_withdraw,
    share_request_act,
    share_request_cancel,
    share_request_create,
)
from machidata.charts.tests.public_fixtures import (
    V2_ROWS,
    approve_all,
    as_,
    make_board,
    make_public_chart_candidate,
    publish,
    unpublish,
)
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from machidata.core.testing import Actors, make_dataset

pytestmark = pytest.mark.django_db


def counts(rendered: Any) -> dict[str, int]:
    """Ward → count from a rendered bar chart's rows."""
    return {r["区"]: r["件数"] for r in rendered.data.rows}


# ---- the route ------------------------------------------------------------------------------------


def test_request_walks_head_then_strategy_and_publishes(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    req = share_request_create(actor=as_(cast, "owner_editor"), obj=chart, reason="市民向けに")
    assert [s["key"] for s in req.steps] == ["head", "strategy"]
    assert req.steps[0]["unit_id"] == cast.org.health_div.pk
    assert public.public_state(chart) == public.STATE_PENDING
    with pytest.raises(NotFound):  # not public before the last approval
        public.public_chart(chart.uuid)
    req = share_request_act(actor=as_(cast, "head"), request=req, decision="approve")
    assert req.status == "pending"
    assert req.current_step == 1
    req = share_request_act(actor=as_(cast, "admin"), request=req, decision="approve")
    assert req.status == "approved"
    share, shown = public.public_chart(chart.uuid)
    assert share.request_id == req.pk
    assert counts(shown.rendered) == dict.fromkeys(["中央区", "東区", "西区", "南区", "北区"], 5)
    assert public.public_state(chart) == public.STATE_PUBLIC
    verbs = list(
        AuditEvent.objects.filter(action__startswith="chart.public")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert verbs == [
        "chart.public_request",
        "chart.public_request.approve",
        "chart.public_request.approve",
        "chart.public_publish",
    ]


def test_deputy_decides_on_behalf_of_the_head(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    approve_all(cast, chart, by=("deputy", "admin"))
    first = ShareAction.objects.get(step_key="head")
    assert first.actor == cast.users["deputy"]
    assert first.on_behalf_of == cast.users["head"]


def test_route_rules(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    req = share_request_create(actor=as_(cast, "owner_editor"), obj=chart)
    with pytest.raises(PermissionDenied):  # the requester never decides
        share_request_act(actor=as_(cast, "owner_editor"), request=req, decision="approve")
    with pytest.raises(PermissionDenied):  # データ戦略課 is not the 課長's step
        share_request_act(actor=as_(cast, "admin"), request=req, decision="approve")
    with pytest.raises(Conflict):  # one pending request at a time
        share_request_create(actor=as_(cast, "owner_editor"), obj=chart)
    with pytest.raises(InvalidInput):  # a return needs a comment
        share_request_act(actor=as_(cast, "head"), request=req, decision="return")
    req = share_request_act(actor=as_(cast, "head"), request=req, decision="return", comment="説明を足して")
    assert req.status == "returned"
    assert not PublicShare.objects.exists()


def test_only_owner_editor_or_admin_files(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    for name in ("staff", "owner_viewer", "other_editor"):
        with pytest.raises(PermissionDenied):
            share_request_create(actor=as_(cast, name), obj=chart)
    assert not ShareRequest.objects.exists()


def test_cancel_by_requester(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    req = share_request_create(actor=as_(cast, "owner_editor"), obj=chart)
    with pytest.raises(PermissionDenied):
        share_request_cancel(actor=as_(cast, "staff"), request=req)
    assert share_request_cancel(actor=as_(cast, "owner_editor"), request=req).status == "cancelled"
    assert public.public_state(chart) == public.STATE_NONE


# ---- gates ----------------------------------------------------------------------------------------


def test_gate_refuses_a_table_without_a_published_version(cast: Actors, lake_home: Any) -> None:
    dataset = make_dataset(cast.org.health_div, classification=Classification.PUBLIC, slug="not-yet")
    table = make_table(dataset)
    write(table, V2_ROWS)
    chart = make_public_chart_candidate(cast, table)
    with pytest.raises(InvalidInput) as refused:
        share_request_create(actor=as_(cast, "owner_editor"), obj=chart)
    assert "公開中の版がありません" in refused.value.message
    assert not ShareRequest.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="chart.public").exists()


def test_gate_refuses_a_dataset_that_is_not_public(cast: Actors, lake_home: Any) -> None:
    dataset = make_dataset(cast.org.health_div, classification=Classification.INTERNAL, slug="internal")
    table = make_table(dataset)
    write(table, V2_ROWS)
    chart = make_public_chart_candidate(cast, table)
    with pytest.raises(InvalidInput) as refused:
        share_request_create(actor=as_(cast, "owner_editor"), obj=chart)
    assert "公開区分ではありません" in refused.value.message


def test_gate_refuses_a_pin_to_an_unpublished_version(cast: Actors, open_table: Table) -> None:
    write(open_table, V2_ROWS)  # version 2: internal head, not published
    chart = make_public_chart_candidate(cast, open_table)
    document = {**chart.document, "query": {**chart.document["query"], "table": {
        "dataset": open_table.dataset.slug, "name": open_table.name, "version": 2}}}  # fmt: skip
    chart = chart_update(actor=as_(cast, "owner_editor"), chart=chart, lock_version=chart.lock_version,
                         title=chart.title, document=document, sharing=Sharing.STAFF)  # fmt: skip
    with pytest.raises(InvalidInput) as refused:
        share_request_create(actor=as_(cast, "owner_editor"), obj=chart)
    assert "第2版に固定されていますが、その版は公開されていません" in refused.value.message


def test_gates_are_checked_again_at_each_approval(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    req = share_request_create(actor=as_(cast, "owner_editor"), obj=chart)
    req = share_request_act(actor=as_(cast, "head"), request=req, decision="approve")
    unpublish(open_table)
    with pytest.raises(InvalidInput) as refused:
        share_request_act(actor=as_(cast, "admin"), request=req, decision="approve")
    assert "公開中の版がありません" in refused.value.message
    assert not PublicShare.objects.exists()


def test_an_edit_after_filing_stops_the_approval(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    req = share_request_create(actor=as_(cast, "owner_editor"), obj=chart)
    chart_update(actor=as_(cast, "owner_editor"), chart=chart, lock_version=chart.lock_version,
                 title="別の題名", document=chart.document, sharing=Sharing.STAFF)  # fmt: skip
    with pytest.raises(Conflict):
        share_request_act(actor=as_(cast, "head"), request=req, decision="approve")


def test_a_later_edit_does_not_reach_the_public_page(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    approve_all(cast, chart)
    chart_update(actor=as_(cast, "owner_editor"), chart=chart, lock_version=chart.lock_version,
                 title="こっそり変えた題名", document=chart.document, sharing=Sharing.STAFF)  # fmt: skip
    _, shown = public.public_chart(chart.uuid)
    assert shown.title == "区別の件数"


# ---- view time: the published version only, withdrawal without a request ---------------------------


def test_public_chart_follows_the_published_version_only(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    approve_all(cast, chart)
    v2 = write(open_table, V2_ROWS)  # a newer internal head: staff see it, the public does not
    staff = chart_render(actor=as_(cast, "owner_editor"), chart=chart)
    assert set(counts(staff).values()) == {10}
    _, shown = public.public_chart(chart.uuid)
    assert shown.version.number == 1
    assert set(counts(shown.rendered).values()) == {5}
    publish(open_table, v2, cast.users["owner_editor"])  # the newer version is published: shown by itself
    _, shown = public.public_chart(chart.uuid)
    assert shown.version.number == 2
    assert set(counts(shown.rendered).values()) == {10}


def test_withdrawn_table_makes_the_public_chart_404_and_leaves_the_list(
    cast: Actors, open_table: Table
) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    approve_all(cast, chart)
    client = Client()
    assert client.get(f"/open/charts/{chart.uuid}/").status_code == 200
    assert str(chart.uuid) in client.get("/open/charts/").content.decode()
    unpublish(open_table)
    assert client.get(f"/open/charts/{chart.uuid}/").status_code == 404
    assert client.get(f"/open/charts/{chart.uuid}/export/csv/").status_code == 404
    listing = client.get("/open/charts/").content.decode()
    assert str(chart.uuid) not in listing
    assert "まだ公開されているグラフはありません" in listing
    assert public.public_state(chart) == public.STATE_STOPPED
    assert PublicShare.objects.get().withdrawn_at is None  # nothing was filed: it comes back with the table


def test_withdrawal_through_the_publication_route(cast: Actors, open_table: Table, settings: Any) -> None:
    """The publish room's own 非公開化 (filed and decided by its services) takes the chart down."""
    from machidata.publish.services import publication_act, publication_withdraw_request

    chart = make_public_chart_candidate(cast, open_table)
    approve_all(cast, chart)
    req = publication_withdraw_request(
        actor=as_(cast, "owner_editor"), dataset=open_table.dataset, note="誤り"
    )
    publication_act(actor=as_(cast, "head"), request=req, decision="approve")
    assert Client().get(f"/open/charts/{chart.uuid}/").status_code == 404


def test_owner_or_admin_stops_publishing_at_once(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    approve_all(cast, chart)
    for name in ("staff", "owner_viewer", "head"):
        with pytest.raises(PermissionDenied):
            public_withdraw(actor=as_(cast, name), obj=chart)
    public_withdraw(actor=as_(cast, "owner_editor"), obj=chart, reason="古くなった")
    assert Client().get(f"/open/charts/{chart.uuid}/").status_code == 404
    event = AuditEvent.objects.get(action="chart.public_withdraw")
    assert event.changes["reason"] == "古くなった"
    assert public.public_state(chart) == public.STATE_NONE
    with pytest.raises(InvalidInput):
        public_withdraw(actor=as_(cast, "admin"), obj=chart)


# ---- cache isolation ------------------------------------------------------------------------------


def test_cache_is_keyed_by_the_anonymous_context_and_the_public_version(
    cast: Actors, open_table: Table, settings: Any
) -> None:
    settings.MACHIDATA_QUERY_CACHE_SECONDS = 600
    cache.clear()
    chart = make_public_chart_candidate(cast, open_table)
    approve_all(cast, chart)
    cache.clear()  # saving and the gates drew the chart already (as its owner, and as the public)
    query = document_query(chart.document)
    staff = table_query(actor=as_(cast, "owner_editor"), table=open_table, query=query, version=1)
    assert staff.cached is False
    assert table_query(actor=as_(cast, "owner_editor"), table=open_table, query=query, version=1).cached
    # the same query on the same version: the public's answer is its own, never the staff member's entry
    first = table_query(actor=ANONYMOUS, table=open_table, query=query, version=1)
    assert first.cached is False
    assert table_query(actor=ANONYMOUS, table=open_table, query=query, version=1).cached


def test_staff_cached_rows_never_reach_the_public_page_and_back(
    cast: Actors, open_table: Table, settings: Any
) -> None:
    settings.MACHIDATA_QUERY_CACHE_SECONDS = 600
    cache.clear()
    chart = make_public_chart_candidate(cast, open_table)
    approve_all(cast, chart)
    write(open_table, V2_ROWS)  # staff read the internal head (10 a ward), the public version 1 (5 a ward)
    staff_client = cast.client("owner_editor")
    assert "<td>10</td>" in staff_client.get(f"/charts/{chart.uuid}/").content.decode()
    page = Client().get(f"/open/charts/{chart.uuid}/").content.decode()
    assert "<td>5</td>" in page
    assert "<td>10</td>" not in page
    cache.clear()  # and the other way round: the public first, then staff
    page = Client().get(f"/open/charts/{chart.uuid}/").content.decode()
    assert "<td>5</td>" in page
    staff_page = staff_client.get(f"/charts/{chart.uuid}/").content.decode()
    assert "<td>10</td>" in staff_page
    assert "<td>5</td>" not in staff_page


# ---- dashboards -----------------------------------------------------------------------------------


def test_public_dashboard_and_its_gates(cast: Actors, open_table: Table, lake_home: Any) -> None:
    one = make_public_chart_candidate(cast, open_table)
    two = make_public_chart_candidate(cast, open_table, type="pie")
    board = make_board(cast, [one, two])
    approve_all(cast, board)
    response = Client().get(f"/open/dashboards/{board.uuid}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "区のようす" in body
    assert "説明の文章" in body
    assert body.count('data-vl-spec="spec-') == 2
    assert "CC BY 4.0" in body
    assert "熊本市健康づくり推進課" in body
    assert str(board.uuid) in Client().get("/open/charts/").content.decode()
    unpublish(open_table)
    assert Client().get(f"/open/dashboards/{board.uuid}/").status_code == 404


def test_dashboard_gate_names_the_chart_whose_table_is_not_published(cast: Actors, open_table: Table) -> None:
    dataset = make_dataset(cast.org.health_div, classification=Classification.PUBLIC, slug="other")
    other = make_table(dataset)
    write(other, V2_ROWS)
    hidden = make_public_chart_candidate(cast, other)
    board = make_board(cast, [make_public_chart_candidate(cast, open_table), hidden])
    with pytest.raises(InvalidInput) as refused:
        share_request_create(actor=as_(cast, "owner_editor"), obj=board)
    assert refused.value.details["gates"] == [
        f"グラフ「区別の件数」の元の表「{dataset.title}／{other.title}」には公開中の版がありません。"
        "先にデータセットの公開申請をして、決裁を受けてください。"
    ]


def test_empty_dashboard_is_refused(cast: Actors, open_table: Table) -> None:
    board = make_board(cast, [])
    with pytest.raises(InvalidInput, match="グラフを1つ以上"):
        share_request_create(actor=as_(cast, "owner_editor"), obj=board)


# ---- public pages and exports ---------------------------------------------------------------------


def test_public_chart_page_attribution_and_exports(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    approve_all(cast, chart)
    client = Client()
    body = client.get(f"/open/charts/{chart.uuid}/").content.decode()
    for text in ("区別の件数", "熊本市 住民基本台帳", "CC BY 4.0", "熊本市健康づくり推進課", "公開中の第1版",
                 "データを表で見る", "/static/vendor/vega/"):  # fmt: skip
        assert text in body
    png = client.get(f"/open/charts/{chart.uuid}/export/png/")
    assert png.status_code == 200
    assert png.content.startswith(b"\x89PNG")
    svg = client.get(f"/open/charts/{chart.uuid}/export/svg/")
    assert svg.status_code == 200
    assert b"<svg" in svg.content
    data = client.get(f"/open/charts/{chart.uuid}/export/csv/")
    rows = list(csv.reader(io.StringIO(data.content.decode("utf-8-sig"))))
    assert ["中央区", "5"] in rows
    assert client.get(f"/open/charts/{chart.uuid}/export/xlsx/").status_code == 404  # PNG/SVG/CSV only
    assert AuditEvent.objects.filter(action="chart.public.export").count() == 3


def test_private_or_unpublished_things_are_404_for_everyone(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table, sharing=Sharing.PRIVATE)
    share_request_create(actor=as_(cast, "owner_editor"), obj=chart)  # pending only
    for name in ("anonymous", "owner_editor", "admin"):
        client = cast.client(name)
        assert client.get(f"/open/charts/{chart.uuid}/").status_code == 404
        assert client.get("/open/dashboards/00000000-0000-0000-0000-000000000000/").status_code == 404


# ---- staff pages and the API ----------------------------------------------------------------------


def test_chart_page_shows_the_state_and_the_inbox_shows_the_request(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    owner = cast.client("owner_editor")
    page = owner.get(f"/charts/{chart.uuid}/").content.decode()
    assert "状態: <strong>非公開</strong>" in page
    assert "公開申請する" in page
    response = owner.post(f"/charts/{chart.uuid}/public-request/", {"reason": "広報に使う"})
    req = ShareRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/charts/public-requests/{req.pk}/"
    assert "状態: <strong>公開申請中</strong>" in owner.get(f"/charts/{chart.uuid}/").content.decode()
    head = cast.client("head")
    assert f"/charts/public-requests/{req.pk}/" in head.get("/publication/?scope=awaiting").content.decode()
    assert (
        f"/charts/public-requests/{req.pk}/"
        not in cast.client("admin").get("/publication/?scope=awaiting").content.decode()
    )  # not データ戦略課's turn yet
    assert head.post(f"/charts/public-requests/{req.pk}/act/", {"decision": "approve"}).status_code == 302
    admin = cast.client("admin")
    assert f"/charts/public-requests/{req.pk}/" in admin.get("/publication/?scope=awaiting").content.decode()
    admin.post(f"/charts/public-requests/{req.pk}/act/", {"decision": "approve"})
    assert "状態: <strong>公開中</strong>" in owner.get(f"/charts/{chart.uuid}/").content.decode()
    assert cast.client("staff").get(f"/charts/public-requests/{req.pk}/").status_code == 404


def test_failed_gate_is_said_on_the_chart_page(cast: Actors, lake_home: Any) -> None:
    dataset = make_dataset(cast.org.health_div, classification=Classification.PUBLIC, slug="no-pub")
    table = make_table(dataset)
    write(table, V2_ROWS)
    chart = make_public_chart_candidate(cast, table)
    owner = cast.client("owner_editor")
    response = owner.post(f"/charts/{chart.uuid}/public-request/", follow=True)
    assert "公開中の版がありません" in response.content.decode()
    assert not ShareRequest.objects.exists()


def test_api_exposes_the_state_and_files_and_withdraws(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    board = make_board(cast, [chart])
    owner = cast.client("owner_editor")
    listed = owner.get("/api/v1/charts/").json()["items"]
    assert listed[0]["public"] == "非公開"
    assert listed[0]["public_url"] is None
    made = owner.post(
        f"/api/v1/charts/{chart.uuid}/public-requests", {"reason": ""}, content_type="application/json"
    )
    assert made.status_code == 201
    assert made.json()["status"] == "pending"
    assert owner.get(f"/api/v1/charts/{chart.uuid}").json()["public"] == "公開申請中"
    req = ShareRequest.objects.get()
    share_request_act(actor=as_(cast, "head"), request=req, decision="approve")
    share_request_act(actor=as_(cast, "admin"), request=req, decision="approve")
    got = owner.get(f"/api/v1/charts/{chart.uuid}").json()
    assert got["public"] == "公開中"
    assert got["public_url"] == f"/open/charts/{chart.uuid}/"
    refused = cast.client("staff").post(
        f"/api/v1/charts/{chart.uuid}/public-withdrawal", {}, content_type="application/json"
    )
    assert refused.status_code == 403
    gone = owner.post(f"/api/v1/charts/{chart.uuid}/public-withdrawal", {}, content_type="application/json")
    assert gone.status_code == 200
    assert gone.json() == {"public": "非公開"}
    filed = owner.post(
        f"/api/v1/dashboards/{board.uuid}/public-requests", {}, content_type="application/json"
    )
    assert filed.status_code == 201
    assert owner.get(f"/api/v1/dashboards/{board.uuid}").json()["public"] == "公開申請中"
